#!/usr/bin/python3
"""Turns routing_quality.sh's JSON lines into a markdown table and a bar chart (hand-written SVG)."""
import json
import sys


def main(results_path, svg_path):
    runs = [json.loads(line) for line in open(results_path) if line.strip()]
    if not runs:
        sys.exit("no runs in " + results_path)
    base = next((r for r in runs if r["label"] == "native_dp_round_robin"), runs[-1])
    print("| arm | total tok/s | vs native DP | server cache hit | oracle | TTFT p50 / p99 (ms) |"
          " E2E p50 / p99 (ms) | ok / failed / rejected | requests per worker |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        hit = r["server_cache_hit_rate"]
        shares = " / ".join(f'{w["share"] * 100:.0f}%' for w in r["worker_share"]) or "n/a"
        print(f'| {r["label"]} | {r["total_throughput"]:.0f} | '
              f'{r["total_throughput"] / base["total_throughput"]:.2f}x | '
              f'{"n/a" if hit is None else f"{hit * 100:.1f}%"} | '
              f'{r["oracle_cache_hit_rate"] * 100:.1f}% | '
              f'{r["ttft"]["median_ms"]:.0f} / {r["ttft"]["p99_ms"]:.0f} | '
              f'{r["e2e_latency"]["median_ms"]:.0f} / {r["e2e_latency"]["p99_ms"]:.0f} | '
              f'{r["completed"]} / {r["failed"]} / {r["rejected"]} | {shares} |')
    width, height, left, top, bar_w, gap = 760, 320, 60, 40, 50, 90
    peak_tp = max(r["total_throughput"] for r in runs) or 1
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14">Routing quality at CPU scale: total tok/s '
           '(blue) and server cache hit rate (orange, oracle dashed)</text>']
    plot_h = height - top - 60
    base_y = top + plot_h
    svg.append(f'<line x1="{left}" y1="{base_y}" x2="{width - 20}" y2="{base_y}" stroke="#444"/>')
    for i, r in enumerate(runs):
        x = left + 20 + i * (2 * bar_w + gap) // 2 * 1 + i * 40
        tp_h = plot_h * r["total_throughput"] / peak_tp
        hit = r["server_cache_hit_rate"] or 0
        svg.append(f'<rect x="{x}" y="{base_y - tp_h:.1f}" width="{bar_w // 2}" height="{tp_h:.1f}" '
                   'fill="#1f77b4"/>')
        svg.append(f'<text x="{x}" y="{base_y - tp_h - 4:.1f}">{r["total_throughput"]:.0f}</text>')
        svg.append(f'<rect x="{x + bar_w // 2 + 2}" y="{base_y - plot_h * hit:.1f}" '
                   f'width="{bar_w // 2}" height="{plot_h * hit:.1f}" fill="#ff7f0e"/>')
        svg.append(f'<text x="{x + bar_w // 2 + 2}" y="{base_y - plot_h * hit - 4:.1f}">'
                   f'{hit * 100:.0f}%</text>')
        oracle_y = base_y - plot_h * r["oracle_cache_hit_rate"]
        svg.append(f'<line x1="{x - 4}" y1="{oracle_y:.1f}" x2="{x + bar_w + 6}" y2="{oracle_y:.1f}" '
                   'stroke="#d62728" stroke-dasharray="4 3"/>')
        svg.append(f'<text x="{x - 4}" y="{base_y + 16}">{r["label"].replace("native_dp_round_robin", "native DP")}'
                   '</text>')
    svg.append('</svg>')
    with open(svg_path, "w") as out:
        out.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
