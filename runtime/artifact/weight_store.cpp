#include "runtime/artifact/weight_store.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "runtime/core/error.h"
#include "runtime/core/huge_pages.h"
#include "runtime/artifact/random_weights.h"

namespace qwen3c {

WeightStore WeightStore::load(const Artifact& artifact) {
  WeightStore store;
  std::uint64_t total = 0;
  for (const ArtifactTensor& t : artifact.tensors()) {
    store.offsets_.push_back(total);
    total += (t.byte_size() + 63) & ~std::uint64_t{63};
  }
  store.size_ = total;
  if (total > 0) {
    void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      throw Error(artifact.path() + ": cannot allocate " + std::to_string(total) +
                  " bytes for weights: " + std::strerror(errno));
    }
    store.base_ = static_cast<std::uint8_t*>(p);
    // Transparent huge pages: decode streams every weight once a token, and 4 KiB pages
    // make that a TLB miss every 4 KiB.
    ::madvise(p, total, MADV_HUGEPAGE);
  }
  for (std::size_t i = 0; i < artifact.tensors().size(); ++i) {
    const ArtifactTensor& t = artifact.tensors()[i];
    void* dst = store.base_ + store.offsets_[i];
    if (artifact.random_seed()) {
      fill_random_weights(t.name, t.dtype, t.shape, *artifact.random_seed(), dst);
    } else {
      artifact.read(t.range, dst, "tensor '" + t.name + "'");
    }
  }
  return store;
}

std::optional<double> WeightStore::huge_page_share() const {
  return qwen3c::huge_page_share(base_, size_);  // released: base_ is null, so nullopt
}

void WeightStore::release() {
  if (base_ != nullptr) ::munmap(base_, size_);
  base_ = nullptr;
}

WeightStore::~WeightStore() { release(); }

WeightStore::WeightStore(WeightStore&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      offsets_(std::move(other.offsets_)) {}

}  // namespace qwen3c
