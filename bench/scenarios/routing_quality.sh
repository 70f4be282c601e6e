#!/usr/bin/env bash
# The guide's routing experiment at CPU scale (docs/benchmarks.md, "Routing quality").
#
# 4 engine workers whose KV pools are sized so that all shared prefixes together need about twice
# one worker's cache; one generated-shared-prefix workload; arms: dpserve serve with cache_aware,
# round_robin, power_of_two and random, plus the engine's own round-robin DP (`dpserve engine
# --dp-size 4`). Every arm runs in this one invocation on this machine, so the ratios are
# comparable; the offline oracle hit rate comes from the workload.
#
# The workers serve a seeded 256-wide, 4-layer Llama (make_bench_model.py): on the 64-wide tiny
# preset a prefill costs less than the HTTP exchange, so throughput would not depend on cache hits.
#
# usage: bench/scenarios/routing_quality.sh [BUILD_DIR] [OUT_DIR]
#   env: NUM_GROUPS PROMPTS SYSTEM_LEN QUESTION_LEN OUTPUT_LEN WORKERS (workload, defaults below)
#        REQUEST_RATE (inf: all at t=0, as the guide) MAX_CONCURRENCY (0: no cap)
#        MODEL_PATH (default: the bench model, created under OUT_DIR) ARMS (subset, in order)
set -euo pipefail

BUILD=${1:-build}
OUT=${2:-bench/results/routing_quality}
DPSERVE=$BUILD/dpserve
NUM_GROUPS=${NUM_GROUPS:-8}
PROMPTS=${PROMPTS:-16}
SYSTEM_LEN=${SYSTEM_LEN:-1536}
QUESTION_LEN=${QUESTION_LEN:-16}
OUTPUT_LEN=${OUTPUT_LEN:-8}
WORKERS=${WORKERS:-4}
REQUEST_RATE=${REQUEST_RATE:-inf}
MAX_CONCURRENCY=${MAX_CONCURRENCY:-0}
ARMS=${ARMS:-"cache_aware round_robin power_of_two random native_dp"}
PORT=${PORT:-30400}
BASE_PORT=${BASE_PORT:-31400}
HERE=$(dirname "$0")

[[ -x $DPSERVE ]] || { echo "no $DPSERVE: build first (make build)" >&2; exit 1; }
mkdir -p "$OUT"
RESULTS=$OUT/runs.jsonl
LOADS=$OUT/load.tsv
: >"$RESULTS"
printf 'arm\tload_before\tload_after\twall_s\n' >"$LOADS"

if [[ -z ${MODEL_PATH:-} ]]; then
  MODEL_PATH=$OUT/model
  if [[ ! -f $MODEL_PATH/model.safetensors ]]; then
    "$DPSERVE" model create --arch llama --preset tiny --seed 0 --out "$OUT/tiny-llama" >/dev/null
    /usr/bin/python3 "$HERE/make_bench_model.py" "$OUT/tiny-llama" "$MODEL_PATH"
  fi
fi

# All prefixes = NUM_GROUPS * SYSTEM_LEN tokens = 2x one worker's pool. The pool also has to hold the
# questions and outputs of the requests running at once, so those are added on top.
KV=$((NUM_GROUPS * SYSTEM_LEN / 2 + 8 * (QUESTION_LEN + OUTPUT_LEN)))

BENCH_ARGS=(--backend sglang --dataset generated-shared-prefix --gsp-num-groups "$NUM_GROUPS"
            --gsp-prompts-per-group "$PROMPTS" --gsp-system-prompt-len "$SYSTEM_LEN"
            --gsp-question-len "$QUESTION_LEN" --gsp-output-len "$OUTPUT_LEN"
            --request-rate "$REQUEST_RATE" --max-concurrency "$MAX_CONCURRENCY"
            --seed 7 --warmup-requests 1 --flush-cache --oracle-kv-capacity "$KV"
            --tokenizer "$MODEL_PATH" --output-file "$RESULTS" --output-details --disable-progress)

SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

wait_for() {  # URL LOG: polls until URL answers 200 (and, for serve, the ready line is logged)
  for _ in $(seq 1 1200); do
    if curl -sf "$1" >/dev/null 2>&1 && { [[ $1 != */readiness ]] || grep -q "ready: serving" "$2"; }; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server exited; log: $2" >&2; tail -20 "$2" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "server did not come up; log: $2" >&2; exit 1
}

load1() { cut -d' ' -f1 /proc/loadavg; }

run_bench() {  # LABEL: one arm against whatever listens on PORT
  local before start
  before=$(load1)
  start=$(date +%s.%N)
  echo "== $1 (load $before)"
  "$DPSERVE" bench --port "$PORT" --label "$1" --plot "$OUT/$1.svg" "${BENCH_ARGS[@]}" |
    grep -E "Successful|Failed|Total token throughput|cache hit rate|Mean TTFT|Mean E2E"
  printf '%s\t%s\t%s\t%.1f\n' "$1" "$before" "$(load1)" \
    "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" >>"$LOADS"
}

echo "workers=$WORKERS kv_per_worker=$KV tokens; prefixes=$((NUM_GROUPS * SYSTEM_LEN)) tokens" \
     "($NUM_GROUPS groups x $PROMPTS prompts, system $SYSTEM_LEN, question $QUESTION_LEN," \
     "output $OUTPUT_LEN, rate $REQUEST_RATE, max concurrency $MAX_CONCURRENCY); model $MODEL_PATH"

for arm in $ARMS; do
  log=$OUT/serve-$arm.log
  if [[ $arm == native_dp ]]; then
    "$DPSERVE" engine --dp-size "$WORKERS" --port "$PORT" --model-path "$MODEL_PATH" \
      --max-total-tokens "$KV" >"$log" 2>&1 &
    SERVER_PID=$!
    wait_for "http://127.0.0.1:$PORT/health" "$log"
    run_bench native_dp_round_robin
  else
    "$DPSERVE" serve --dp-size "$WORKERS" --port "$PORT" --router-dp-worker-base-port "$BASE_PORT" \
      --router-policy "$arm" --model-path "$MODEL_PATH" --max-total-tokens "$KV" >"$log" 2>&1 &
    SERVER_PID=$!
    wait_for "http://127.0.0.1:$PORT/readiness" "$log"
    run_bench "$arm"
  fi
  stop_server
done

/usr/bin/python3 "$HERE/routing_quality_table.py" "$RESULTS" "$OUT/routing_quality.svg" "$LOADS"
