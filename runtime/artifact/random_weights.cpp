#include "runtime/artifact/random_weights.h"

#include <cmath>
#include <cstring>
#include <thread>

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/core/model_config.h"
#include "runtime/core/quantization.h"

namespace qwen3c {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t hash_name(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool is_norm(const std::string& name) { return name.find("norm") != std::string::npos; }

}  // namespace

void fill_random_weights(const std::string& name, DType dtype,
                         const std::vector<std::int64_t>& shape, std::uint64_t seed, void* dst) {
  if (dtype != DType::BF16 && dtype != DType::F32 && !is_quantized(dtype)) {
    throw Error("random weights: tensor '" + name + "' must be BF16, F32, Q8_0 or Q4_0");
  }
  const std::int64_t n = element_count(shape);
  const bool norm = is_norm(name);
  const std::int64_t fan_in = shape.empty() ? 1 : shape.back();
  // Uniform on [-a, a] has standard deviation a / sqrt(3).
  const float amplitude = norm ? 0.1f : std::sqrt(3.0f / static_cast<float>(fan_in));
  const float center = norm ? 1.0f : 0.0f;
  const std::uint64_t stream = splitmix64(seed ^ hash_name(name));
  auto value = [&](std::int64_t i) {
    const std::uint64_t bits = splitmix64(stream + static_cast<std::uint64_t>(i));
    const float unit = static_cast<float>(bits >> 40) * (2.0f / 16777216.0f) - 1.0f;  // [-1, 1)
    return center + amplitude * unit;
  };

  // Work is split by rows (quantised rows are the unit of their layout).
  const std::int64_t row = shape.empty() ? 1 : shape.back();
  const std::int64_t rows = row > 0 ? n / row : 0;
  auto fill = [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> values(is_quantized(dtype) ? static_cast<std::size_t>(row) : 0);
    for (std::int64_t r = begin; r < end; ++r) {
      if (is_quantized(dtype)) {
        for (std::int64_t c = 0; c < row; ++c) values[c] = value(r * row + c);
        quantize_row(dtype, values.data(), static_cast<std::size_t>(row),
                     static_cast<std::uint8_t*>(dst) + r * tensor_bytes(dtype, {1, row}));
      } else {
        for (std::int64_t i = r * row; i < (r + 1) * row; ++i) {
          if (dtype == DType::F32) static_cast<float*>(dst)[i] = value(i);
          else static_cast<std::uint16_t*>(dst)[i] = f32_to_bf16(value(i));
        }
      }
    }
  };
  const unsigned threads = n > (1 << 22) ? std::max(1u, std::thread::hardware_concurrency()) : 1u;
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(fill, rows * t / threads, rows * (t + 1) / threads);
  fill(0, rows / threads);
  for (auto& th : pool) th.join();
}

}  // namespace qwen3c
