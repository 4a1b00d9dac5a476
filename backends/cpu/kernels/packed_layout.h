#pragma once
// The CPU backend's packed matrix layouts, shared by the packer (compiler/packing.cpp) and
// the kernels. Output rows go in groups of 16 (the lanes of a 512-bit f32 vector); the last
// group of a matrix may be shorter (r rows). Within a group, data is ordered so that one
// vector load gives 16 rows' worth of the next few inputs:
//
//   bf16  "cpu.n16k2":  [K/2][r][2] bf16: for each pair of inputs (k, k+1), every row's
//                       two weights side by side: the B operand of vdpbf16ps and of an AMX
//                       tdpbf16ps as is. K must be even.
//   q8_0  "cpu.n16b32": per block of 32 inputs: r f16 scales, then [8][r][4] bytes: for
//                       inputs 4j..4j+3, every row's four values as unsigned q + 128 (the
//                       unsigned operand of vpdpbusd).
//   q4_0  "cpu.n16b32": per block: r f16 scales, then [4][r][4] bytes: byte (i, row, c)
//                       holds input 4i + c of the row in its low nibble and input 16 + 4i + c
//                       in its high nibble, each as unsigned q + 8.
//
// A SwiGLU weight ([gate; up], 2I rows) is packed as two matrices of I rows one after the
// other ("cpu.n16x2"), so gate group g and up group g line up whatever I is. Every layout
// holds exactly the bytes of the row-major tensor, in another order.

#include <stdint.h>

namespace q3k {

constexpr int64_t kGroupRows = 16;

// Bytes of one packed group of `rows` rows and `in` inputs.
inline int64_t packed_group_bytes_bf16(int64_t rows, int64_t in) { return rows * in * 2; }
inline int64_t packed_block_bytes_q8_0(int64_t rows) { return rows * (2 + 32); }
inline int64_t packed_block_bytes_q4_0(int64_t rows) { return rows * (2 + 16); }

// Where group g of a matrix of `rows` x `in` starts, for a format's bytes per (row, input).
// Groups are whole but for the last, so every group before g has 16 rows.
inline int64_t packed_group_offset(int64_t g, int64_t in_bytes_per_row) { return g * kGroupRows * in_bytes_per_row; }

inline int64_t group_rows(int64_t g, int64_t rows) {
  const int64_t left = rows - g * kGroupRows;
  return left < kGroupRows ? left : kGroupRows;
}

}  // namespace q3k
