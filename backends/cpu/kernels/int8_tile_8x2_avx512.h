// The 8-token x 2-group tiles of batched decode for q4_0 and q8_0 weights with int8
// activations (issue #12: a step of eight sequences is bound by their arithmetic),
// scheduled by hand for AVX-512 VNNI.
//
// Why assembly: for each block of 32 inputs the tile does 128 vpdpbusd, 16 scale multiplies
// and 16 FMAs, all on the two pipes that multiply, so 80 cycles at best. clang keeps the
// 16 int32 sums and the 16 f32 sums in 32 registers plus the weights and the broadcast, so
// it spills, and runs about 99 cycles a block (in L1); written in C++ as two passes of four
// tokens it was slower still. Two passes of four tokens with every sum in a register, in
// this order, ran 87.4 cycles (BENCHMARKS.md, "What bounds the 8-token q4_0 tile").
//
// Same operations as tile_quant_int8 (packed_tiles.h) on each value: the sums start at the
// block's -zero point x activation sum, take 8 vpdpbusd, and go into the f32 sums as
// fma(float(sum), weight scale x activation scale, acc). So the same bits. q8_0 is the same
// loop with its values loaded as they are stored (no nibbles) and 544-byte blocks.
//
// Registers: zmm0-7 a pass's int32 sums (token i: zmm 2i, 2i+1 for groups 0, 1), zmm8-9 the
// groups' unpacked values, zmm10 the activation broadcast, zmm11 the low-nibble mask,
// zmm12-13 the groups' scales, zmm14 scale products, zmm16-31 the f32 sums (token m, group
// g: zmm 16 + 2m + g). rsi, rdx: the groups' blocks; r8, r9: tokens 0 and 4's activation
// blocks, r10 / r11 one / three tokens' stride; r12, r13: tokens 0 and 4's sum starts,
// r14 / r15 their strides; rcx blocks left; rax and rbx how far ahead each weight line is
// asked for into L1 and L2 (0: not asked).
//
// Part of packed_matmul.cpp's translation unit, for tiers with AVX-512 VNNI.
#pragma once

#if defined(__AVX512VNNI__)

#include <stddef.h>

namespace {

struct Int8Tile8x2 {
  const uint8_t* w0;          //  0: group 0's first block
  const uint8_t* w1;          //  8: group 1's
  const ActivationBlock* x;   // 16: token 0's first block
  int64_t x_stride;           // 24: bytes from one token's block to the next token's
  const int32_t* starts;      // 32: token 0's first sum start
  int64_t starts_stride;      // 40
  int64_t blocks;             // 48: blocks to do, > 0
  int64_t ahead_l1;           // 56: bytes ahead each weight line is asked for into L1 (0: none)
  int64_t ahead_l2;           // 64: ... into L2 (0: none)
  f32x16* acc;                // 72: [8][2]
  uint32_t low_nibbles;       // 80: 0x0f0f0f0f
  // Where the lines asked for ahead pass the groups' end: with this many blocks left, each
  // distance grows by its redirection (to the next tile's groups). Inside the loop, so the
  // tile is one run: stopping to change the distances stores and reloads the 16 sums.
  int64_t l2_switch_left;     // 88
  int64_t l1_switch_left;     // 96
  int64_t l2_redirect;        // 104
  int64_t l1_redirect;        // 112
};

// Token i (0-3) of a pass from its first token's register X: X, X + s, X + 2s, X + 3s.
#define Q3_TOKEN_0(X, S, S3) "(" X ")"
#define Q3_TOKEN_1(X, S, S3) "(" X "," S ")"
#define Q3_TOKEN_2(X, S, S3) "(" X "," S ",2)"
#define Q3_TOKEN_3(X, S, S3) "(" X "," S3 ")"
#define Q3_BLOCK(X, i) Q3_TOKEN_##i(X, "%%r10", "%%r11")
#define Q3_START(X, i) Q3_TOKEN_##i(X, "%%r14", "%%r15")

// Token i's sums start at its block's -zero point x activation sum (prepared_activations.h).
#define Q3_SUMS_START(SX, i, s0, s1)                     \
  "vpbroadcastd " Q3_START(SX, i) ", %%zmm" #s0 "\n\t" \
  "vpbroadcastd " Q3_START(SX, i) ", %%zmm" #s1 "\n\t"
// Inputs 4j..4j+3 of token i into both groups' sums.
#define Q3_DOTS(j, X, i, s0, s1)                                        \
  "vpbroadcastd " #j "*4" Q3_BLOCK(X, i) ", %%zmm10\n\t"              \
  "vpdpbusd %%zmm10, %%zmm8, %%zmm" #s0 "\n\t"                          \
  "vpdpbusd %%zmm10, %%zmm9, %%zmm" #s1 "\n\t"
// Stored group j (0-3) holds inputs 4j.. in its low nibbles and 16 + 4j.. in its high.
#define Q3_LOW_VALUES(j)                                   \
  "vpandd " #j "*64+32(%%rsi), %%zmm11, %%zmm8\n\t"        \
  "vpandd " #j "*64+32(%%rdx), %%zmm11, %%zmm9\n\t"
// q8_0: stored group j (0-7) as it is.
#define Q3_Q8_LOW_VALUES(j)                                \
  "vmovdqu32 " #j "*64+32(%%rsi), %%zmm8\n\t"             \
  "vmovdqu32 " #j "*64+32(%%rdx), %%zmm9\n\t"
#define Q3_Q8_HIGH_VALUES(j)                               \
  "vmovdqu32 " #j "*64+256+32(%%rsi), %%zmm8\n\t"         \
  "vmovdqu32 " #j "*64+256+32(%%rdx), %%zmm9\n\t"
#define Q3_HIGH_VALUES(j)                                  \
  "vpsrld $4, " #j "*64+32(%%rsi), %%zmm8\n\t"             \
  "vpandd %%zmm11, %%zmm8, %%zmm8\n\t"                     \
  "vpsrld $4, " #j "*64+32(%%rdx), %%zmm9\n\t"             \
  "vpandd %%zmm11, %%zmm9, %%zmm9\n\t"
#define Q3_STEP(VALUES, j, J, X) \
  VALUES(j) Q3_DOTS(J, X, 0, 0, 1) Q3_DOTS(J, X, 1, 2, 3) Q3_DOTS(J, X, 2, 4, 5) Q3_DOTS(J, X, 3, 6, 7)
// Token i's block into its f32 sums a0, a1: fma(float(sum), weight scale x its scale, acc).
#define Q3_INTO_ACC(X, i, s0, s1, a0, a1)                                   \
  "vcvtdq2ps %%zmm" #s0 ", %%zmm" #s0 "\n\t"                                \
  "vmulps 32" Q3_BLOCK(X, i) "%{1to16%}, %%zmm12, %%zmm14\n\t"             \
  "vfmadd231ps %%zmm14, %%zmm" #s0 ", %%zmm" #a0 "\n\t"                     \
  "vcvtdq2ps %%zmm" #s1 ", %%zmm" #s1 "\n\t"                                \
  "vmulps 32" Q3_BLOCK(X, i) "%{1to16%}, %%zmm13, %%zmm14\n\t"             \
  "vfmadd231ps %%zmm14, %%zmm" #s1 ", %%zmm" #a1 "\n\t"
// Four tokens (first block X, first start SX; f32 sums from zmm a0) over the block; LOW(j)
// and HIGH(j) load inputs 4j.. and 16 + 4j.. of both groups into zmm8, zmm9.
#define Q3_PASS(LOW, HIGH, X, SX, a0, a1, a2, a3, a4, a5, a6, a7)                              \
  Q3_SUMS_START(SX, 0, 0, 1) Q3_SUMS_START(SX, 1, 2, 3) Q3_SUMS_START(SX, 2, 4, 5)            \
  Q3_SUMS_START(SX, 3, 6, 7)                                                                  \
  Q3_STEP(LOW, 0, 0, X) Q3_STEP(LOW, 1, 1, X) Q3_STEP(LOW, 2, 2, X) Q3_STEP(LOW, 3, 3, X)     \
  Q3_STEP(HIGH, 0, 4, X) Q3_STEP(HIGH, 1, 5, X) Q3_STEP(HIGH, 2, 6, X) Q3_STEP(HIGH, 3, 7, X) \
  Q3_INTO_ACC(X, 0, 0, 1, a0, a1) Q3_INTO_ACC(X, 1, 2, 3, a2, a3) Q3_INTO_ACC(X, 2, 4, 5, a4, a5) \
  Q3_INTO_ACC(X, 3, 6, 7, a6, a7)
// A q4_0 block's 288 bytes (5 lines) of group `W`, asked for `D` bytes ahead; q8_0's 544 (9).
#define Q3_ASK_AHEAD_Q4(HINT, W, D)                                                         \
  HINT " (" W "," D ")\n\t" HINT " 64(" W "," D ")\n\t" HINT " 128(" W "," D ")\n\t"     \
  HINT " 192(" W "," D ")\n\t" HINT " 256(" W "," D ")\n\t"
#define Q3_ASK_AHEAD_Q8(HINT, W, D)                                                         \
  Q3_ASK_AHEAD_Q4(HINT, W, D) HINT " 320(" W "," D ")\n\t" HINT " 384(" W "," D ")\n\t"  \
  HINT " 448(" W "," D ")\n\t" HINT " 512(" W "," D ")\n\t"

// The whole tile: a block's loop over `Int8Tile8x2` (at rdi), for weights of BYTES a block.
#define Q3_TILE(LOW, HIGH, ASK, BYTES)                                                                   \
      "mov 0(%%rdi), %%rsi\n\t"                                                                          \
      "mov 8(%%rdi), %%rdx\n\t"                                                                          \
      "mov 16(%%rdi), %%r8\n\t"                                                                          \
      "mov 24(%%rdi), %%r10\n\t"                                                                         \
      "lea (%%r10,%%r10,2), %%r11\n\t"                                                                   \
      "lea (%%r8,%%r10,4), %%r9\n\t"                                                                     \
      "mov 32(%%rdi), %%r12\n\t"                                                                         \
      "mov 40(%%rdi), %%r14\n\t"                                                                         \
      "lea (%%r14,%%r14,2), %%r15\n\t"                                                                   \
      "lea (%%r12,%%r14,4), %%r13\n\t"                                                                   \
      "mov 48(%%rdi), %%rcx\n\t"                                                                         \
      "mov 72(%%rdi), %%rax\n\t"                                                                         \
      "vmovups 0(%%rax), %%zmm16\n\t vmovups 64(%%rax), %%zmm17\n\t vmovups 128(%%rax), %%zmm18\n\t"     \
      "vmovups 192(%%rax), %%zmm19\n\t vmovups 256(%%rax), %%zmm20\n\t vmovups 320(%%rax), %%zmm21\n\t"  \
      "vmovups 384(%%rax), %%zmm22\n\t vmovups 448(%%rax), %%zmm23\n\t vmovups 512(%%rax), %%zmm24\n\t"  \
      "vmovups 576(%%rax), %%zmm25\n\t vmovups 640(%%rax), %%zmm26\n\t vmovups 704(%%rax), %%zmm27\n\t"  \
      "vmovups 768(%%rax), %%zmm28\n\t vmovups 832(%%rax), %%zmm29\n\t vmovups 896(%%rax), %%zmm30\n\t"  \
      "vmovups 960(%%rax), %%zmm31\n\t"                                                                  \
      "vpbroadcastd 80(%%rdi), %%zmm11\n\t"                                                              \
      "mov 56(%%rdi), %%rax\n\t"                                                                         \
      "mov 64(%%rdi), %%rbx\n\t"                                                                         \
      "1:\n\t"                                                                                           \
      "cmp 88(%%rdi), %%rcx\n\t"                                                                         \
      "jne 4f\n\t"                                                                                       \
      "add 104(%%rdi), %%rbx\n\t"                                                                        \
      "4:\n\t"                                                                                           \
      "cmp 96(%%rdi), %%rcx\n\t"                                                                         \
      "jne 5f\n\t"                                                                                       \
      "add 112(%%rdi), %%rax\n\t"                                                                        \
      "5:\n\t"                                                                                           \
      "test %%rax, %%rax\n\t"                                                                            \
      "jz 2f\n\t"                                                                                        \
      ASK("prefetcht0", "%%rsi", "%%rax") ASK("prefetcht0", "%%rdx", "%%rax")                            \
      "2:\n\t"                                                                                           \
      "test %%rbx, %%rbx\n\t"                                                                            \
      "jz 3f\n\t"                                                                                        \
      ASK("prefetcht1", "%%rsi", "%%rbx") ASK("prefetcht1", "%%rdx", "%%rbx")                            \
      "3:\n\t"                                                                                           \
      "vcvtph2ps (%%rsi), %%zmm12\n\t"                                                                   \
      "vcvtph2ps (%%rdx), %%zmm13\n\t"                                                                   \
      Q3_PASS(LOW, HIGH, "%%r8", "%%r12", 16, 17, 18, 19, 20, 21, 22, 23)                                \
      Q3_PASS(LOW, HIGH, "%%r9", "%%r13", 24, 25, 26, 27, 28, 29, 30, 31)                                \
      "add $" BYTES ", %%rsi\n\t"                                                                        \
      "add $" BYTES ", %%rdx\n\t"                                                                        \
      "add $40, %%r8\n\t"                                                                                \
      "add $40, %%r9\n\t"                                                                                \
      "add $4, %%r12\n\t"                                                                                \
      "add $4, %%r13\n\t"                                                                                \
      "dec %%rcx\n\t"                                                                                    \
      "jnz 1b\n\t"                                                                                       \
      "mov 72(%%rdi), %%rax\n\t"                                                                         \
      "vmovups %%zmm16, 0(%%rax)\n\t vmovups %%zmm17, 64(%%rax)\n\t vmovups %%zmm18, 128(%%rax)\n\t"     \
      "vmovups %%zmm19, 192(%%rax)\n\t vmovups %%zmm20, 256(%%rax)\n\t vmovups %%zmm21, 320(%%rax)\n\t"  \
      "vmovups %%zmm22, 384(%%rax)\n\t vmovups %%zmm23, 448(%%rax)\n\t vmovups %%zmm24, 512(%%rax)\n\t"  \
      "vmovups %%zmm25, 576(%%rax)\n\t vmovups %%zmm26, 640(%%rax)\n\t vmovups %%zmm27, 704(%%rax)\n\t"  \
      "vmovups %%zmm28, 768(%%rax)\n\t vmovups %%zmm29, 832(%%rax)\n\t vmovups %%zmm30, 896(%%rax)\n\t"  \
      "vmovups %%zmm31, 960(%%rax)\n\t"

#define Q3_TILE_CLOBBERS                                                                                        \
  "rax", "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory", "cc", "xmm0",  \
      "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",  \
      "xmm14", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", \
      "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"

template <bool Q4>
inline void int8_tile_8x2(const Int8Tile8x2& t) {
  static_assert(sizeof(ActivationBlock) == 40 && offsetof(ActivationBlock, scale) == 32);
  // The offsets the assembly reads its fields at.
  static_assert(offsetof(Int8Tile8x2, ahead_l1) == 56 && offsetof(Int8Tile8x2, acc) == 72 &&
                offsetof(Int8Tile8x2, low_nibbles) == 80 && offsetof(Int8Tile8x2, l2_switch_left) == 88 &&
                offsetof(Int8Tile8x2, l1_switch_left) == 96 && offsetof(Int8Tile8x2, l2_redirect) == 104 &&
                offsetof(Int8Tile8x2, l1_redirect) == 112);
  static_assert(kBlock == 32);
  if constexpr (Q4) {
    __asm__ volatile(Q3_TILE(Q3_LOW_VALUES, Q3_HIGH_VALUES, Q3_ASK_AHEAD_Q4, "288") : : "D"(&t) : Q3_TILE_CLOBBERS);
  } else {
    __asm__ volatile(Q3_TILE(Q3_Q8_LOW_VALUES, Q3_Q8_HIGH_VALUES, Q3_ASK_AHEAD_Q8, "544") : : "D"(&t) : Q3_TILE_CLOBBERS);
  }
}

#undef Q3_TOKEN_0
#undef Q3_TOKEN_1
#undef Q3_TOKEN_2
#undef Q3_TOKEN_3
#undef Q3_BLOCK
#undef Q3_START
#undef Q3_SUMS_START
#undef Q3_DOTS
#undef Q3_LOW_VALUES
#undef Q3_HIGH_VALUES
#undef Q3_STEP
#undef Q3_INTO_ACC
#undef Q3_PASS
#undef Q3_ASK_AHEAD_Q4
#undef Q3_ASK_AHEAD_Q8
#undef Q3_Q8_LOW_VALUES
#undef Q3_Q8_HIGH_VALUES
#undef Q3_TILE
#undef Q3_TILE_CLOBBERS

// acc += tokens [t0, t0 + 8) . the two whole groups w over inputs [k0, k1), each weight line
// asked for ahead as tile_quant_int8 asks (past a group's end: the next tile's group).
template <bool Q4>
inline void int8_tile_8x2(const Activations& a, int64_t t0, const uint8_t* const* w, const Streams& s, int64_t k0,
                          int64_t k1, f32x16 acc[8][2]) {
  // A block of 16 rows: 16 f16 scales and the values (also the assembly's BYTES).
  constexpr int64_t kBytes = Q4 ? 288 : 544;
  static_assert(kBytes == (Q4 ? Q3_Q4_0_BLOCK_BYTES : Q3_Q8_0_BLOCK_BYTES) * G);
  const int64_t blocks = a.in / kBlock;
  const int64_t first = k0 / kBlock, end = k1 / kBlock;
  Int8Tile8x2 t{};
  t.x_stride = blocks * static_cast<int64_t>(sizeof(ActivationBlock));
  t.starts_stride = blocks * static_cast<int64_t>(sizeof(int32_t));
  t.acc = &acc[0][0];
  t.low_nibbles = 0x0f0f0f0fu;
  t.w0 = w[0] + first * kBytes;
  t.w1 = w[1] + first * kBytes;
  t.x = a.blocks + t0 * blocks + first;
  t.starts = a.sum_starts + t0 * blocks + first;
  t.blocks = end - first;
  if (t.blocks <= 0) return;
  if (!a.stream) return int8_tile_8x2<Q4>(t);  // nothing asked for ahead; no switch (0 left never comes)
  // The same time ahead for both formats: a q8_0 block is 544 bytes to q4_0's 288 for the
  // same arithmetic, so its lines are asked for twice the bytes ahead. Qwen3-4B's q8_0
  // output projection in a step of eight (2 threads, AMD Zen 5, four alternated --profile
  // rounds): 9.75 -> 8.62 ms (BENCHMARKS.md).
  t.ahead_l1 = Q4 ? kPrefetchBytes : 2 * kPrefetchBytes;
  t.ahead_l2 = q3k_target_prefetches_to_l2 != 0 ? 4 * kPrefetchBytes : 0;
  const int64_t redirect = s.next_tile - s.group_bytes;
  // No next tile known, or it is the groups right after these (a SwiGLU tile's): the
  // distances lead on into it as they are (no switch).
  if (s.next_tile == 0 || redirect == 0) return int8_tile_8x2<Q4>(t);
  // The first block whose lines a distance asks for lie past the group's end: from there on
  // the distance leads into the next tile's group (Streams::ahead, to the block), so it
  // switches with `end - that block` blocks left (0: never, the loop ends first).
  auto switch_left = [&](int64_t distance) {
    int64_t b = (s.group_bytes - distance + kBytes - 1) / kBytes;
    b = b < first ? first : (b > end ? end : b);
    return end - b;
  };
  t.l1_switch_left = switch_left(t.ahead_l1);
  t.l1_redirect = redirect;
  if (t.ahead_l2 != 0) {
    t.l2_switch_left = switch_left(t.ahead_l2);
    t.l2_redirect = redirect;
  }
  int8_tile_8x2<Q4>(t);
}

}  // namespace

#endif  // __AVX512VNNI__
