#!/usr/bin/python3
"""Markdown tables for router_overhead.sh: per-arm figures, dpserve/nginx ratios and the floors.

Each cell is the median over the script's rounds (errors are summed over them).

Usage: router_overhead_table.py RESULTS.jsonl
Exit status 0 even when a floor is missed: this is a benchmark report, not a test.
"""
import json
import statistics
import sys

ARMS = ["direct", "nginx", "round_robin", "cache_aware", "baseline"]


def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def ratio(a, b):
    return a / b if a is not None and b else None


def median_row(runs):
    """One row per (arm, prompt, conns): the median of each figure over the rounds."""
    row = dict(runs[0])
    for field in ("req_per_s", "p50_us", "p99_us", "cpu_s_per_1k"):
        values = [r[field] for r in runs if r[field] is not None]
        row[field] = statistics.median(values) if values else None
    for field in ("p50_us", "p99_us"):
        row[field] = round(row[field])
    row["errors"] = sum(r[k] for r in runs for k in r if k.startswith("err_"))
    row["rounds"] = len(runs)
    return row


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: router_overhead_table.py RESULTS.jsonl")
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    if not rows:
        sys.exit("no results")
    groups = {}
    for r in rows:
        groups.setdefault((r["arm"], r["prompt_bytes"], r["conns"]), []).append(r)
    cell = {key: median_row(runs) for key, runs in groups.items()}
    keys = sorted({(r["prompt_bytes"], r["conns"]) for r in rows})
    arms = [a for a in ARMS if any(r["arm"] == a for r in rows)]

    print("| prompt | conns | arm | req/s | p50 µs | p99 µs | proxy CPU s / 1k req | errors |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for size, conns in keys:
        for arm in arms:
            r = cell.get((arm, size, conns))
            if r is None:
                continue
            print(f"| {size} | {conns} | {arm} | {r['req_per_s']:.0f} | {r['p50_us']} | "
                  f"{r['p99_us']} | {fmt(r['cpu_s_per_1k'], '.3f')} | {r['errors']} |")

    print()
    print("| prompt | conns | rr / nginx req/s | rr / nginx p99 | ca / nginx req/s | "
          "ca / nginx p99 | baseline / nginx req/s | nginx +p50 µs | rr +p50 µs | ca +p50 µs |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, conns in keys:
        d, n, rr, ca, base = (cell.get((a, size, conns)) for a in ARMS)

        def rel(x, field):
            return ratio(x and x[field], n and n[field])

        def added(x):
            return x["p50_us"] - d["p50_us"] if x and d else None

        print(f"| {size} | {conns} | {fmt(rel(rr, 'req_per_s'), '.2f')} | "
              f"{fmt(rel(rr, 'p99_us'), '.2f')} | {fmt(rel(ca, 'req_per_s'), '.2f')} | "
              f"{fmt(rel(ca, 'p99_us'), '.2f')} | {fmt(rel(base, 'req_per_s'), '.2f')} | "
              f"{fmt(added(n), 'd')} | {fmt(added(rr), 'd')} | "
              f"{fmt(added(ca), 'd')} |")

    print()
    print("| arm | peak RSS MiB |")
    print("|---|---:|")
    for arm in arms:
        peaks = [r["peak_rss_mib"] for r in rows if r["arm"] == arm and r["peak_rss_mib"]]
        if peaks:
            print(f"| {arm} | {max(peaks):.1f} |")

    print()
    n64, rr64 = cell.get(("nginx", 2048, 64)), cell.get(("round_robin", 2048, 64))
    if n64 and rr64:
        tput = rr64["req_per_s"] / n64["req_per_s"]
        p99 = rr64["p99_us"] / n64["p99_us"]
        print(f"Floor, 2 KiB at 64 connections: round_robin reaches {tput:.2f}x nginx's req/s "
              f"(floor >= 1.0: {'met' if tput >= 1.0 else 'MISSED'}) with p99 {p99:.2f}x nginx's "
              f"(floor <= 1.2: {'met' if p99 <= 1.2 else 'MISSED'}).")
    d1 = [cell.get(("direct", s, 1)) for s, c in keys if c == 1]
    rr1 = [cell.get(("round_robin", s, 1)) for s, c in keys if c == 1]
    for d, r in zip(d1, rr1):
        if d and r:
            extra = r["p50_us"] - d["p50_us"]
            print(f"Floor, {r['prompt_bytes']} B at 1 connection: round_robin adds {extra} µs "
                  f"median over direct (floor < 100: {'met' if extra < 100 else 'MISSED'}).")


if __name__ == "__main__":
    main()
