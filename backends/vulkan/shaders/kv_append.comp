// Copies this step's keys (in1) and values (in2) into the layer's cache, each row at its
// sequence's position
// (the unfused graph's attention does this first). One workgroup a row. Defines: KV_DIM.
void main() {
  const uint t = group_x();
  if (t >= step.tokens) return;
  const uint k = input_base(pc.in1, KV_DIM, 0u) + t * KV_DIM;
  const uint v = input_base(pc.in2, KV_DIM, 0u) + t * KV_DIM;
  const uint row = cache_row(t, KV_DIM);
#if KV_TYPE == 3
  for (uint b = gl_LocalInvocationID.x; b < KV_DIM / 32u; b += WG) {  // a thread a block
    float x[32];
    for (uint i = 0u; i < 32u; ++i) x[i] = arena[k + 32u * b + i];
    k_store_block(row + 32u * b, x);
    for (uint i = 0u; i < 32u; ++i) x[i] = arena[v + 32u * b + i];
    v_store_block(row + 32u * b, x);
  }
#else
  for (uint i = gl_LocalInvocationID.x; i < KV_DIM; i += WG) {
    k_store(row + i, arena[k + i]);
    v_store(row + i, arena[v + i]);
  }
#endif
}
