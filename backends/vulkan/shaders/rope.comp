// RoPE on its own (the unfused graph): rotate-half form over every head of a row, angles from
// the step's table. One workgroup a (row, head). Defines: HEAD_DIM, UNITS (heads a row),
// ROPE_HALF.
void main() {
  const uint u = group_x();
  if (u >= step.tokens * UNITS) return;
  const uint t = u / UNITS;
  const uint src = input_base(pc.in0, UNITS * HEAD_DIM, 0u) + u * HEAD_DIM;
  const uint out_base = output_base(pc.out0) + u * HEAD_DIM;
  const uint cos_base = rope_table() + t * ROPE_HALF;
  const uint sin_base = cos_base + step.capacity * ROPE_HALF;
  for (uint i = gl_LocalInvocationID.x; i < HEAD_DIM / 2u; i += WG) {
    const float c = uintBitsToFloat(step.data[cos_base + i]);
    const float s = uintBitsToFloat(step.data[sin_base + i]);
    const float x1 = arena[src + i], x2 = arena[src + i + HEAD_DIM / 2u];
    dst[out_base + i] = x1 * c - x2 * s;
    dst[out_base + i + HEAD_DIM / 2u] = x2 * c + x1 * s;
  }
}
