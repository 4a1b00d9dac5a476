// Greedy decoding on the device: the index of the largest logit of the step's last logit
// row (the lowest index among equals, as the host's sampler picks), written as a 32-bit
// word just past the logit rows the logits buffer holds: dst[logit_capacity * VOCAB]. The host
// then reads back one word instead of a row of logits. One workgroup. Defines: VOCAB.
layout(std430, set = 0, binding = 6) buffer DestinationWords { uint dst_words[]; };
shared float best_values[WG];
shared uint best_indices[WG];

void main() {
  const uint row = (step.logit_rows - 1u) * VOCAB;
  float best = -1.0 / 0.0;
  uint index = 0xffffffffu;
  for (uint i = gl_LocalInvocationID.x; i < VOCAB; i += WG) {
    const float v = dst[row + i];
    if (v > best || index == 0xffffffffu) {  // increasing i: the first maximum is kept
      best = v;
      index = i;
    }
  }
  const float m = subgroupMax(best);
  const uint first = subgroupMin(best == m ? index : 0xffffffffu);
  if (subgroupElect()) {
    best_values[gl_SubgroupID] = m;
    best_indices[gl_SubgroupID] = first;
  }
  barrier();
  if (gl_LocalInvocationID.x == 0u) {
    float top = best_values[0];
    uint at = best_indices[0];
    for (uint s = 1u; s < gl_NumSubgroups; ++s) {
      if (best_values[s] > top || (best_values[s] == top && best_indices[s] < at)) {
        top = best_values[s];
        at = best_indices[s];
      }
    }
    dst_words[step.logit_capacity * VOCAB] = at;
  }
}
