#!/usr/bin/env bash
# Slow: a Qwen3-4B random-weight artifact compiles, loads (8 GB of weights generated at
# load) and decodes tokens with finite logits. Usage: qwen3_4b_random_test.sh BUILD_DIR DATA_DIR
set -euo pipefail
build=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tools/qwen3c" compile "$data/configs/Qwen3-4B.json" --random-weights --seed 3 -o "$work/4b.q3c"
size=$(stat -c %s "$work/4b.q3c")
[ "$size" -lt 1000000 ] || { echo "random-weight artifact is $size bytes: weights were stored"; exit 1; }
"$build/tools/qwen3c" inspect "$work/4b.q3c" | grep -q "parameters:   4022468096"
"$build/tools/qwen3c" eval "$work/4b.q3c" --ids 9707,11,1879,0 --steps 2 --out "$work/out.safetensors"
# The logits must be finite: check the f32 payload for NaN/Inf bit patterns.
python3 - "$work/out.safetensors" <<'PY'
import json, struct, sys, array, math
f = open(sys.argv[1], 'rb')
n = struct.unpack('<Q', f.read(8))[0]
header = json.loads(f.read(n))
e = header['greedy.step_logits']
f.seek(8 + n + e['data_offsets'][0])
a = array.array('f')
a.frombytes(f.read(e['data_offsets'][1] - e['data_offsets'][0]))
assert e['shape'] == [2, 151936], e['shape']
assert all(math.isfinite(x) for x in a), 'non-finite logits'
assert max(a) - min(a) > 0.1, 'degenerate logits'
print('4B random-weight decode: finite logits, range', min(a), max(a))
PY
