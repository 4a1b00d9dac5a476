// dst[t, :] = W[ids[t], :] (dequantised). One workgroup a token row.
// Defines: K (row width), FORMAT_*.
void main() {
  const uint t = group_x();
  if (t >= step.tokens) return;
  const uint row = token_id(t);
  const uint out_base = output_base(pc.out0) + t * K;
  for (uint c = gl_LocalInvocationID.x; c * 8u < K; c += WG) {
    float w[8];
    weight8(row, c * 8u, w);
    for (uint e = 0u; e < 8u; ++e) {
      if (c * 8u + e < K) dst[out_base + c * 8u + e] = w[e];
    }
  }
}
