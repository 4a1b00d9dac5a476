// Eight consecutive elements (k .. k+7, k a multiple of 8) of row `row` of the weight
// matrix in w0, [rows, K], in the format the compiler chose (FORMAT_*).
// q8_0: blocks of 32 as 17 half-words (f16 scale, 16 pairs of int8).
// q4_0: blocks of 32 as 9 half-words (f16 scale, 16 bytes; byte j holds element j in its
// low nibble and element j + 16 in its high nibble, each stored as q + 8).
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
  uint block = row * (K / 32u) + k / 32u;
  uint h = block * 17u;
  float scale = f16_bits(halfword0(h));
  uint first = h + 1u + (k % 32u) / 2u;
  for (uint p = 0u; p < 4u; ++p) {
    uint pair = halfword0(first + p);
    w[2u * p] = scale * float(bitfieldExtract(int(pair), 0, 8));
    w[2u * p + 1u] = scale * float(bitfieldExtract(int(pair), 8, 8));
  }
#elif FORMAT_Q4_0
  uint block = row * (K / 32u) + k / 32u;
  uint h = block * 9u;
  float scale = f16_bits(halfword0(h));
  uint sub = (k % 32u) / 8u;                 // 0, 1: low nibbles; 2, 3: high nibbles
  uint first = h + 1u + (sub & 1u) * 4u;     // bytes (sub & 1) * 8 .. + 7
  uint shift = (sub >> 1) * 4u;
  for (uint p = 0u; p < 4u; ++p) {
    uint pair = halfword0(first + p);
    w[2u * p] = scale * (float((pair >> shift) & 15u) - 8.0);
    w[2u * p + 1u] = scale * (float((pair >> (8u + shift)) & 15u) - 8.0);
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
