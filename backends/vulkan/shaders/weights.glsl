// Eight consecutive elements (k .. k+7, k a multiple of 8) of row `row` of the weight
// matrix in w0, [rows, K], in the format the compiler chose (FORMAT_*).
// The quantised formats are runtime/core/weight_format.h's (included before this file):
// q8_0 blocks read as half-words (the f16 scale, then 16 pairs of int8), q4_0 blocks as
// half-words too (the scale, then 8 pairs of bytes of nibbles).
const uint Q8_0_HALFWORDS = Q3_Q8_0_BLOCK_BYTES / 2;
const uint Q4_0_HALFWORDS = Q3_Q4_0_BLOCK_BYTES / 2;
const uint QBLOCK = Q3_QBLOCK;
void weight8(uint row, uint k, out float w[8]) {
#if FORMAT_F32
  uint i = row * K + k;
  for (uint e = 0u; e < 8u; ++e) w[e] = (k + e < K) ? uintBitsToFloat(w0[i + e]) : 0.0;
#elif FORMAT_BF16
#if K % 8 == 0
  uint i = (row * K + k) >> 1;
  for (uint e = 0u; e < 4u; ++e) {
    uint word = w0[i + e];
    w[2u * e] = uintBitsToFloat(word << 16);
    w[2u * e + 1u] = uintBitsToFloat(word & 0xffff0000u);
  }
#else
  uint i = row * K + k;
  for (uint e = 0u; e < 8u; ++e) w[e] = (k + e < K) ? bf16_bits(halfword0(i + e)) : 0.0;
#endif
#elif FORMAT_Q8_0
  uint block = row * (K / QBLOCK) + k / QBLOCK;
  uint h = block * Q8_0_HALFWORDS;
  float scale = f16_bits(halfword0(h));
  uint first = h + 1u + (k % QBLOCK) / 2u;
  for (uint p = 0u; p < 4u; ++p) {
    uint pair = halfword0(first + p);
    w[2u * p] = scale * float(bitfieldExtract(int(pair), 0, 8));
    w[2u * p + 1u] = scale * float(bitfieldExtract(int(pair), 8, 8));
  }
#elif FORMAT_Q4_0
  uint block = row * (K / QBLOCK) + k / QBLOCK;
  uint h = block * Q4_0_HALFWORDS;
  float scale = f16_bits(halfword0(h));
  uint sub = (k % QBLOCK) / 8u;              // 0, 1: low nibbles; 2, 3: high nibbles
  uint first = h + 1u + (sub & 1u) * 4u;     // bytes (sub & 1) * 8 .. + 7
  uint shift = (sub >> 1) * 4u;
  for (uint p = 0u; p < 4u; ++p) {
    uint pair = halfword0(first + p);
    w[2u * p] = scale * float(int((pair >> shift) & 15u) - Q3_Q4_0_ZERO);
    w[2u * p + 1u] = scale * float(int((pair >> (8u + shift)) & 15u) - Q3_Q4_0_ZERO);
  }
#else
#error "no FORMAT_* defined"
#endif
}

// Element k of row `row`.
float weight1(uint row, uint k) {
  float w[8];
  weight8(row, k & ~7u, w);
  return w[k & 7u];
}
