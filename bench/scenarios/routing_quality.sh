#!/usr/bin/env bash
# The guide's routing experiment at CPU scale (docs/benchmarks.md, "Routing quality").
#
# 4 tiny-model engine workers whose KV pools are sized so that all shared prefixes together need
# about twice one worker's cache; one generated-shared-prefix workload, all requests at t=0; arms:
# dpserve serve with cache_aware, round_robin, power_of_two and random, plus the engine's own
# round-robin DP (`dpserve engine --dp-size 4`). Every arm runs in this one invocation on this
# machine, so the ratios are comparable; the offline oracle hit rate comes from the workload.
#
# usage: bench/scenarios/routing_quality.sh [BUILD_DIR] [OUT_DIR]
#   env: NUM_GROUPS PROMPTS SYSTEM_LEN QUESTION_LEN OUTPUT_LEN WORKERS (defaults below)
set -euo pipefail

BUILD=${1:-build}
OUT=${2:-bench/results/routing_quality}
DPSERVE=$BUILD/dpserve
NUM_GROUPS=${NUM_GROUPS:-16}
PROMPTS=${PROMPTS:-8}
SYSTEM_LEN=${SYSTEM_LEN:-256}
QUESTION_LEN=${QUESTION_LEN:-32}
OUTPUT_LEN=${OUTPUT_LEN:-16}
WORKERS=${WORKERS:-4}
PORT=${PORT:-30400}
BASE_PORT=${BASE_PORT:-31400}

[[ -x $DPSERVE ]] || { echo "no $DPSERVE: build first (make build)" >&2; exit 1; }
mkdir -p "$OUT"
RESULTS=$OUT/runs.jsonl
: >"$RESULTS"

# All prefixes = NUM_GROUPS * SYSTEM_LEN tokens = 2x one worker's pool. The pool also has to hold the
# questions and outputs of the requests running at once, so those are added on top.
KV=$((NUM_GROUPS * SYSTEM_LEN / 2 + 8 * (QUESTION_LEN + OUTPUT_LEN)))
MODEL_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/dpserve/models/tiny-llama

BENCH_ARGS=(--backend sglang --dataset generated-shared-prefix --gsp-num-groups "$NUM_GROUPS"
            --gsp-prompts-per-group "$PROMPTS" --gsp-system-prompt-len "$SYSTEM_LEN"
            --gsp-question-len "$QUESTION_LEN" --gsp-output-len "$OUTPUT_LEN" --request-rate inf
            --seed 7 --warmup-requests 1 --flush-cache --oracle-kv-capacity "$KV"
            --output-file "$RESULTS" --disable-progress)

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

echo "workers=$WORKERS kv_per_worker=$KV tokens; prefixes=$((NUM_GROUPS * SYSTEM_LEN)) tokens" \
     "($NUM_GROUPS groups x $PROMPTS prompts, system $SYSTEM_LEN, question $QUESTION_LEN, output $OUTPUT_LEN)"

# The default model is created by the first serve; the bench sizes prompts with its tokenizer.
for policy in cache_aware round_robin power_of_two random; do
  log=$OUT/serve-$policy.log
  "$DPSERVE" serve --dp-size "$WORKERS" --port "$PORT" --router-dp-worker-base-port "$BASE_PORT" \
    --router-policy "$policy" --max-total-tokens "$KV" >"$log" 2>&1 &
  SERVER_PID=$!
  wait_for "http://127.0.0.1:$PORT/readiness" "$log"
  echo "== $policy"
  "$DPSERVE" bench --port "$PORT" --tokenizer "$MODEL_DIR" --label "$policy" "${BENCH_ARGS[@]}" |
    grep -E "Successful|Failed|Total token throughput|cache hit rate|Median TTFT|Median E2E"
  stop_server
done

log=$OUT/engine-native-dp.log
"$DPSERVE" engine --dp-size "$WORKERS" --port "$PORT" --max-total-tokens "$KV" >"$log" 2>&1 &
SERVER_PID=$!
wait_for "http://127.0.0.1:$PORT/health" "$log"
echo "== native DP (engine --dp-size $WORKERS, round robin)"
"$DPSERVE" bench --port "$PORT" --tokenizer "$MODEL_DIR" --label "native_dp_round_robin" \
  "${BENCH_ARGS[@]}" |
  grep -E "Successful|Failed|Total token throughput|cache hit rate|Median TTFT|Median E2E"
stop_server

/usr/bin/python3 "$(dirname "$0")/routing_quality_table.py" "$RESULTS" "$OUT/routing_quality.svg"
