#!/usr/bin/env bash
# qwen3c against llama.cpp on this machine, in one run (BENCHMARKS.md, issue #11): Qwen3-4B
# shapes with random weights, 2 threads, weights in anonymous memory on both sides.
#
#   scripts/bench-vs-llama.sh LLAMA_BIN_DIR GGUF_DIR [REPS]
#
# GGUF_DIR holds qwen3-4b-{bf16,q8_0,q4_0}.gguf (random weights of the real shapes; see
# BENCHMARKS.md for how they were made). The qwen3c artifacts are compiled here, for this
# CPU, with the default (fast) precision. Prints one JSON line per measurement and a
# table of medians and ratios at the end. Build nothing while it runs.
set -euo pipefail
llama=${1:?llama.cpp bin directory}
ggufs=${2:?folder of the qwen3-4b-*.gguf files}
reps=${3:-5}
cd "$(dirname "$0")/.."
q=build/tools/qwen3c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl

qwen3c_bench() {  # FORMAT ARGS...
  local format=$1; shift
  "$q" bench "$work/4b-$format.q3c" -t 2 -r "$reps" --json "$@" | while read -r line; do
    echo "{\"engine\": \"qwen3c\", \"format\": \"$format\", \"result\": $line}" | tee -a "$results"
  done
}
llama_bench() {  # FORMAT ARGS...
  local format=$1; shift
  "$llama/llama-bench" -m "$ggufs/qwen3-4b-$format.gguf" -t 2 -r "$reps" -lm none -o jsonl "$@" 2>/dev/null |
    while read -r line; do
      echo "{\"engine\": \"llama.cpp\", \"format\": \"$format\", \"result\": $line}" | tee -a "$results"
    done
}

lscpu | grep -E "Model name|^CPU\(s\)"
echo "instruction sets: $(grep -o -E 'avx2|fma|avx512[a-z_0-9]*|amx[a-z_0-9]*|avx_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"
for format in bf16 q8_0 q4_0; do
  "$q" compile tests/data/configs/Qwen3-4B.json --random-weights --seed 1 --quant "$format" -o "$work/4b-$format.q3c"
done
for format in bf16 q8_0 q4_0; do
  qwen3c_bench "$format" -p 512 -n 128
  llama_bench "$format" -p 512 -n 128
done
qwen3c_bench q4_0 -p 2048 -n 0
llama_bench q4_0 -p 2048 -n 0 -fa 1

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def median(engine, fmt, test):
    for r in rows:
        if r['engine'] != engine or r['format'] != fmt:
            continue
        x = r['result']
        if engine == 'qwen3c' and x['test'] == test:
            return x['median']
        if engine == 'llama.cpp':
            name = ('pp%d' % x['n_prompt']) if x['n_gen'] == 0 else ('tg%d' % x['n_gen'])
            if name == test:
                return statistics.median(x['samples_ts'])
    return None
print('| format | test | qwen3c | llama.cpp | ratio |')
print('|---|---|---:|---:|---:|')
for fmt, test in [('bf16', 'pp512'), ('q8_0', 'pp512'), ('q4_0', 'pp512'), ('q4_0', 'pp2048'),
                  ('bf16', 'tg128'), ('q8_0', 'tg128'), ('q4_0', 'tg128')]:
    a, b = median('qwen3c', fmt, test), median('llama.cpp', fmt, test)
    if a and b:
        print('| %s | %s | %.2f | %.2f | %.2fx |' % (fmt, test, a, b, a / b))
PY
