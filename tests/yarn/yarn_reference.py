#!/usr/bin/python3
"""YaRN rope scaling computed independently of qwen3c, with NumPy, from the definition in
the YaRN paper (Peng et al. 2023, section 3.2 "NTK-by-parts" + 3.4 attention scaling) as
Hugging Face transformers implements it for Qwen3 (_compute_yarn_parameters).

Writes JSON: for each case, the inverse frequencies in float64, the attention factor, and
rotated query vectors at positions past the original context, computed with the f32
arithmetic transformers uses (f32 frequencies and angles, cos/sin scaled in f32).
Usage: yarn_reference.py OUTPUT.json
"""
import json
import math
import sys

import numpy as np

CASES = [
    # Qwen's instructions for Qwen3 to 131,072 tokens.
    dict(name="qwen3_131k", head_dim=128, theta=1e6, factor=4.0, original=32768, beta_fast=32.0, beta_slow=1.0,
         truncate=True, positions=[0, 1, 1000, 4095]),
    # The 2507 base with a wider factor, exact (untruncated) ramp ends and other betas.
    dict(name="theta5e6_exact", head_dim=128, theta=5e6, factor=8.0, original=32768, beta_fast=16.0, beta_slow=2.0,
         truncate=False, positions=[0, 7, 2048]),
    # A short original context, so that small positions are far past it.
    dict(name="short_original", head_dim=64, theta=1e4, factor=4.0, original=256, beta_fast=32.0, beta_slow=1.0,
         truncate=True, positions=[0, 255, 256, 700, 1023]),
]


def correction_dim(rotations, dim, base, original):
    # The dimension whose wavelength fits `rotations` times into the original context.
    return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))


def yarn(case):
    dim, base, factor = case["head_dim"], case["theta"], case["factor"]
    low = correction_dim(case["beta_fast"], dim, base, case["original"])
    high = correction_dim(case["beta_slow"], dim, base, case["original"])
    if case["truncate"]:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    attention = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    i = np.arange(dim // 2, dtype=np.float64)
    kept = 1.0 / base ** (2 * i / dim)          # extrapolation: the original frequencies
    interpolated = kept / factor                # interpolation: positions squeezed by factor
    ramp = np.clip((i - low) / (high - low), 0.0, 1.0)
    inv_freq64 = interpolated * ramp + kept * (1.0 - ramp)

    # The same in f32, step by step as transformers does it.
    f = np.float32
    pos_freqs = f(base) ** (np.arange(0, dim, 2).astype(f) / f(dim))
    extrap32 = f(1.0) / pos_freqs
    interp32 = f(1.0) / (f(factor) * pos_freqs)
    ramp32 = np.clip((np.arange(dim // 2).astype(f) - f(low)) / f(high - low), f(0), f(1))
    keep32 = f(1) - ramp32
    inv_freq32 = interp32 * (f(1) - keep32) + extrap32 * keep32

    rng = np.random.default_rng(7)
    x = rng.standard_normal(dim).astype(np.float32)
    rotated = []
    for p in case["positions"]:
        angle = (f(p) * inv_freq32).astype(np.float64)
        c = (np.cos(angle).astype(f) * f(attention)).astype(np.float64)
        s = (np.sin(angle).astype(f) * f(attention)).astype(np.float64)
        x1, x2 = x[: dim // 2].astype(np.float64), x[dim // 2:].astype(np.float64)
        rotated.append(np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s]).tolist())
    return dict(case, inv_freq=inv_freq64.tolist(), attention_factor=attention, input=x.astype(np.float64).tolist(),
                rotated=rotated)


if __name__ == "__main__":
    with open(sys.argv[1], "w") as out:
        json.dump([yarn(c) for c in CASES], out)
