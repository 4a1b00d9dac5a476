#pragma once
// An artifact's weights in anonymous memory (this VM pages out file-backed mappings in the
// background, which ruins decode speed), each tensor 64-byte aligned.

#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/artifact/artifact.h"

namespace qwen3c {

class WeightStore {
 public:
  // Reads every tensor (verifying checksums) or, for a random-weight artifact, generates it.
  static WeightStore load(const Artifact& artifact);
  ~WeightStore();
  WeightStore(WeightStore&& other) noexcept;
  WeightStore& operator=(WeightStore&&) = delete;
  WeightStore(const WeightStore&) = delete;

  const void* data(std::size_t index) const { return base_ + offsets_.at(index); }
  // For an executor that rearranges weights in place when it loads them.
  void* mutable_data(std::size_t index) { return base_ + offsets_.at(index); }
  std::size_t count() const { return offsets_.size(); }
  std::uint64_t total_bytes() const { return size_; }
  // The share of the weights in transparent huge pages now (nullopt: unknown or released).
  std::optional<double> huge_page_share() const;
  // Frees the memory (an executor copied the weights elsewhere); data() is then invalid,
  // total_bytes() still reports the size.
  void release();

 private:
  WeightStore() = default;
  std::uint8_t* base_ = nullptr;
  std::uint64_t size_ = 0;
  std::vector<std::uint64_t> offsets_;
};

}  // namespace qwen3c
