#!/usr/bin/env bash
# The README's demo: build qwen3c, compile the bundled tiny Qwen3 model (random weights,
# the real Qwen3 vocabulary and architecture) for this CPU, and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target qwen3c
q=build/tools/qwen3c
model=tests/data/models/qwen3-tiny
run() { echo; echo "\$ $*"; "$@"; }

run $q inspect $model
run $q compile $model --emit ir -o build/qwen3-tiny.mlir
echo "(one decoder layer of the q3 graph:)"
grep -E "^\s+%[0-9]+ = q3\.(rms_norm|linear|head_rms_norm|rope|attention|add|silu|mul)" \
  build/qwen3-tiny.mlir | head -n 18 | cut -c1-150
run $q compile $model --target cpu -o build/qwen3-tiny.q3c
# The weights are random, so the words mean nothing; the pipeline is the real one.
run $q run build/qwen3-tiny.q3c -p "The capital of France is" -n 24 --greedy
run $q tokenize build/qwen3-tiny.q3c --text "Hello, world!"
echo
echo "\$ printf 'Hi!\\nTell me more.\\n' | $q chat build/qwen3-tiny.q3c --no-think -n 12"
printf 'Hi!\nTell me more.\n' | $q chat build/qwen3-tiny.q3c --no-think -n 12
