#include "backends/cpu/runtime/packing.h"

#include <cstring>

#include "backends/cpu/kernels/packed_layout.h"
#include "runtime/core/error.h"
#include "runtime/core/weight_format.h"

namespace qwen3c::cpu {

namespace {

// One matrix of `rows` x `in`, row-major in `bytes`, packed in place: a packed group holds
// exactly the bytes of its rows, so only one group's rows are copied aside at a time.
void pack_matrix(DType dtype, std::int64_t rows, std::int64_t in, std::uint8_t* bytes) {
  const std::int64_t row_bytes =
      dtype == DType::BF16 ? in * 2 : in / Q3_QBLOCK * static_cast<std::int64_t>(quant_block_bytes(dtype));
  std::vector<std::uint8_t> group_rows(static_cast<std::size_t>(q3k::kGroupRows * row_bytes));
  std::uint8_t* dst = bytes;
  for (std::int64_t g = 0; g * q3k::kGroupRows < rows; ++g) {
    const std::int64_t r = q3k::group_rows(g, rows), first = g * q3k::kGroupRows;
    std::memcpy(group_rows.data(), bytes + first * row_bytes, static_cast<std::size_t>(r * row_bytes));
    const std::uint8_t* src = group_rows.data();  // the group's rows, row-major
    if (dtype == DType::BF16) {
      // [K/2][r][2]
      std::uint8_t* out = dst + first * in * 2;
      for (std::int64_t kp = 0; kp < in / 2; ++kp) {
        for (std::int64_t row = 0; row < r; ++row) {
          std::memcpy(out + (kp * r + row) * 4, src + (row * in + 2 * kp) * 2, 4);
        }
      }
      continue;
    }
    const bool q8 = dtype == DType::Q8_0;
    const std::int64_t blocks = in / Q3_QBLOCK, src_block = static_cast<std::int64_t>(quant_block_bytes(dtype));
    const std::int64_t dst_block = q8 ? q3k::packed_block_bytes_q8_0(r) : q3k::packed_block_bytes_q4_0(r);
    std::uint8_t* out = dst + first * blocks * src_block;
    for (std::int64_t b = 0; b < blocks; ++b) {
      std::uint8_t* block = out + b * dst_block;
      for (std::int64_t row = 0; row < r; ++row) {
        const std::uint8_t* from = src + (row * blocks + b) * src_block;
        std::memcpy(block + row * 2, from, 2);  // the f16 scale
        std::uint8_t* values = block + r * 2;
        if (q8) {
          // [8][r][4] of q + 128
          for (int k = 0; k < Q3_QBLOCK; ++k) {
            values[((k / 4) * r + row) * 4 + k % 4] = static_cast<std::uint8_t>(static_cast<std::int8_t>(from[2 + k]) + 128);
          }
        } else {
          // [4][r][4] nibble pairs: input 4i + c low, 16 + 4i + c high (as stored: q + 8)
          weight_format::BlockQ4_0 q;
          std::memcpy(&q, from, sizeof q);
          for (int k = 0; k < Q3_QBLOCK / 2; ++k) {
            const int lo = weight_format::q4_0_value(q, k) + Q3_Q4_0_ZERO;
            const int hi = weight_format::q4_0_value(q, k + Q3_QBLOCK / 2) + Q3_Q4_0_ZERO;
            values[((k / 4) * r + row) * 4 + k % 4] = static_cast<std::uint8_t>(lo | (hi << 4));
          }
        }
      }
    }
  }
}

}  // namespace

bool is_packed_layout(const std::string& layout) { return layout.rfind("cpu.", 0) == 0; }

void pack_in_place(const std::string& layout, DType dtype, std::span<const std::int64_t> shape, std::uint8_t* bytes,
                   std::size_t size) {
  if (!is_packed_layout(layout)) return;  // the shared row-major layouts
  const bool halves = layout.size() > 2 && layout.substr(layout.size() - 2) == kPackedHalvesSuffix;
  const std::int64_t rows = shape[0], in = shape[1];
  if (halves) {
    pack_matrix(dtype, rows / 2, in, bytes);
    pack_matrix(dtype, rows / 2, in, bytes + size / 2);
  } else {
    pack_matrix(dtype, rows, in, bytes);
  }
}

std::vector<std::uint8_t> pack_weight(const std::string& layout, DType dtype, std::span<const std::int64_t> shape,
                                      std::vector<std::uint8_t> row_major) {
  pack_in_place(layout, dtype, shape, row_major.data(), row_major.size());
  return row_major;
}

}  // namespace qwen3c::cpu
