#include "tests/golden.h"

#include <cstring>
#include <stdexcept>

namespace qwen3c::testing {

std::vector<float> Goldens::floats(const std::string& name) const {
  const TensorView& t = file_.tensors().at(name);
  if (t.dtype != DType::F32) throw std::runtime_error(name + " is not F32");
  std::vector<float> v(t.bytes.size() / 4);
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

std::vector<std::int64_t> Goldens::ints(const std::string& name) const {
  const TensorView& t = file_.tensors().at(name);
  if (t.dtype != DType::I64) throw std::runtime_error(name + " is not I64");
  std::vector<std::int64_t> v(t.bytes.size() / 8);
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

std::vector<std::int64_t> Goldens::shape(const std::string& name) const {
  return file_.tensors().at(name).shape;
}

int Goldens::sequences() const {
  int n = 0;
  while (has("seq" + std::to_string(n) + ".input_ids")) ++n;
  return n;
}

double relative_error(const float* a, const float* b, std::size_t n) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < n; ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

}  // namespace qwen3c::testing
