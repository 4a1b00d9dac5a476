// The amx tier's matrix products (kernels/packed_matmul.cpp with kernels/amx_tiles.h) on
// machines without AMX: the kernels are compiled here with the tile instructions emulated in
// plain C++ (Q3_AMX_EMULATE), everything else as the amx tier compiles it, and checked
// against a direct computation with the same activation rounding. This tests the tiles'
// addressing (which rows, which strides, which tile holds what); the instructions themselves
// run only where the CPU has AMX (then the kernel reference tests cover the amx tier too).
// Also how the streamed products share their rows between threads, and the activations'
// rounding. Needs AVX-512 BF16 and VNNI, as the amx tier does around its tiles.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "backends/cpu/kernels/kernel_entry_points.h"
#include "backends/cpu/runtime/packing.h"
#include "runtime/core/half.h"
#include "runtime/core/quantization.h"
#include "runtime/core/weight_format.h"
#include "tests/golden.h"

extern "C" {
extern const int32_t q3k_target_prefers_bf16_dot = 0;
extern const int32_t q3k_target_prefetches_to_l2 = 1;
}
using Product = decltype(&q3k_packed_linear_bf16);  // every packed product has its signature
using Product3 = decltype(&q3k_packed_linear3_bf16);  // three matrices of one input

namespace qwen3c {
namespace {

using testing::relative_error;

struct Case {
  const char* name;
  DType dtype;
  bool gated;
  Product fn;
  Product3 fn3 = nullptr;  // plain products: the three-matrix form
};

// The weights as the kernels see them (dequantised) and as they are stored (packed).
struct Weights {
  std::vector<float> values;  // [rows][in]
  std::vector<std::uint8_t> packed;
};

Weights make_weights(DType dtype, std::int64_t rows, std::int64_t in, bool gated) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Weights w;
  w.values.resize(rows * in);
  for (float& v : w.values) v = u(rng) / std::sqrt(static_cast<float>(in));
  std::vector<std::uint8_t> row_major;
  if (dtype == DType::BF16) {
    row_major.resize(rows * in * 2);
    for (std::int64_t i = 0; i < rows * in; ++i) {
      const std::uint16_t h = f32_to_bf16(w.values[i]);
      w.values[i] = bf16_to_f32(h);
      std::memcpy(row_major.data() + 2 * i, &h, 2);
    }
  } else {
    const std::int64_t row_bytes = in / 32 * static_cast<std::int64_t>(quant_block_bytes(dtype));
    row_major.resize(rows * row_bytes);
    for (std::int64_t r = 0; r < rows; ++r) {
      quantize_row(dtype, w.values.data() + r * in, in, row_major.data() + r * row_bytes);
      dequantize_row(dtype, row_major.data() + r * row_bytes, in, w.values.data() + r * in);
    }
  }
  const std::vector<std::int64_t> shape = {rows, in};
  const std::string layout = std::string(dtype == DType::BF16 ? cpu::kPackedLayout : cpu::kPackedBlockLayout) +
                             (gated ? cpu::kPackedHalvesSuffix : "");
  w.packed = cpu::pack_weight(layout, dtype, shape, row_major);
  return w;
}

// The activations as --precision fast rounds them for `dtype`'s products.
std::vector<float> rounded(const std::vector<float>& x, DType dtype) {
  std::vector<float> r = x;
  if (dtype == DType::BF16) {
    for (float& v : r) v = bf16_to_f32(f32_to_bf16(v));
  } else {
    weight_format::ActivationBlock block;
    for (std::size_t b = 0; b < r.size(); b += 32) {
      weight_format::quantize_activations_q8(x.data() + b, &block);
      for (int i = 0; i < 32; ++i) r[b + i] = block.q[i] * block.scale;
    }
  }
  return r;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class AmxKernels : public ::testing::TestWithParam<Case> {};

TEST_P(AmxKernels, TilesMatchTheDirectProduct) {
  if (!__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512vnni")) {
    GTEST_SKIP() << "the emulated amx tier needs AVX-512 BF16 and VNNI around its tiles; this machine lacks them";
  }
  const Case c = GetParam();
  // 48 tokens: one 32-token block in tiles, 16 through the vector path; 3 groups of the
  // matrix (plain: a pair in tiles, one alone); 96 inputs (3 blocks, 3 bf16 tile steps).
  const std::int64_t tokens = 48, in = 96, out = 48, rows = c.gated ? 2 * out : out;
  const Weights w = make_weights(c.dtype, rows, in, c.gated);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> x(tokens * in);
  for (float& v : x) v = u(rng);
  const std::vector<float> xr = rounded(x, c.dtype);
  std::vector<float> expected(tokens * out);
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t n = 0; n < out; ++n) {
      auto dot = [&](std::int64_t row) {
        double s = 0;
        for (std::int64_t k = 0; k < in; ++k) s += static_cast<double>(xr[t * in + k]) * w.values[row * in + k];
        return s;
      };
      if (c.gated) {
        const double g = dot(n), up = dot(out + n);
        expected[t * out + n] = static_cast<float>(g / (1 + std::exp(-g)) * up);
      } else {
        expected[t * out + n] = static_cast<float>(dot(n));
      }
    }
  }
  std::vector<float> ours(tokens * out, NAN), scratch(tokens * (3 * in + 64));
  for (int thread = 0; thread < 2; ++thread) {  // each thread's share of the groups
    c.fn(x.data(), w.packed.data(), tokens, in, out, /*fast=*/1, scratch.data(), ours.data(), thread, 2, nullptr);
  }
  EXPECT_LE(relative_error(ours.data(), expected.data(), ours.size()), 1e-5) << c.name;
  for (std::int64_t t : {0L, 31L, 32L, 47L}) {  // tiles and the vector path both wrote
    EXPECT_NEAR(ours[t * out + 17], expected[t * out + 17], 1e-4 * (1 + std::fabs(expected[t * out + 17])))
        << c.name << " token " << t;
  }
}

// Streamed products (under 32 tokens: decode, batched or not) hand out their groups of rows
// through a counter the threads share (packed_matmul.cpp, Claims). Whoever claims what,
// every group is computed once, by the same tiles, so the bits are those of fixed shares:
// with two threads racing, and with one thread taking everything before the other arrives.
TEST_P(AmxKernels, ClaimedGroupsGiveTheBitsOfFixedShares) {
  if (!__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512vnni")) {
    GTEST_SKIP() << "the kernels here are compiled for AVX-512 BF16 and VNNI; this machine lacks them";
  }
  const Case c = GetParam();
  // 600 outputs: 37 whole groups of 16 and a short one of 8.
  const std::int64_t in = 96, out = 600, rows = c.gated ? 2 * out : out;
  const Weights w = make_weights(c.dtype, rows, in, c.gated);
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (const std::int64_t tokens : {1L, 8L, 13L}) {
    std::vector<float> x(tokens * in);
    for (float& v : x) v = u(rng);
    const std::size_t scratch_floats = tokens * (3 * in + 64);
    std::vector<float> fixed(tokens * out, NAN), scratch(2 * scratch_floats);
    c.fn(x.data(), w.packed.data(), tokens, in, out, /*fast=*/1, scratch.data(), fixed.data(), 0, 1, nullptr);

    std::vector<float> raced(tokens * out, NAN);
    std::int64_t claimed = 0;
    std::thread other([&] {
      c.fn(x.data(), w.packed.data(), tokens, in, out, 1, scratch.data() + scratch_floats, raced.data(), 1, 2, &claimed);
    });
    c.fn(x.data(), w.packed.data(), tokens, in, out, 1, scratch.data(), raced.data(), 0, 2, &claimed);
    other.join();
    EXPECT_EQ(std::memcmp(raced.data(), fixed.data(), fixed.size() * sizeof(float)), 0) << c.name << ", " << tokens << " tokens, raced";
    EXPECT_GE(claimed, (out + 15) / 16) << c.name;

    std::vector<float> alone(tokens * out, NAN);
    claimed = 0;
    c.fn(x.data(), w.packed.data(), tokens, in, out, 1, scratch.data(), alone.data(), 0, 2, &claimed);
    EXPECT_EQ(std::memcmp(alone.data(), fixed.data(), fixed.size() * sizeof(float)), 0) << c.name << ", " << tokens << " tokens, first thread alone";
    std::fill(alone.begin(), alone.end(), NAN);
    c.fn(x.data(), w.packed.data(), tokens, in, out, 1, scratch.data(), alone.data(), 1, 2, &claimed);
    EXPECT_TRUE(std::all_of(alone.begin(), alone.end(), [](float v) { return std::isnan(v); }))
        << c.name << ": the late thread found groups left to claim";
  }
}

// Batched decode (8 to 31 tokens) runs 8-token tiles (for q4_0 on AVX-512 VNNI, in
// assembly: kernels/q4_tile_8x2_avx512.h); decode runs one token a tile. Each computes the
// same operations on each value in the same order, so a step of 8 or 11 tokens gives each
// token the bits it gets alone. Inputs of 2560 (Qwen3-4B's), so a group's weights outrun the
// lines asked for ahead and those requests move on to the next tile's groups partway.
TEST_P(AmxKernels, BatchedDecodeTilesGiveTheBitsOfOneTokenAtATime) {
  if (!__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512vnni")) {
    GTEST_SKIP() << "the kernels here are compiled for AVX-512 BF16 and VNNI; this machine lacks them";
  }
  const Case c = GetParam();
  // 200 outputs: 12 whole groups of 16 and a short one of 8.
  const std::int64_t in = 2560, out = 200, rows = c.gated ? 2 * out : out;
  const Weights w = make_weights(c.dtype, rows, in, c.gated);
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (const std::int64_t tokens : {8L, 11L}) {
    std::vector<float> x(tokens * in);
    for (float& v : x) v = u(rng);
    std::vector<float> together(tokens * out, NAN), scratch(tokens * (3 * in + 64));
    c.fn(x.data(), w.packed.data(), tokens, in, out, /*fast=*/1, scratch.data(), together.data(), 0, 1, nullptr);
    for (std::int64_t t = 0; t < tokens; ++t) {
      std::vector<float> alone(out, NAN);
      c.fn(x.data() + t * in, w.packed.data(), 1, in, out, 1, scratch.data(), alone.data(), 0, 1, nullptr);
      EXPECT_EQ(std::memcmp(alone.data(), together.data() + t * out, out * sizeof(float)), 0)
          << c.name << ", token " << t << " of " << tokens;
    }
  }
}

// A layer's q, k and v projections run as one call (compiler/lowering.cpp): the threads'
// claims span the three matrices, pieces may straddle two, and each group's sums must be
// the bits of the three products run alone with the same threads, for decode, batched
// decode and prefill steps. (Prefill keeps fixed shares, and the amx tier puts only whole
// group pairs in tiles, so there one thread's bits and two's may differ.)
TEST_P(AmxKernels, ThreeMatricesOfOneInputGiveTheBitsOfEachAlone) {
  if (!__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512vnni")) {
    GTEST_SKIP() << "the kernels here are compiled for AVX-512 BF16 and VNNI; this machine lacks them";
  }
  const Case c = GetParam();
  if (c.fn3 == nullptr) GTEST_SKIP() << c.name << " has no three-matrix form";
  // 37 groups and a short one of 8; 2 and a half; one short group alone.
  const std::int64_t in = 96, rows[3] = {600, 40, 8};
  std::vector<Weights> w;
  for (const std::int64_t r : rows) w.push_back(make_weights(c.dtype, r, in, false));
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (const std::int64_t tokens : {1L, 8L, 13L, 40L}) {
    std::vector<float> x(tokens * in);
    for (float& v : x) v = u(rng);
    const std::size_t scratch_floats = tokens * (3 * in + 64);
    std::vector<float> scratch(2 * scratch_floats);
    std::vector<float> alone[2][3], together[3];  // alone[threads - 1]
    for (int i = 0; i < 3; ++i) {
      for (std::int64_t threads : {1, 2}) {
        std::vector<float>& a = alone[threads - 1][i];
        a.assign(tokens * rows[i], NAN);
        for (std::int64_t t = 0; t < threads; ++t) {
          c.fn(x.data(), w[i].packed.data(), tokens, in, rows[i], 1, scratch.data(), a.data(), t, threads, nullptr);
        }
      }
    }
    auto run = [&](std::int64_t thread, std::int64_t threads, std::int64_t* claimed) {
      c.fn3(x.data(), w[0].packed.data(), w[1].packed.data(), w[2].packed.data(), tokens, in, rows[0], rows[1],
            rows[2], 1, scratch.data() + thread * scratch_floats, together[0].data(), together[1].data(),
            together[2].data(), thread, threads, claimed);
    };
    auto check = [&](const char* how, int threads) {
      for (int i = 0; i < 3; ++i) {
        const std::vector<float>& a = alone[threads - 1][i];
        EXPECT_EQ(std::memcmp(together[i].data(), a.data(), a.size() * sizeof(float)), 0)
            << c.name << ", " << tokens << " tokens, " << how << ", matrix " << i;
        together[i].assign(tokens * rows[i], NAN);
      }
    };
    for (int i = 0; i < 3; ++i) together[i].assign(tokens * rows[i], NAN);
    std::int64_t claimed = 0;
    std::thread other([&] { run(1, 2, &claimed); });
    run(0, 2, &claimed);
    other.join();
    check("two threads racing", 2);
    run(0, 1, nullptr);
    check("one thread", 1);
    run(0, 2, nullptr);
    run(1, 2, nullptr);
    check("fixed shares of two", 2);
  }
}

// The kernels quantise activations in vectors (packed_matmul.cpp, quantize_block); the
// reference evaluator and llama.cpp round with weight_format::quantize_activations_q8. They
// must give the same bytes: with a one-hot q8_0 weight row r (q = 127 at input r), output r
// is exactly float(127 q_r) x (weight scale x activation scale). Ties (x / scale = k + 0.5)
// round to even; 1, 4 and 8 tokens take the decode, 4-token and batched-decode tiles.
TEST(ActivationRounding, KernelsRoundAsTheReference) {
  if (!__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512vnni")) {
    GTEST_SKIP() << "the emulated amx tier needs AVX-512 BF16 and VNNI; this machine lacks them";
  }
  const std::int64_t in = 96, out = 96;
  std::vector<float> one_hot(out * in, 0.0f);
  for (std::int64_t r = 0; r < out; ++r) one_hot[r * in + r] = 1.0f;
  const std::int64_t row_bytes = in / 32 * static_cast<std::int64_t>(quant_block_bytes(DType::Q8_0));
  std::vector<std::uint8_t> row_major(out * row_bytes);
  std::vector<float> dequantised(out * in);
  for (std::int64_t r = 0; r < out; ++r) {
    quantize_row(DType::Q8_0, one_hot.data() + r * in, in, row_major.data() + r * row_bytes);
    dequantize_row(DType::Q8_0, row_major.data() + r * row_bytes, in, dequantised.data() + r * in);
  }
  const std::vector<std::int64_t> shape = {out, in};
  const std::vector<std::uint8_t> packed = cpu::pack_weight(cpu::kPackedBlockLayout, DType::Q8_0, shape, row_major);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (const std::int64_t tokens : {1L, 4L, 8L}) {
    std::vector<float> x(tokens * in);
    for (float& v : x) v = u(rng);
    for (std::int64_t b = 0; b < tokens * in; b += 32) {  // amax 127: scale 1, and halves to round
      x[b] = 127.0f;
      x[b + 1] = 2.5f, x[b + 2] = 3.5f, x[b + 3] = -2.5f, x[b + 4] = -0.5f, x[b + 5] = 0.5f;
    }
    x[in] = 0.0f;  // a block of tiny values beside a zero
    for (std::int64_t k = 1; k < 32 && in + k < tokens * in; ++k) x[in + k] = 1e-30f * k;
    std::vector<float> ours(tokens * out, NAN), scratch(tokens * (3 * in + 64));
    q3k_packed_linear_q8_0(x.data(), packed.data(), tokens, in, out, /*fast=*/1, scratch.data(), ours.data(), 0, 1, nullptr);
    for (std::int64_t t = 0; t < tokens; ++t) {
      for (std::int64_t r = 0; r < out; ++r) {
        weight_format::ActivationBlock block;
        weight_format::quantize_activations_q8(x.data() + t * in + r / 32 * 32, &block);
        const float weight_scale = dequantised[r * in + r] / 127.0f;
        const float expected = static_cast<float>(127 * block.q[r % 32]) * (weight_scale * block.scale);
        ASSERT_EQ(ours[t * out + r], expected) << "tokens " << tokens << ", token " << t << ", input " << r;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, AmxKernels,
                         ::testing::Values(Case{"linear_bf16", DType::BF16, false, q3k_packed_linear_bf16,
                                                q3k_packed_linear3_bf16},
                                           Case{"linear_q8_0", DType::Q8_0, false, q3k_packed_linear_q8_0,
                                                q3k_packed_linear3_q8_0},
                                           Case{"linear_q4_0", DType::Q4_0, false, q3k_packed_linear_q4_0,
                                                q3k_packed_linear3_q4_0},
                                           Case{"swiglu_bf16", DType::BF16, true, q3k_packed_swiglu_bf16},
                                           Case{"swiglu_q8_0", DType::Q8_0, true, q3k_packed_swiglu_q8_0},
                                           Case{"swiglu_q4_0", DType::Q4_0, true, q3k_packed_swiglu_q4_0}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace qwen3c
