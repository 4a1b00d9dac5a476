// The fused attention prologue: per-head RMSNorm of q and k, RoPE on both (rotate-half
// form, angles from the step's table), q into out0, k and v into each row's place in the
// layer's cache (its sequence, its position). One workgroup a (row, head) with heads 0..HEADS-1 the queries and
// HEADS..HEADS+KV_HEADS-1 the key/value heads.
// Defines: HEAD_DIM, HEADS, KV_HEADS, EPS, NORM_BF16 (both norms' format), ROPE_HALF.
// q norm in w0, k norm in w1.
shared float head[HEAD_DIM];

float norm_weight_of(bool query, uint i) {
#if NORM_BF16
  return query ? bf16_bits(halfword0(i)) : bf16_bits(halfword1(i));
#else
  return uintBitsToFloat(query ? w0[i] : w1[i]);
#endif
}

void main() {
  const uint unit = group_x();
  const uint slots = HEADS + KV_HEADS;
  if (unit >= step.tokens * slots) return;
  const uint t = unit / slots, h = unit % slots;
  const bool query = h < HEADS;
  const uint kv_h = h - HEADS;
  const uint src = query ? input_base(pc.in0, HEADS * HEAD_DIM, 0u) + (t * HEADS + h) * HEAD_DIM
                         : input_base(pc.in1, KV_HEADS * HEAD_DIM, 0u) + (t * KV_HEADS + kv_h) * HEAD_DIM;
  float squares = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < HEAD_DIM; i += WG) {
    head[i] = arena[src + i];
    squares += head[i] * head[i];
  }
  const float inv = 1.0 / sqrt(workgroup_sum(squares) / float(HEAD_DIM) + EPS);
  for (uint i = gl_LocalInvocationID.x; i < HEAD_DIM; i += WG) head[i] = norm_weight_of(query, i) * (head[i] * inv);
  barrier();

  const uint cos_base = rope_table() + t * ROPE_HALF;
  const uint sin_base = cos_base + step.capacity * ROPE_HALF;
  const uint cache_at = cache_row(t, KV_HEADS * HEAD_DIM) + kv_h * HEAD_DIM;
  const uint out_base = output_base(pc.out0) + (t * HEADS + h) * HEAD_DIM;
  for (uint i = gl_LocalInvocationID.x; i < HEAD_DIM / 2u; i += WG) {
    const float c = uintBitsToFloat(step.data[cos_base + i]);
    const float s = uintBitsToFloat(step.data[sin_base + i]);
    const float x1 = head[i], x2 = head[i + HEAD_DIM / 2u];
    const float r1 = x1 * c - x2 * s, r2 = x2 * c + x1 * s;
    if (query) {
      dst[out_base + i] = r1;
      dst[out_base + i + HEAD_DIM / 2u] = r2;
    } else {
#if KV_TYPE == 3
      head[i] = r1;  // this thread alone reads and writes elements i and i + HEAD_DIM / 2
      head[i + HEAD_DIM / 2u] = r2;
#else
      k_store(cache_at + i, r1);
      k_store(cache_at + i + HEAD_DIM / 2u, r2);
#endif
    }
  }
  if (!query) {
    const uint v = input_base(pc.in2, KV_HEADS * HEAD_DIM, 0u) + (t * KV_HEADS + kv_h) * HEAD_DIM;
#if KV_TYPE == 3
    barrier();  // the rotated key, whole, before its blocks are quantised (query is uniform)
    for (uint b = gl_LocalInvocationID.x; b < HEAD_DIM / 32u; b += WG) {  // a thread a block
      float x[32];
      for (uint i = 0u; i < 32u; ++i) x[i] = head[32u * b + i];
      k_store_block(cache_at + 32u * b, x);
      for (uint i = 0u; i < 32u; ++i) x[i] = arena[v + 32u * b + i];
      v_store_block(cache_at + 32u * b, x);
    }
#else
    for (uint i = gl_LocalInvocationID.x; i < HEAD_DIM; i += WG) v_store(cache_at + i, arena[v + i]);
#endif
  }
}
