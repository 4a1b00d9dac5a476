// Well-formed safetensors files are read exactly; the hostile ones are in bad_input_test.

#include "frontend/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/test_files.h"

namespace qwen3c {
namespace {

using testing::TempDir;

TEST(Safetensors, ReadsDtypesShapesAndBytes) {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  // Two tensors with recognisable contents: a [2,3] F32 and a [4] BF16.
  std::string header =
      R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},"__metadata__":{"format":"pt"}})";
  std::vector<std::uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(header.size() >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (int i = 0; i < 6; ++i) {
    float f = 1.5f * i;
    std::uint8_t raw[4];
    std::memcpy(raw, &f, 4);
    bytes.insert(bytes.end(), raw, raw + 4);
  }
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(0xA0 + i));
  testing::write_bytes(path, bytes);

  SafetensorsFile file(path);
  ASSERT_EQ(file.tensors().size(), 2u);
  const TensorView& a = file.tensors().at("a");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  ASSERT_EQ(a.bytes.size(), 24u);
  float last;
  std::memcpy(&last, a.bytes.data() + 20, 4);
  EXPECT_EQ(last, 7.5f);
  const TensorView& b = file.tensors().at("b");
  EXPECT_EQ(b.dtype, DType::BF16);
  EXPECT_EQ(b.shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(b.bytes[0], 0xA0);
  EXPECT_EQ(b.bytes[7], 0xA7);
}

TEST(Safetensors, AcceptsScalarsAndEmptyTensors) {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  testing::write_raw_safetensors(
      path,
      R"({"s":{"dtype":"F16","shape":[],"data_offsets":[0,2]},)"
      R"("e":{"dtype":"F32","shape":[0,5],"data_offsets":[2,2]}})",
      2);
  SafetensorsFile file(path);
  EXPECT_EQ(file.tensors().at("s").bytes.size(), 2u);
  EXPECT_EQ(file.tensors().at("e").bytes.size(), 0u);
}

}  // namespace
}  // namespace qwen3c
