// Causal grouped-query attention over the cache, split-K: workgroup (row t, head h, split s)
// runs an online softmax over keys [s * split, (s + 1) * split) of the ones row t sees
// (positions 0..position_of(t) of its sequence), WG keys at a time (one score a thread, then the weighted values with one
// output dimension a thread), and leaves (max, sum, unnormalised output) in `partials`;
// attention_reduce.comp combines the splits. Decode uses many splits (the context spread
// over the GPU); prefill one split a (row, head).
// Defines: HEAD_DIM, HEADS, KV_HEADS, SCALE.
#define DIMS_PER_THREAD ((HEAD_DIM + WG - 1) / WG)
shared float query[HEAD_DIM];
shared float probs[WG];

void main() {
  const uint unit = group_x();
  if (unit >= step.tokens * HEADS) return;
  const uint t = unit / HEADS, h = unit % HEADS;
  const uint s = gl_WorkGroupID.y;
  const uint kv_dim = KV_HEADS * HEAD_DIM;
  const uint kv_offset = (h / (HEADS / KV_HEADS)) * HEAD_DIM;
  const uint visible = position_of(t) + 1u;
  const uint sequence = slot_of(t) * step.context * kv_dim;
  const uint first = s * step.split;
  const uint last = min(visible, first + step.split);

  const uint q = input_base(pc.in0, HEADS * HEAD_DIM, 0u) + unit * HEAD_DIM;
  for (uint i = gl_LocalInvocationID.x; i < HEAD_DIM; i += WG) query[i] = arena[q + i];
  barrier();

  float running_max = -1.0 / 0.0;
  float running_sum = 0.0;
  float acc[DIMS_PER_THREAD];
  for (uint d = 0u; d < DIMS_PER_THREAD; ++d) acc[d] = 0.0;
  for (uint base = first; base < last; base += WG) {
    const uint j = base + gl_LocalInvocationID.x;
    float score = -1.0 / 0.0;
    if (j < last) {
      const uint key = sequence + j * kv_dim + kv_offset;
      score = 0.0;
      for (uint d = 0u; d < HEAD_DIM; ++d) score += query[d] * k_load(key + d);
      score *= SCALE;
    }
    const float new_max = max(running_max, workgroup_max(score));
    const float p = j < last ? exp(score - new_max) : 0.0;
    probs[gl_LocalInvocationID.x] = p;
    const float correction = exp(running_max - new_max);
    running_sum = running_sum * correction + workgroup_sum(p);  // workgroup_sum's barrier publishes probs
    running_max = new_max;
    const uint count = min(uint(WG), last - base);
    for (uint d = 0u; d < DIMS_PER_THREAD; ++d) {
      const uint dim = gl_LocalInvocationID.x + d * WG;
      if (dim >= HEAD_DIM) continue;
      float a = acc[d] * correction;
      for (uint jj = 0u; jj < count; ++jj) a += probs[jj] * v_load(sequence + (base + jj) * kv_dim + kv_offset + dim);
      acc[d] = a;
    }
    barrier();  // probs is rewritten by the next block
  }
  const uint slot = (unit * step.splits + s) * (HEAD_DIM + 2u);
  if (gl_LocalInvocationID.x == 0u) {
    partials[slot] = running_max;
    partials[slot + 1u] = running_sum;
  }
  for (uint d = 0u; d < DIMS_PER_THREAD; ++d) {
    const uint dim = gl_LocalInvocationID.x + d * WG;
    if (dim < HEAD_DIM) partials[slot + 2u + dim] = acc[d];
  }
}
