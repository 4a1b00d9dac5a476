#include "tests/accuracy.h"

#include <algorithm>
#include <cmath>

#include "tests/golden.h"

namespace qwen3c::testing {

std::vector<float> all_logits(const std::shared_ptr<Model>& m, const std::vector<std::int64_t>& ids) {
  Session s(m, static_cast<std::int64_t>(ids.size()));
  return s.forward(ids, /*all_logits=*/true);
}

Accuracy compare(const std::vector<float>& q, const std::vector<float>& ref, std::int64_t vocab) {
  Accuracy a;
  a.relative_error = relative_error(q.data(), ref.data(), q.size());
  const std::size_t rows = q.size() / vocab;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = q.data() + r * vocab;
    const float* y = ref.data() + r * vocab;
    a.top1_agreement += (std::max_element(x, x + vocab) - x) == (std::max_element(y, y + vocab) - y);
    const double lx = logsumexp(x, vocab), ly = logsumexp(y, vocab);
    double kl = 0;
    for (std::int64_t i = 0; i < vocab; ++i) {
      const double py = std::exp(y[i] - ly);
      kl += py * ((y[i] - ly) - (x[i] - lx));
    }
    a.mean_kl += kl;
  }
  a.top1_agreement /= rows;
  a.mean_kl /= rows;
  return a;
}

}  // namespace qwen3c::testing
