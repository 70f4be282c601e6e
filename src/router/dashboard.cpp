#include "router/dashboard.h"

namespace dpserve::router {

// The page holds no data itself: it reads /workers, /policy/stats and /metrics with the API key
// the user types in (kept in the browser's localStorage), so serving it needs no key.
std::string_view dashboard_html() {
  return R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dpserve router</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}.bad{color:#b00}.ok{color:#070}
#tiles{display:flex;gap:16px;flex-wrap:wrap}.tile{border:1px solid #ccc;border-radius:6px;padding:8px 14px}
.tile b{display:block;font-size:22px}.bar{background:#4a7;height:10px;display:inline-block}
#err{color:#b00}
</style></head><body>
<h1>dpserve router</h1>
<div>refreshes every 2 s &middot; API key <input id="key" type="password" size="24">
<span id="err"></span></div>
<h2>Traffic</h2><div id="tiles"></div>
<h2>Workers</h2><table id="workers"></table>
<h2>Policy</h2><div id="policy"></div>
<script>
const keyBox = document.getElementById('key');
keyBox.value = localStorage.getItem('dpserve-key') || '';
keyBox.onchange = () => localStorage.setItem('dpserve-key', keyBox.value);
let last = null;
async function get(path, text) {
  const headers = keyBox.value ? {Authorization: 'Bearer ' + keyBox.value} : {};
  const r = await fetch(path, {headers});
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return text ? r.text() : r.json();
}
function samples(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-z_]+)(\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({labels, value: parseFloat(m[4])});
  }
  return out;
}
const sum = (list) => list.reduce((a, s) => a + s.value, 0);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
async function refresh() {
  try {
    const [workers, policy, metrics] =
        await Promise.all([get('/workers'), get('/policy/stats'), get('/metrics', true)]);
    document.getElementById('err').textContent = '';
    const now = Date.now();
    const requests = sum(samples(metrics, 'smg_router_requests_total'));
    const errors = sum(samples(metrics, 'smg_router_request_errors_total'));
    const selections = {};
    for (const s of samples(metrics, 'smg_worker_selection_total')) selections[s.labels.worker] = s.value;
    let rate = '–';
    if (last) rate = ((requests - last.requests) * 1000 / (now - last.time)).toFixed(1);
    const tiles = [['requests/s', rate], ['requests', requests], ['errors', errors],
                   ['connections', sum(samples(metrics, 'smg_http_connections_active'))],
                   ['policy', policy.policy]];
    if (policy.estimated_hit_rate !== undefined)
      tiles.push(['est. cache hit rate', (100 * policy.estimated_hit_rate).toFixed(1) + '%']);
    document.getElementById('tiles').innerHTML = tiles.map(
        ([k, v]) => `<div class="tile">${esc(k)}<b>${esc(v)}</b></div>`).join('');
    const units = {};
    for (const t of policy.trees || []) for (const w of t.workers) units[w.id] = (units[w.id] || 0) + w.units;
    const total = Object.values(selections).reduce((a, b) => a + b, 0) || 1;
    let rows = '<tr><th>worker</th><th>model</th><th>health</th><th>in flight</th>' +
               '<th>prompt units in flight</th><th>share</th><th>tree chars</th></tr>';
    for (const w of workers.workers) {
      const share = (selections[w.url] || 0) / total;
      const health = w.draining ? 'draining' : (w.is_healthy ? 'healthy' : 'unhealthy');
      rows += `<tr><td>${esc(w.url)}</td><td>${esc(w.model_id)}</td>` +
              `<td class="${w.is_healthy ? 'ok' : 'bad'}">${health}</td><td>${w.load}</td>` +
              `<td>${w.in_flight_tokens}</td><td><span class="bar" style="width:${
                  Math.round(share * 120)}px"></span> ${(100 * share).toFixed(1)}%</td>` +
              `<td>${units[w.id] ?? units[w.url] ?? '–'}</td></tr>`;
    }
    document.getElementById('workers').innerHTML = rows;
    const d = policy.decisions;
    document.getElementById('policy').textContent = d
        ? `decisions: cache hit ${d.cache_hit}, cache miss ${d.cache_miss}, imbalanced ${d.imbalanced}`
        : JSON.stringify(policy);
    last = {time: now, requests};
  } catch (e) {
    document.getElementById('err').textContent = String(e.message || e);
  }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
)html";
}

}  // namespace dpserve::router
