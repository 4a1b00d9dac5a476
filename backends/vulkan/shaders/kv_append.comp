// Copies this step's keys (in1) and values (in2) into the layer's cache, each row at its
// sequence's position
// (the unfused graph's attention does this first). One workgroup a row. Defines: KV_DIM.
void main() {
  const uint t = group_x();
  if (t >= step.tokens) return;
  const uint k = input_base(pc.in1, KV_DIM, 0u) + t * KV_DIM;
  const uint v = input_base(pc.in2, KV_DIM, 0u) + t * KV_DIM;
  const uint row = cache_row(t, KV_DIM);
  for (uint i = gl_LocalInvocationID.x; i < KV_DIM; i += WG) {
    k_store(row + i, arena[k + i]);
    v_store(row + i, arena[v + i]);
  }
}
