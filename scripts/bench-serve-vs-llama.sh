#!/usr/bin/env bash
# Batched decoding and the server under load, qwen3c against llama.cpp in one run
# (BENCHMARKS.md, issue #12): Qwen3-4B shapes, random weights, q4_0, 2 threads.
#
#   scripts/bench-serve-vs-llama.sh ARTIFACT LLAMA_BIN_DIR GGUF
#
# ARTIFACT: a q4_0 .q3c with a tokenizer (compile a folder holding the 4B config.json and a
# Qwen3 tokenizer.json with --random-weights --seed 1 --quant q4_0); GGUF: the same shapes
# for llama.cpp. Build nothing while it runs.
set -u
A=${1:?artifact}
llama=${2:?llama.cpp bin directory}
gguf=${3:?gguf}
cd "$(dirname "$0")/.."
Q=./build/tools/qwen3c
echo "== $(date -u) machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g')"
echo "== qwen3c bench, batched decode"
for b in 1 4 8 16; do "$Q" bench "$A" -p 0 -n 64 -b $b -t 2 -r 3 | tail -1; done
echo "== qwen3c serve + serve-load"
"$Q" serve "$A" --parallel 16 --context 1024 -t 2 --port 8091 > /tmp/serve-bench.log 2>&1 &
SP=$!
for i in $(seq 1 100); do case "$(curl -s localhost:8091/health)" in *ok*) break;; esac; sleep 3; done
node scripts/serve-load.mjs --base http://127.0.0.1:8091 --model "$(basename "$A" .q3c)" --n 1,4,8,16 --tokens 128
echo "peak RSS of the server: $(grep VmHWM /proc/$SP/status)"
kill $SP; wait $SP 2>/dev/null
echo "== llama-batched-bench"
"$llama/llama-batched-bench" -m "$gguf" -c 8192 -b 2048 -ub 512 -npp 32 -ntg 128 -npl 1,4,8,16 -t 2 --no-mmap 2>&1 | grep -E "^\|" 
echo "== done $(date -u)"
