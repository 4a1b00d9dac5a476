// dst = norm_weight * x / sqrt(mean(x^2) + EPS) over units of WIDTH floats: a token row, or
// one head of it (head norms). One workgroup a unit. Defines: WIDTH, UNITS (a row), EPS,
// NORM_BF16 (the weight is in w1).
void main() {
  const uint u = group_x();
  if (u >= rows_now() * UNITS) return;
  const uint in_base = input_base(pc.in0, WIDTH * UNITS, FLAG_IN0_LAST) + u * WIDTH;
  const uint out_base = output_base(pc.out0) + u * WIDTH;
  float squares = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < WIDTH; i += WG) squares += arena[in_base + i] * arena[in_base + i];
  const float inv = 1.0 / sqrt(workgroup_sum(squares) / float(WIDTH) + EPS);
  for (uint i = gl_LocalInvocationID.x; i < WIDTH; i += WG) {
    dst[out_base + i] = norm_weight(i) * (arena[in_base + i] * inv);
  }
}
