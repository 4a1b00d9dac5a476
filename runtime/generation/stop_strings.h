#pragma once
// Stop strings for streamed generation: text is emitted only once it cannot be the start
// of a stop string, and generation ends before the first one.

#include <algorithm>
#include <string>
#include <vector>

namespace qwen3c {

// Holds back text that might be the start of a stop string until it is known not to be.
class StopStringFilter {
 public:
  explicit StopStringFilter(const std::vector<std::string>& stops) : stops_(stops) {}

  // Returns the text that is safe to emit; sets `stopped` when a stop string completed.
  std::string push(const std::string& piece, bool* stopped) {
    held_ += piece;
    for (const std::string& stop : stops_) {
      if (stop.empty()) continue;
      const auto at = held_.find(stop);
      if (at != std::string::npos) {
        *stopped = true;
        std::string out = held_.substr(0, at);
        held_.clear();
        return out;
      }
    }
    // Keep the longest suffix of held_ that is a proper prefix of a stop string.
    std::size_t keep = 0;
    for (const std::string& stop : stops_) {
      for (std::size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n) {
        if (held_.compare(held_.size() - n, n, stop, 0, n) == 0) {
          keep = n;
          break;
        }
      }
    }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
  }
  std::string flush() {
    std::string out;
    out.swap(held_);
    return out;
  }

 private:
  const std::vector<std::string>& stops_;
  std::string held_;
};


}  // namespace qwen3c
