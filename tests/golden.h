#pragma once
// Reference outputs of the fixture models (tests/data/models/*/goldens.safetensors) and the
// comparisons every backend's golden tests use.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "frontend/safetensors.h"

namespace qwen3c::testing {

class Goldens {
 public:
  explicit Goldens(const std::string& path) : file_(path, /*allow_i64=*/true) {}
  bool has(const std::string& name) const { return file_.tensors().count(name) != 0; }
  std::vector<float> floats(const std::string& name) const;
  std::vector<std::int64_t> ints(const std::string& name) const;
  std::vector<std::int64_t> shape(const std::string& name) const;
  int sequences() const;

 private:
  SafetensorsFile file_;
};

// ||a - b|| / ||b||
double relative_error(const float* a, const float* b, std::size_t n);

inline double logsumexp(const float* x, std::size_t n) {
  double m = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) m = std::max<double>(m, x[i]);
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
  return m + std::log(s);
}

}  // namespace qwen3c::testing
