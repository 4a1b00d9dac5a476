// huge_page_share: what `bench` reports about the memory the weights are in.
#include "runtime/core/huge_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <string>

namespace qwen3c {
namespace {

constexpr std::size_t kMiB = 1 << 20;

// A fresh anonymous mapping of `bytes` at a 2 MiB boundary, advised and then touched.
struct Mapping {
  Mapping(std::size_t bytes, int advice) : bytes(bytes) {
    raw = ::mmap(nullptr, bytes + 2 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return;
    const auto at = (reinterpret_cast<std::uintptr_t>(raw) + 2 * kMiB - 1) & ~(2 * kMiB - 1);
    data = reinterpret_cast<char*>(at);
    ::madvise(data, bytes, advice);
    std::memset(data, 1, bytes);
  }
  ~Mapping() {
    if (raw != MAP_FAILED) ::munmap(raw, bytes + 2 * kMiB);
  }
  std::size_t bytes;
  void* raw = MAP_FAILED;
  char* data = nullptr;
};

TEST(HugePages, UnknownForARangeNoMappingCovers) {
  EXPECT_FALSE(huge_page_share(reinterpret_cast<const void*>(std::uintptr_t{4096}), 4096).has_value());
  EXPECT_FALSE(huge_page_share(nullptr, 0).has_value());
}

TEST(HugePages, NoneWhereTheMappingRefusesThem) {
  Mapping m(8 * kMiB, MADV_NOHUGEPAGE);
  ASSERT_NE(m.data, nullptr);
  const auto share = huge_page_share(m.data, m.bytes);
  ASSERT_TRUE(share.has_value());
  EXPECT_EQ(*share, 0.0);
}

TEST(HugePages, MostWhereTheMappingAsksForThem) {
  std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(enabled, modes);
  if (modes.empty() || modes.find("[never]") != std::string::npos) {
    GTEST_SKIP() << "transparent huge pages are off on this machine (" << modes << ")";
  }
  Mapping m(16 * kMiB, MADV_HUGEPAGE);
  ASSERT_NE(m.data, nullptr);
  const auto share = huge_page_share(m.data, m.bytes);
  ASSERT_TRUE(share.has_value());
  EXPECT_GT(*share, 0.5) << "advised, aligned and touched, yet mostly in 4 KiB pages";
  EXPECT_LE(*share, 1.0);
  // Half the range: its own share, not the whole mapping's pages over half the bytes.
  const auto half = huge_page_share(m.data, m.bytes / 2);
  ASSERT_TRUE(half.has_value());
  EXPECT_LE(*half, 1.0);
  EXPECT_GT(*half, 0.5);
}

}  // namespace
}  // namespace qwen3c
