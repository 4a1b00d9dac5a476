// dst[t, :] = W[ids[t], :] (dequantised). One workgroup a token row. A table larger than
// one binding may span is bound a slice of rows [row_base, row_end) at a time, each
// dispatch copying the tokens whose rows it holds.
// Defines: K (row width), FORMAT_*.
void main() {
  const uint t = group_x();
  if (t >= step.tokens) return;
  const uint id = token_id(t);
  if (id < pc.row_base || id >= pc.row_end) return;
  const uint row = id - pc.row_base;
  const uint out_base = output_base(pc.out0) + t * K;
  for (uint c = gl_LocalInvocationID.x; c * 8u < K; c += WG) {
    float w[8];
    weight8(row, c * 8u, w);
    for (uint e = 0u; e < 8u; ++e) {
      if (c * 8u + e < K) dst[out_base + c * 8u + e] = w[e];
    }
  }
}
