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
# "The capital of France is" in Qwen3 token ids; 8 greedy steps.
run $q eval build/qwen3-tiny.q3c --ids 785,6722,315,9625,374 --steps 8 --out build/qwen3-tiny-eval.safetensors
echo
echo "Greedy tokens (the weights are random, so they mean nothing):"
python3 - build/qwen3-tiny-eval.safetensors <<'PY'
import array, json, struct, sys
f = open(sys.argv[1], 'rb')
n = struct.unpack('<Q', f.read(8))[0]
e = json.loads(f.read(n))['greedy.tokens']
f.seek(8 + n + e['data_offsets'][0])
ids = array.array('q')
ids.frombytes(f.read(e['data_offsets'][1] - e['data_offsets'][0]))
print(list(ids))
PY
