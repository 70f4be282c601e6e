#!/usr/bin/env bash
# Router overhead against nginx (docs/design "Router 1"): the same wrk load, one arm after another
# in one run, against
#   direct       wrk -> upstream nginx
#   nginx        wrk -> nginx reverse proxy (upstream keepalive) -> 2 upstreams
#   round_robin  wrk -> dpserve router --policy round_robin -> 2 upstreams
#   cache_aware  wrk -> dpserve router --policy cache_aware -> 2 upstreams
#   baseline     wrk -> another dpserve build (--baseline PATH), --policy round_robin
# All proxies run for the whole script and the arms take turns on each cell, --repeat times, so a
# neighbour's load on a shared machine hits every arm alike; the table shows the median run.
# Upstreams are nginx answering /generate and /v1/chat/completions with a fixed JSON body, so the
# numbers are the proxy's cost alone. Prints a Markdown table (req/s, p50/p99, proxy CPU seconds
# per 1,000 requests, peak RSS, dpserve/nginx ratios and the floors) and writes one JSON line per
# cell to --out.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

dpserve="$repo/build/dpserve"
baseline=""
arms_given=0
duration=10
sizes="200 2048 16384 131072"
conns="1 64"
arms="direct nginx round_robin cache_aware"
threads=1
repeat=3
out=""

usage() {
  cat <<EOF
Usage: $0 [options]
  --dpserve PATH     dpserve binary (default: build/dpserve)
  --duration SECS    wrk duration per cell (default: $duration)
  --sizes "B ..."    prompt sizes in bytes (default: "$sizes")
  --conns "N ..."    wrk connections (default: "$conns")
  --arms "A ..."     subset of: direct nginx round_robin cache_aware baseline
                     (default: all but baseline; baseline needs --baseline)
  --baseline PATH    an older dpserve binary for the baseline arm (adds the arm when --arms
                     is not given)
  --threads N        proxy threads: nginx worker_processes and dpserve --threads (default: 1)
  --repeat N         rounds over the arms per cell; the table reports the median (default: 3)
  --out FILE         also write the JSON lines here
  --quick            2 s per cell, sizes "200 2048" (a smoke run)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --dpserve) dpserve="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --arms) arms="$2"; arms_given=1; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --quick) duration=2; sizes="200 2048"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

[[ -n "$baseline" && $arms_given == 0 ]] && arms="$arms baseline"
for arm in $arms; do
  case "$arm" in
    direct|nginx|round_robin|cache_aware) ;;
    baseline) [[ -x "$baseline" ]] || { echo "error: arm 'baseline' needs --baseline PATH (an executable)" >&2; exit 2; } ;;
    *) echo "error: unknown arm '$arm' (direct nginx round_robin cache_aware baseline)" >&2; exit 2 ;;
  esac
done
[[ "$duration" =~ ^[0-9]+$ && "$duration" -gt 0 ]] || { echo "error: --duration must be a positive integer" >&2; exit 2; }
[[ "$threads" =~ ^[0-9]+$ && "$threads" -gt 0 ]] || { echo "error: --threads must be a positive integer" >&2; exit 2; }
[[ "$repeat" =~ ^[0-9]+$ && "$repeat" -gt 0 ]] || { echo "error: --repeat must be a positive integer" >&2; exit 2; }
for tool in nginx wrk curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' not found (scripts/install-deps.sh)" >&2; exit 2; }
done
if [[ " $arms " == *" round_robin "* || " $arms " == *" cache_aware "* ]]; then
  [[ -x "$dpserve" ]] || { echo "error: dpserve binary '$dpserve' not found (make build or --dpserve)" >&2; exit 2; }
fi

work="$(mktemp -d /tmp/dpserve-router-bench.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls URL until it answers 200 or 10 s pass.
wait_ready() {
  local url="$1"
  for _ in $(seq 1 200); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" == 200 ]]; then return 0; fi
    sleep 0.05
  done
  echo "error: $url did not become ready" >&2
  return 1
}

nginx_common() {
  local dir="$1" workers="$2"
  mkdir -p "$dir"
  [[ $EUID -eq 0 ]] && echo "user root;"
  cat <<EOF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
EOF
}

nginx_temp_paths() {
  local dir="$1"
  cat <<EOF
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  access_log off;
  keepalive_requests 1000000;
  client_max_body_size 4m;
  client_body_buffer_size 256k;
EOF
}

# Upstreams: one nginx process serving two ports (one worker process, so upstreams do not take
# more than one core away from the proxy under test).
up1="$(free_port)"; up2="$(free_port)"
{
  nginx_common "$work/up" 1
  echo "http {"
  nginx_temp_paths "$work/up"
  for port in "$up1" "$up2"; do
    cat <<EOF
  server {
    listen 127.0.0.1:$port;
    default_type application/json;
    location = /generate { return 200 '{"text":"ok","meta_info":{"prompt_tokens":1,"completion_tokens":1,"finish_reason":{"type":"length","length":1}}}'; }
    location = /v1/chat/completions { return 200 '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'; }
    location = /health { return 200 'OK'; }
    location = /get_server_info { return 200 '{"dp_size":1,"served_model_name":"bench","model_path":"bench"}'; }
    location = /get_model_info { return 200 '{"model_path":"bench","is_generation":true}'; }
    location / { return 404 '{"error":"not found"}'; }
  }
EOF
  done
  echo "}"
} >"$work/up.conf"
nginx -e "$work/up/error.log" -c "$work/up.conf" -g 'daemon off;' 2>>"$work/up-stderr.log" &
pids+=($!)
wait_ready "http://127.0.0.1:$up1/health"
wait_ready "http://127.0.0.1:$up2/health"

# Starts the proxy for ARM; sets proxy_pid (the process whose CPU and RSS are measured; for nginx
# its worker processes are summed) and target.
proxy_pid=""
target=""
declare -A arm_pid arm_target
start_arm() {
  local arm="$1" port
  case "$arm" in
    direct)
      proxy_pid=""
      target="http://127.0.0.1:$up1"
      ;;
    nginx)
      port="$(free_port)"
      {
        nginx_common "$work/px" "$threads"
        echo "http {"
        nginx_temp_paths "$work/px"
        cat <<EOF
  upstream workers {
    server 127.0.0.1:$up1;
    server 127.0.0.1:$up2;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://workers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
      } >"$work/px.conf"
      nginx -e "$work/px/error.log" -c "$work/px.conf" -g 'daemon off;' 2>>"$work/px-stderr.log" &
      proxy_pid=$!
      pids+=("$proxy_pid")
      target="http://127.0.0.1:$port"
      wait_ready "$target/generate"
      ;;
    round_robin|cache_aware|baseline)
      port="$(free_port)"
      local binary="$dpserve" policy="$arm"
      [[ $arm == baseline ]] && binary="$baseline" policy=round_robin
      "$binary" router --host 127.0.0.1 --port "$port" --policy "$policy" --threads "$threads" \
        --log-level warn --worker-urls "http://127.0.0.1:$up1" "http://127.0.0.1:$up2" \
        >"$work/router-$arm.log" 2>&1 &
      proxy_pid=$!
      pids+=("$proxy_pid")
      target="http://127.0.0.1:$port"
      wait_ready "$target/readiness"
      ;;
  esac
}

# The measured processes: dpserve itself, or nginx's worker processes (the master only accepts
# signals).
measured_pids() {
  [[ -n "$proxy_pid" ]] || return 0
  local kids
  kids="$(cat /proc/"$proxy_pid"/task/*/children 2>/dev/null || true)"
  if [[ -n "$kids" ]]; then echo "$kids"; else echo "$proxy_pid"; fi
}

# Sum of utime+stime in clock ticks over the measured processes.
cpu_ticks() {
  local total=0 pid
  for pid in $(measured_pids); do
    # Fields after the ')' of the command name: utime and stime are the 12th and 13th.
    read -r -a f < <(sed 's/^.*) //' /proc/"$pid"/stat)
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# Sum of VmHWM (peak RSS, KiB) over the measured processes.
peak_rss_kib() {
  local total=0 pid kib
  for pid in $(measured_pids); do
    kib="$(awk '/^VmHWM:/ {print $2}' /proc/"$pid"/status)"
    total=$((total + kib))
  done
  echo "$total"
}

ticks_per_s="$(getconf CLK_TCK)"
# DPSERVE_BENCH_COMMIT names the commit where the tree was copied without .git (another machine).
commit="${DPSERVE_BENCH_COMMIT:-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
results="$work/results.jsonl"
: >"$results"

echo "# router overhead: commit $commit, $(nproc) cores ($cpu_model), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)" >&2
for arm in $arms; do
  start_arm "$arm"
  arm_pid[$arm]="$proxy_pid"
  arm_target[$arm]="$target"
  # Warm-up: connection pools and the first allocation of buffers.
  wrk -t1 -c8 -d1s -s "$here/post.lua" "$target" -- 2048 >/dev/null
done
for size in $sizes; do
  for c in $conns; do
    for round in $(seq 1 "$repeat"); do
      for arm in $arms; do
        proxy_pid="${arm_pid[$arm]}"
        target="${arm_target[$arm]}"
        t0="$(cpu_ticks)"
        line="$(wrk -t1 -c"$c" -d"${duration}s" --timeout 10s -s "$here/post.lua" "$target" -- "$size" |
          sed -n 's/^RESULT //p')"
        t1="$(cpu_ticks)"
        rss="$(peak_rss_kib)"
        echo "$line" | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
arm, size, conns, rnd, ticks, hz, rss, commit = sys.argv[1:9]
r.update(arm=arm, prompt_bytes=int(size), conns=int(conns), round=int(rnd), commit=commit)
r["proxy_cpu_s"] = int(ticks) / int(hz) if arm != "direct" else None
r["cpu_s_per_1k"] = (r["proxy_cpu_s"] / r["requests"] * 1000
                     if r["proxy_cpu_s"] is not None and r["requests"] else None)
r["peak_rss_mib"] = int(rss) / 1024 if arm != "direct" else None
print(json.dumps(r))' "$arm" "$size" "$c" "$round" "$((t1 - t0))" "$ticks_per_s" "$rss" "$commit" \
          >>"$results"
        tail -n1 "$results" >&2
      done
    done
  done
done

[[ -n "$out" ]] && cp "$results" "$out"
/usr/bin/python3 "$here/router_overhead_table.py" "$results"
