#!/usr/bin/python3
"""Turns routing_quality.sh's JSON lines into a markdown table and a bar chart (hand-written SVG).

usage: routing_quality_table.py RUNS.jsonl OUT.svg [LOAD.tsv]
"""
import json
import sys


def load_table(path):
    if not path:
        return {}
    rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
    return {r[0]: r for r in rows[1:]}


def name(label):
    return label.replace("native_dp_round_robin", "native DP (engine --dp-size)")


def main(results_path, svg_path, load_path=None):
    runs = [json.loads(line) for line in open(results_path) if line.strip()]
    if not runs:
        sys.exit("no runs in " + results_path)
    loads = load_table(load_path)
    base = next((r for r in runs if r["label"] == "round_robin"), runs[0])
    print("| arm | ok / failed | total tok/s | vs round_robin | req/s | server cache hit | oracle |"
          " hit / oracle | TTFT mean / p99 (s) | requests per worker | load 1-min before / after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        hit = r["server_cache_hit_rate"]
        oracle = r["oracle_cache_hit_rate"]
        shares = " / ".join(f'{w["share"] * 100:.0f}%' for w in r["worker_share"]) or "n/a"
        load = loads.get(r["label"])
        print(f'| {name(r["label"])} | {r["completed"]} / {r["failed"] + r["rejected"]} | '
              f'{r["total_throughput"]:,.0f} | '
              f'{r["total_throughput"] / base["total_throughput"]:.2f}x | '
              f'{r["request_throughput"]:.2f} | '
              f'{"n/a" if hit is None else f"{hit * 100:.1f}%"} | {oracle * 100:.1f}% | '
              f'{"n/a" if hit is None or not oracle else f"{hit / oracle * 100:.0f}%"} | '
              f'{r["ttft"]["mean_ms"] / 1000:.1f} / {r["ttft"]["p99_ms"] / 1000:.1f} | {shares} | '
              f'{load[1] + " / " + load[2] if load else "n/a"} |')

    width, height, left, top = 820, 340, 60, 40
    group_w = (width - left - 20) // len(runs)
    bar_w = min(40, group_w // 3)
    peak_tp = max(r["total_throughput"] for r in runs) or 1
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14">Routing quality at CPU scale: total tok/s '
           '(blue), server cache hit rate (orange), oracle (red dashes)</text>']
    plot_h = height - top - 60
    base_y = top + plot_h
    svg.append(f'<line x1="{left}" y1="{base_y}" x2="{width - 20}" y2="{base_y}" stroke="#444"/>')
    for i, r in enumerate(runs):
        x = left + i * group_w + (group_w - 2 * bar_w) // 2
        tp_h = plot_h * r["total_throughput"] / peak_tp
        hit = r["server_cache_hit_rate"] or 0
        svg.append(f'<rect x="{x}" y="{base_y - tp_h:.1f}" width="{bar_w}" height="{tp_h:.1f}" '
                   'fill="#1f77b4"/>')
        svg.append(f'<text x="{x}" y="{base_y - tp_h - 4:.1f}">{r["total_throughput"]:,.0f}</text>')
        svg.append(f'<rect x="{x + bar_w + 2}" y="{base_y - plot_h * hit:.1f}" width="{bar_w}" '
                   f'height="{plot_h * hit:.1f}" fill="#ff7f0e"/>')
        svg.append(f'<text x="{x + bar_w + 2}" y="{base_y - plot_h * hit - 4:.1f}">'
                   f'{hit * 100:.0f}%</text>')
        oracle_y = base_y - plot_h * r["oracle_cache_hit_rate"]
        svg.append(f'<line x1="{x + bar_w}" y1="{oracle_y:.1f}" x2="{x + 2 * bar_w + 6}" '
                   f'y2="{oracle_y:.1f}" stroke="#d62728" stroke-dasharray="4 3"/>')
        label = r["label"].replace("native_dp_round_robin", "native DP")
        svg.append(f'<text x="{x}" y="{base_y + 16}">{label}</text>')
    svg.append('</svg>')
    with open(svg_path, "w") as out:
        out.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
