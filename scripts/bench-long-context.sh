#!/usr/bin/env bash
# Decode after a long context, qwen3c against llama.cpp in one run (BENCHMARKS.md, issue
# #16): Qwen3-4B shapes with random weights, q4_0, 2 threads, the cache in f16 and in q8_0.
#
#   scripts/bench-long-context.sh LLAMA_BIN_DIR GGUF_DIR [DEPTHS] [REPS]
#
# DEPTHS: comma-separated (default 8192). Each depth is filled once per cache type by a
# real prefill on both sides (qwen3c bench -d, llama-bench -d, which keeps the filled state
# for its repetitions), then tg32 is timed. Prints one JSON line per measurement, the peak
# RSS of each qwen3c run, and a table of medians. Build nothing while it runs.
set -euo pipefail
llama=${1:?llama.cpp bin directory}
ggufs=${2:?folder of qwen3-4b-q4_0.gguf}
depths=${3:-8192}
reps=${4:-3}
cd "$(dirname "$0")/.."
q=build/tools/qwen3c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl

lscpu | grep -E "Model name|^CPU\(s\)"
"$q" compile tests/data/configs/Qwen3-4B.json --random-weights --seed 1 --quant q4_0 -o "$work/4b.q3c"
for depth in ${depths//,/ }; do
  for kv in f16 q8_0; do
    /usr/bin/time -f '%M' -o "$work/rss" \
      "$q" bench "$work/4b.q3c" -p 0 -n 32 -d "$depth" --kv-type "$kv" -t 2 -r "$reps" --json > "$work/line"
    echo "{\"engine\": \"qwen3c\", \"kv\": \"$kv\", \"depth\": $depth, \"peak_rss_kib\": $(cat "$work/rss"), \"result\": $(cat "$work/line")}" |
      tee -a "$results"
    "$llama/llama-bench" -m "$ggufs/qwen3-4b-q4_0.gguf" -t 2 -r "$reps" -lm none -fa 1 -p 0 -n 32 -d "$depth" \
      -ctk "$kv" -ctv "$kv" -o jsonl 2>/dev/null | while read -r line; do
      echo "{\"engine\": \"llama.cpp\", \"kv\": \"$kv\", \"depth\": $depth, \"result\": $line}" | tee -a "$results"
    done
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def rate(r):
    res = r["result"]
    if r["engine"] == "qwen3c":
        return res["median"]
    return statistics.median(res["samples_ts"])
print("| depth | cache | qwen3c tg32 | llama.cpp tg32 | ratio | qwen3c peak RSS |")
print("|---:|---|---:|---:|---:|---:|")
for depth in sorted({r["depth"] for r in rows}):
    for kv in ("f16", "q8_0"):
        q = [r for r in rows if r["engine"] == "qwen3c" and r["kv"] == kv and r["depth"] == depth]
        l = [r for r in rows if r["engine"] == "llama.cpp" and r["kv"] == kv and r["depth"] == depth]
        if not q or not l:
            continue
        print(f"| {depth} | {kv} | {rate(q[0]):.2f} | {rate(l[0]):.2f} | {rate(q[0]) / rate(l[0]):.2f}x | "
              f"{q[0]['peak_rss_kib'] / 1048576:.2f} GiB |")
PY
