// sum = a + b (out0), normalized = RMSNorm(sum) (out1). One workgroup a row.
// Defines: WIDTH, EPS, NORM_BF16 (weight in w1).
void main() {
  const uint t = group_x();
  if (t >= rows_now()) return;
  const uint a = input_base(pc.in0, WIDTH, FLAG_IN0_LAST) + t * WIDTH;
  const uint b = input_base(pc.in1, WIDTH, FLAG_IN1_LAST) + t * WIDTH;
  const uint sum_base = output_base(pc.out0) + t * WIDTH;
  const uint norm_base = pc.out1 * step.tokens + t * WIDTH;
  float squares = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < WIDTH; i += WG) {
    const float s = arena[a + i] + arena[b + i];
    dst[sum_base + i] = s;
    squares += s * s;
  }
  const float inv = 1.0 / sqrt(workgroup_sum(squares) / float(WIDTH) + EPS);
  for (uint i = gl_LocalInvocationID.x; i < WIDTH; i += WG) {
    dst[norm_base + i] = norm_weight(i) * (dst[sum_base + i] * inv);
  }
}
