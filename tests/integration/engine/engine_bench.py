#!/usr/bin/python3
"""Engine serving benchmark scenario (not a test; results go to docs/benchmarks.md).

Against a running `dpserve engine` (stdlib only, Debian's /usr/bin/python3):
  * output tok/s at concurrency 1, 8 and 64: greedy /generate with ignore_eos, fixed lengths;
  * TTFT of a 2,048-token prompt cold versus with its first 1,920 tokens cached (streamed
    /generate, time to the first SSE event), after /flush_cache.

  engine_bench.py --port 30000 [--input-len 256 --output-len 64 --prompts-per-level 64]
"""
import argparse
import json
import random
import threading
import time
import urllib.request


def post(port, path, body, timeout=600):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def ids(rng, n, vocab):
    return [rng.randrange(10, vocab - 10) for _ in range(n)]


def throughput(port, concurrency, prompts, output_len):
    lock = threading.Lock()
    queue = list(prompts)
    tokens = [0]

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                prompt = queue.pop()
            body = {"input_ids": prompt, "sampling_params": {
                "temperature": 0, "max_new_tokens": output_len, "ignore_eos": True}}
            out = json.loads(post(port, "/generate", body))
            with lock:
                tokens[0] += out["meta_info"]["completion_tokens"]

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tokens[0] / (time.monotonic() - start)


def ttft(port, prompt):
    body = {"input_ids": prompt, "stream": True,
            "sampling_params": {"temperature": 0, "max_new_tokens": 1, "ignore_eos": True}}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/generate",
                                 data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    start = time.monotonic()
    cached = None
    with urllib.request.urlopen(req, timeout=600) as resp:
        first = None
        for line in resp:
            if line.startswith(b"data: {"):
                if first is None:
                    first = time.monotonic() - start
                cached = json.loads(line[6:])["meta_info"]["cached_tokens"]
    return first, cached


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=30000)
    parser.add_argument("--input-len", type=int, default=256)
    parser.add_argument("--output-len", type=int, default=64)
    parser.add_argument("--prompts-per-level", type=int, default=64)
    parser.add_argument("--levels", default="1,8,64")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    info = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{args.port}/get_server_info").read())
    model = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{args.port}/get_model_info").read())
    vocab = model["vocab_size"]
    rng = random.Random(args.seed)
    print(f"model {info['model_path']}, dp_size {info['dp_size']}")

    long_prompt = ids(rng, 2048, vocab)
    sibling = long_prompt[:1920] + ids(rng, 128, vocab)
    post(args.port, "/flush_cache", {})
    cold, cold_cached = ttft(args.port, long_prompt)
    warm, warm_cached = ttft(args.port, sibling)
    print(f"TTFT 2048-token prompt: cold {cold:.3f} s (cached {cold_cached}), "
          f"1920 cached {warm:.3f} s (cached {warm_cached}), speed-up {cold / warm:.1f}x")

    for level in [int(x) for x in args.levels.split(",")]:
        post(args.port, "/flush_cache", {})
        count = max(args.prompts_per_level, level)
        prompts = [ids(rng, args.input_len, vocab) for _ in range(count)]
        rate = throughput(args.port, level, prompts, args.output_len)
        print(f"concurrency {level}: {rate:.1f} output tok/s "
              f"({count} prompts x {args.input_len} in / {args.output_len} out)")


if __name__ == "__main__":
    main()
