#!/usr/bin/env python3
"""Sums `qwen3c bench --profile-calls` by kind of matrix (q, k, v, o, gate/up, down, output).

    qwen3c bench MODEL.q3c -p 0 -n 64 -r 1 --profile-calls 2> calls.txt
    scripts/profile-by-matrix.py calls.txt

For each decode table in the file: each kind's read rate (weight bytes over its calls' time)
and that rate over the output projection's, measured in the same steps, so the ratios hold
while a VM's bandwidth moves from minute to minute (BENCHMARKS.md). Layer 0 is left out: its
first products start cold after the embedding lookup.
"""
import collections
import re
import sys

CALL = re.compile(r"^ +(\d+)  (\S+) +(.+?) +([0-9.]+) +([0-9.]+|-) +([0-9.]+|-)$")
KINDS = ["q_proj", "k_proj", "v_proj", "qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
# q, k and v read by one call (the CPU backend's linear3 kernels), or by three: their sum.
ATTENTION_INPUTS = ["q_proj", "k_proj", "v_proj", "qkv_proj"]


def kind(weights):
    names = weights.split()
    if names == ["embed_tokens"] or names == ["lm_head"]:
        return "output"
    if len(names) == 3 and all(n.endswith(k) for n, k in zip(names, KINDS)):
        return None if names[0].startswith("layers.0.") else "qkv_proj"
    for k in KINDS:
        if any(n.endswith(k) and not n.startswith("layers.0.") for n in names):
            return k
    return None


def report(title, calls):
    totals = collections.defaultdict(lambda: [0.0, 0.0])  # microseconds, megabytes
    step = sum(us for _, us, _ in calls)
    for weights, us, mb in calls:
        k = kind(weights)
        if k is not None and mb is not None:
            totals[k][0] += us
            totals[k][1] += mb
    if "output" not in totals:
        return
    reference = totals["output"][1] / totals["output"][0]
    print(title)
    print(f"  {'matrix':<14} {'GB/s':>8} {'of output':>10} {'of the step':>12}")
    for k in KINDS + ["output"]:
        if k in totals:
            us, mb = totals[k]
            print(f"  {k:<14} {mb / us * 1e3:8.2f} {mb / us / reference:10.2f} {100 * us / step:11.1f}%")
    us = sum(totals[k][0] for k in ATTENTION_INPUTS if k in totals)
    mb = sum(totals[k][1] for k in ATTENTION_INPUTS if k in totals)
    if us > 0:
        print(f"  {'q, k and v':<14} {mb / us * 1e3:8.2f} {mb / us / reference:10.2f} {100 * us / step:11.1f}%")


def main():
    title, calls = None, []
    for line in open(sys.argv[1]):
        if line.startswith("profile of "):
            if title:
                report(title, calls)
            title, calls = line.strip(), []
            continue
        m = CALL.match(line)
        if m and title:
            mb = None if m.group(5) == "-" else float(m.group(5))
            calls.append((m.group(3), float(m.group(4)), mb))
    if title:
        report(title, calls)


if __name__ == "__main__":
    main()
