#!/usr/bin/env bash
# The README's demo: build qwen3c, then compile the bundled tiny Qwen3 model (random
# weights, real Qwen3 vocabulary and architecture) to q3 IR and summarise it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target qwen3c
model=tests/data/models/qwen3-tiny
echo
echo "\$ qwen3c inspect $model"
build/tools/qwen3c inspect "$model"
echo
echo "\$ qwen3c compile $model --emit ir -o build/qwen3-tiny.mlir"
build/tools/qwen3c compile "$model" --emit ir -o build/qwen3-tiny.mlir
echo
echo "First decoder layer of the graph:"
grep -m1 -n "func.func @forward" build/qwen3-tiny.mlir | cut -c1-160
grep -E "^\s+%[0-9]+ = q3\.(embedding|rms_norm|linear|head_rms_norm|rope|attention|add|silu|mul)" \
  build/qwen3-tiny.mlir | head -n 19 | cut -c1-160
