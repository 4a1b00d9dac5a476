// y[t, n] = x[t, :] . W[n, :] for NR output rows and NT token rows a workgroup: each weight
// element is read once for NT tokens (decode: one token, a matrix-vector product; prefill:
// a register-blocked GEMM). Threads stride over K eight elements at a time; the partial sums
// meet through subgroup reductions.
//   NORM:   x is first RMS-normalised with the norm weight in w1 (the norm of x is
//           computed here, the scale applied to the dot products: one pass over x).
//   SWIGLU: W stacks gate [N, K] over up [N, K]; y = silu(gate . x) * (up . x).
// Short rows (K / 8 < WG) leave threads idle, so the workgroup is cut into WG / LANES
// groups of LANES threads, each group computing its own NR rows.
// A weight larger than one binding may span is bound a slice of rows at a time: this
// dispatch computes rows [row_base, row_end) with w0 holding just those.
// Defines: K, N, NR, NT, LANES, FORMAT_*, [NORM, NORM_BF16, EPS], [SWIGLU].
#if SWIGLU
#define WROWS (2 * NR)
#else
#define WROWS NR
#endif
#define SUMS (NT * WROWS + NT)
#define CHUNKS ((K + 7u) / 8u)

#define GROUPS (WG / LANES)

shared float sums[SUMS][WG];

void main() {
  const uint lane = gl_LocalInvocationID.x % LANES;
  const uint end = pc.row_end;
  const uint n0 = pc.row_base + (group_x() * GROUPS + gl_LocalInvocationID.x / LANES) * NR;
  const uint rows = rows_now();
  const uint t0 = gl_WorkGroupID.y * NT;
  if (pc.row_base + group_x() * GROUPS * NR >= end || t0 >= rows) return;  // the whole workgroup
  const uint nt = min(NT, rows - t0);
  const uint x0 = input_base(pc.in0, K, FLAG_IN0_LAST) + t0 * K;

  float acc[NT][WROWS];
  float squares[NT];
  for (uint t = 0u; t < NT; ++t) {
    squares[t] = 0.0;
    for (uint r = 0u; r < WROWS; ++r) acc[t][r] = 0.0;
  }
  for (uint c = lane; c < (n0 < end ? CHUNKS : 0u); c += LANES) {
    const uint k = c * 8u;
    float x[NT][8];
    for (uint t = 0u; t < NT; ++t) {
      for (uint e = 0u; e < 8u; ++e) {
        float v = (t < nt && k + e < K) ? arena[x0 + t * K + k + e] : 0.0;
#if NORM
        squares[t] += v * v;
        if (k + e < K) v *= norm_weight(k + e);
#endif
        x[t][e] = v;
      }
    }
    for (uint r = 0u; r < WROWS; ++r) {
#if SWIGLU
      const uint row = r < NR ? n0 + r : N + n0 + r - NR;  // never sliced (row_base 0)
      if (n0 + r % NR >= end) continue;
#else
      const uint row = n0 + r;
      if (row >= end) continue;
#endif
      float w[8];
      weight8(row - pc.row_base, k, w);
      for (uint t = 0u; t < NT; ++t) {
        float s = 0.0;
        for (uint e = 0u; e < 8u; ++e) s += x[t][e] * w[e];
        acc[t][r] += s;
      }
    }
  }

#if LANES < WG
  // Each group's lanes meet in shared memory; its first lane finishes its rows.
  for (uint t = 0u; t < NT; ++t) {
    for (uint r = 0u; r < WROWS; ++r) sums[t * WROWS + r][gl_LocalInvocationID.x] = acc[t][r];
    sums[NT * WROWS + t][gl_LocalInvocationID.x] = squares[t];
  }
  barrier();
  if (lane != 0u || n0 >= end) return;
  const uint first_lane = gl_LocalInvocationID.x;
  for (uint i = 0u; i < NT * NR; ++i) {
    const uint t = i / NR, r = i % NR;
    const uint count = LANES;
#else
  // Reduce every accumulator over the workgroup: subgroups first, then their slots.
  for (uint t = 0u; t < NT; ++t) {
    for (uint r = 0u; r < WROWS; ++r) {
      float v = subgroupAdd(acc[t][r]);
      if (subgroupElect()) sums[t * WROWS + r][gl_SubgroupID] = v;
    }
    float q = subgroupAdd(squares[t]);
    if (subgroupElect()) sums[NT * WROWS + t][gl_SubgroupID] = q;
  }
  barrier();
  const uint first_lane = 0u;
  for (uint i = gl_LocalInvocationID.x; i < NT * NR; i += WG) {
    const uint t = i / NR, r = i % NR;
    const uint count = gl_NumSubgroups;
#endif
    if (t >= nt || n0 + r >= end) continue;
    float dot = 0.0;
#if SWIGLU
    float up = 0.0;
    for (uint s = first_lane; s < first_lane + count; ++s) {
      dot += sums[t * WROWS + r][s];
      up += sums[t * WROWS + NR + r][s];
    }
#else
    for (uint s = first_lane; s < first_lane + count; ++s) dot += sums[t * WROWS + r][s];
#endif
#if NORM
    float squares_total = 0.0;
    for (uint s = first_lane; s < first_lane + count; ++s) squares_total += sums[NT * WROWS + t][s];
    dot *= 1.0 / sqrt(squares_total / float(K) + EPS);
#if SWIGLU
    up *= 1.0 / sqrt(squares_total / float(K) + EPS);
#endif
#endif
#if SWIGLU
    dot = dot / (1.0 + exp(-dot)) * up;
#endif
    dst[output_base(pc.out0) + (t0 + t) * N + n0 + r] = dot;
  }
}
