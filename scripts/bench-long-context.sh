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
#
# FILL=copy: both sides compute 512 tokens and copy their cache cells on to the depth
# instead (qwen3c bench --depth-fill copy; llama-bench patched with
# scripts/llama-bench-depth-copy.patch, LLAMA_BENCH_DEPTH_COPY=512): every cell is written
# and read by each timed token, so a step costs what it costs after a real prefill, which
# at depth 32,768 takes llama.cpp hours with a q8_0 cache. KV=f16,q8_0 picks the caches.
set -euo pipefail
llama=${1:?llama.cpp bin directory}
ggufs=${2:?folder of qwen3-4b-q4_0.gguf}
depths=${3:-8192}
reps=${4:-3}
fill=${FILL:-prefill}
kvs=${KV:-f16,q8_0}
qwen3c_fill=()
llama_env=()
if [ "$fill" = copy ]; then
  qwen3c_fill=(--depth-fill copy)
  llama_env=(LLAMA_BENCH_DEPTH_COPY=512)
elif [ "$fill" != prefill ]; then
  echo "FILL is prefill or copy, not $fill" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
q=build/tools/qwen3c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl

lscpu | grep -E "Model name|^CPU\(s\)"
"$q" compile tests/data/configs/Qwen3-4B.json --random-weights --seed 1 --quant q4_0 -o "$work/4b.q3c"
for depth in ${depths//,/ }; do
  for kv in ${kvs//,/ }; do
    /usr/bin/time -f '%M' -o "$work/rss" \
      "$q" bench "$work/4b.q3c" -p 0 -n 32 -d "$depth" "${qwen3c_fill[@]}" --kv-type "$kv" -t 2 -r "$reps" --json > "$work/line"
    echo "{\"engine\": \"qwen3c\", \"kv\": \"$kv\", \"depth\": $depth, \"fill\": \"$fill\", \"peak_rss_kib\": $(cat "$work/rss"), \"result\": $(cat "$work/line")}" |
      tee -a "$results"
    env "${llama_env[@]}" "$llama/llama-bench" -m "$ggufs/qwen3-4b-q4_0.gguf" -t 2 -r "$reps" -lm none -fa 1 -p 0 -n 32 -d "$depth" \
      -ctk "$kv" -ctv "$kv" -o jsonl 2>/dev/null | while read -r line; do
      echo "{\"engine\": \"llama.cpp\", \"kv\": \"$kv\", \"depth\": $depth, \"fill\": \"$fill\", \"result\": $line}" | tee -a "$results"
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
