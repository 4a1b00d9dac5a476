#!/usr/bin/env python3
"""Compares `qwen3c eval` output with a fixture's Hugging Face goldens (no numpy needed).

    scripts/compare-eval.py EVAL.safetensors tests/data/models/qwen3-hd128/goldens.safetensors

Prints whether the greedy tokens agree and the largest relative error of the logits (over
each row's largest magnitude), prefill and decode; exits 1 if the tokens differ or an error
passes --tolerance (default 1e-3: a GPU's float order, not the 1e-4 of the CPU's f32 path).
"""
import argparse
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        code = {"I64": "q", "F32": "f"}[t["dtype"]]
        count = (end - begin) // struct.calcsize(code)
        tensors[name] = (t["shape"], struct.unpack("<%d%s" % (count, code), data[begin:end]))
    return tensors


def worst_row_error(shape, got, want):
    width = shape[-1]
    worst = 0.0
    for r in range(len(want) // width):
        g, w = got[r * width:(r + 1) * width], want[r * width:(r + 1) * width]
        scale = max(abs(x) for x in w) or 1.0
        worst = max(worst, max(abs(a - b) for a, b in zip(g, w)) / scale)
    return worst


def main():
    p = argparse.ArgumentParser()
    p.add_argument("eval")
    p.add_argument("goldens")
    p.add_argument("--seq", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=1e-3)
    a = p.parse_args()
    got, want = read(a.eval), read(a.goldens)
    seq = "seq%d." % a.seq
    tokens_ok = got["greedy.tokens"][1] == want[seq + "greedy.tokens"][1]
    prefill = worst_row_error(got["prefill.logits"][0], got["prefill.logits"][1], want[seq + "prefill.logits"][1])
    steps = worst_row_error(got["greedy.step_logits"][0], got["greedy.step_logits"][1],
                            want[seq + "greedy.step_logits"][1])
    print("greedy tokens %s; logits relative error: prefill %.2e, decode %.2e (tolerance %.0e)" %
          ("agree" if tokens_ok else "DIFFER", prefill, steps, a.tolerance))
    sys.exit(0 if tokens_ok and max(prefill, steps) <= a.tolerance else 1)


if __name__ == "__main__":
    main()
