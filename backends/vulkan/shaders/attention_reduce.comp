// Combines attention.comp's splits of one (row, head): out = sum_s e^(m_s - M) acc_s /
// sum_s e^(m_s - M) l_s. Defines: HEAD_DIM, HEADS.
void main() {
  const uint unit = group_x();
  if (unit >= step.tokens * HEADS) return;
  const uint first = unit * step.splits * (HEAD_DIM + 2u);
  float m = -1.0 / 0.0;
  for (uint s = 0u; s < step.splits; ++s) m = max(m, partials[first + s * (HEAD_DIM + 2u)]);
  float total = 0.0;
  for (uint s = 0u; s < step.splits; ++s) {
    const uint slot = first + s * (HEAD_DIM + 2u);
    if (partials[slot + 1u] > 0.0) total += exp(partials[slot] - m) * partials[slot + 1u];
  }
  const uint out_base = output_base(pc.out0) + unit * HEAD_DIM;
  for (uint i = gl_LocalInvocationID.x; i < HEAD_DIM; i += WG) {
    float v = 0.0;
    for (uint s = 0u; s < step.splits; ++s) {
      const uint slot = first + s * (HEAD_DIM + 2u);
      if (partials[slot + 1u] > 0.0) v += exp(partials[slot] - m) * partials[slot + 2u + i];
    }
    dst[out_base + i] = v / total;
  }
}
