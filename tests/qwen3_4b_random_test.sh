#!/usr/bin/env bash
# Slow: a Qwen3-4B random-weight artifact compiles, loads (8 GB of weights generated at
# load) and decodes tokens with finite logits; the same weights compiled for Vulkan (on
# lavapipe in CI: its 741 MiB embedding is bound in slices) give the same logits; and
# --precision fast costs, at the real shapes, what the fixtures' bounds allow.
# Usage: qwen3_4b_random_test.sh BUILD_DIR DATA_DIR
set -euo pipefail
build=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tools/qwen3c" compile "$data/configs/Qwen3-4B.json" --random-weights --seed 3 --precision f32 -o "$work/4b.q3c"
size=$(stat -c %s "$work/4b.q3c")
[ "$size" -lt 1000000 ] || { echo "random-weight artifact is $size bytes: weights were stored"; exit 1; }
# (grep reads all of inspect's output: with pipefail, grep -q's early exit would fail inspect)
"$build/tools/qwen3c" inspect "$work/4b.q3c" | grep -c "parameters:   4022468096" > /dev/null
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

# Vulkan: same seed, same weights; its logits within 1e-4 of the CPU's, the same greedy tokens.
"$build/tools/qwen3c" compile "$data/configs/Qwen3-4B.json" --random-weights --seed 3 --target vulkan -o "$work/4b-vk.q3c"
"$build/tools/qwen3c" eval "$work/4b-vk.q3c" --ids 9707,11,1879,0 --steps 2 --out "$work/vk.safetensors"
python3 - "$work/out.safetensors" "$work/vk.safetensors" <<'PY'
import json, struct, sys, array, math
def tensors(path):
    f = open(path, 'rb')
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        f.seek(8 + n + e['data_offsets'][0])
        a = array.array('f' if e['dtype'] == 'F32' else 'q')
        a.frombytes(f.read(e['data_offsets'][1] - e['data_offsets'][0]))
        out[name] = a
    return out
cpu, vk = tensors(sys.argv[1]), tensors(sys.argv[2])
assert list(cpu['greedy.tokens']) == list(vk['greedy.tokens']), (list(cpu['greedy.tokens']), list(vk['greedy.tokens']))
for name in ('prefill.logits', 'greedy.step_logits'):
    a, b = cpu[name], vk[name]
    err = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b))) / math.sqrt(sum(x * x for x in a))
    print('4B Vulkan vs CPU', name, 'relative error', err)
    assert err <= 1e-4, err
PY

# --precision fast at the real shapes: each weight format's fast artifact against f32 on the
# same weights, and (q8_0, q4_0) against bf16-f32 next to the weights' own error.
ids=9707,11,1879,0,785,6722,315,279,1879,374,264,1273,13,576,3974,17
for quant in bf16 q8_0 q4_0; do
  for precision in f32 fast; do
    [ "$quant/$precision" = bf16/f32 ] && continue
    "$build/tools/qwen3c" compile "$data/configs/Qwen3-4B.json" --random-weights --seed 3 --quant $quant \
      --precision $precision -o "$work/4b-$quant-$precision.q3c"
    "$build/tools/qwen3c" eval "$work/4b-$quant-$precision.q3c" --ids $ids --steps 1 --out "$work/$quant-$precision.safetensors"
    rm "$work/4b-$quant-$precision.q3c"
  done
done
"$build/tools/qwen3c" eval "$work/4b.q3c" --ids $ids --steps 1 --out "$work/bf16-f32.safetensors"
python3 - "$work" <<'PY'
import json, struct, sys, array, math
def logits(path):
    f = open(path, 'rb')
    n = struct.unpack('<Q', f.read(8))[0]
    e = json.loads(f.read(n))['prefill.logits']
    f.seek(8 + n + e['data_offsets'][0])
    a = array.array('f')
    a.frombytes(f.read(e['data_offsets'][1] - e['data_offsets'][0]))
    rows, vocab = e['shape']
    return [a[r * vocab:(r + 1) * vocab] for r in range(rows)]
def kl(ref, q):  # mean KL(ref || q) over positions, and top-1 agreement
    total, same = 0.0, 0
    for y, x in zip(ref, q):
        my, mx = max(y), max(x)
        ly = my + math.log(sum(math.exp(v - my) for v in y))
        lx = mx + math.log(sum(math.exp(v - mx) for v in x))
        total += sum(math.exp(b - ly) * ((b - ly) - (a - lx)) for a, b in zip(x, y))
        same += y.index(my) == x.index(mx)
    return total / len(ref), same / len(ref)
w = sys.argv[1]
ref = logits(w + '/bf16-f32.safetensors')
weights = {}
for quant in ('q8_0', 'q4_0'):
    weights[quant] = kl(ref, logits(w + '/%s-f32.safetensors' % quant))[0]
for quant in ('bf16', 'q8_0', 'q4_0'):
    exact = ref if quant == 'bf16' else logits(w + '/%s-f32.safetensors' % quant)
    fast = logits(w + '/%s-fast.safetensors' % quant)
    added, top1 = kl(exact, fast)
    total = kl(ref, fast)[0]
    print('4B %s: fast vs f32 KL %.6f top-1 %.3f; vs bf16-f32 KL %.6f; the weights alone %.6f'
          % (quant, added, top1, total, weights.get(quant, 0.0)))
    if quant == 'bf16':
        assert added < weights['q8_0'], 'bf16-fast costs more than q8_0 weights'
    elif quant == 'q4_0':
        assert total <= 2 * weights[quant], '%s-fast more than doubles the weights error' % quant
    else:
        # int8 activation blocks carry about the error of the int8 weight blocks: on these
        # random weights 1.09x (SwiGLU outputs have heavier tails than Gaussian weights), on
        # the fixtures 0.85-0.95x. A wrong block scale or tile multiplies it many times.
        assert added <= 1.25 * weights[quant], '%s-fast adds %.2fx the weights error' % (quant, added / weights[quant])
PY
