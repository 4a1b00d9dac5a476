// dst = a + b, a * b, or silu(a), element by element. Defines: WIDTH, OP_ADD | OP_MUL | OP_SILU.
void main() {
  const uint i = group_x() * WG + gl_LocalInvocationID.x;
  if (i >= rows_now() * WIDTH) return;
  const float a = arena[input_base(pc.in0, WIDTH, FLAG_IN0_LAST) + i];
#if OP_SILU
  dst[output_base(pc.out0) + i] = a / (1.0 + exp(-a));
#else
  const float b = arena[input_base(pc.in1, WIDTH, FLAG_IN1_LAST) + i];
#if OP_ADD
  dst[output_base(pc.out0) + i] = a + b;
#else
  dst[output_base(pc.out0) + i] = a * b;
#endif
#endif
}
