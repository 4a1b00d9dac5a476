#include "frontend/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/core/strict_json.h"
#include "runtime/core/error.h"

namespace qwen3c {

namespace {

using nlohmann::json;
constexpr std::size_t kMaxRank = 8;

struct Entry {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin, end;
};

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Entry parse_entry(const std::string& path, const std::string& name, const json& info,
                  bool allow_i64) {
  auto fail = [&](const std::string& what) -> void {
    throw Error(path + ": tensor '" + name + "': " + what);
  };
  if (!info.is_object()) fail("header entry must be an object");
  Entry e;
  e.name = name;

  auto dtype_it = info.find("dtype");
  if (dtype_it == info.end() || !dtype_it->is_string()) fail("missing or non-string 'dtype'");
  const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
  auto dtype = dtype_from_name(dtype_name);
  if (!dtype || (*dtype == DType::I64 && !allow_i64)) {
    fail("unsupported dtype '" + dtype_name + "' (supported: BF16, F16, F32)");
  }
  e.dtype = *dtype;

  auto shape_it = info.find("shape");
  if (shape_it == info.end() || !shape_it->is_array()) fail("missing or non-list 'shape'");
  if (shape_it->size() > kMaxRank) fail("shape has more than " + std::to_string(kMaxRank) + " dimensions");
  std::uint64_t elements = 1;
  for (const json& d : *shape_it) {
    if (!d.is_number_unsigned()) fail("shape entries must be non-negative integers, got " + d.dump());
    std::uint64_t dim = d.get<std::uint64_t>();
    if (dim > (std::uint64_t{1} << 40) || __builtin_mul_overflow(elements, dim, &elements)) {
      fail("shape " + shape_it->dump() + " is too large");
    }
    e.shape.push_back(static_cast<std::int64_t>(dim));
  }

  auto off_it = info.find("data_offsets");
  if (off_it == info.end() || !off_it->is_array() || off_it->size() != 2 ||
      !(*off_it)[0].is_number_unsigned() || !(*off_it)[1].is_number_unsigned()) {
    fail("'data_offsets' must be a list of two non-negative integers");
  }
  e.begin = (*off_it)[0].get<std::uint64_t>();
  e.end = (*off_it)[1].get<std::uint64_t>();
  if (e.end < e.begin) fail("data_offsets end " + std::to_string(e.end) + " is before begin " + std::to_string(e.begin));

  std::uint64_t expected = 0;
  if (__builtin_mul_overflow(elements, dtype_size(e.dtype), &expected) ||
      expected != e.end - e.begin) {
    fail("byte length " + std::to_string(e.end - e.begin) + " does not match shape " +
         shape_it->dump() + " x " + std::string(dtype_name));
  }
  return e;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path, bool allow_i64) : file_(path) {
  const std::size_t size = file_.size();
  if (size < 8) {
    throw Error(path + ": truncated: " + std::to_string(size) +
                " bytes, too short for the 8-byte header length");
  }
  const std::uint64_t header_len = read_u64_le(file_.data());
  if (header_len > kMaxSafetensorsHeaderBytes) {
    throw Error(path + ": header length " + std::to_string(header_len) +
                " exceeds the 100 MB limit");
  }
  if (header_len > size - 8) {
    throw Error(path + ": header length " + std::to_string(header_len) +
                " runs past the end of the file (" + std::to_string(size) + " bytes)");
  }
  std::string_view header_text(reinterpret_cast<const char*>(file_.data() + 8), header_len);
  json header = parse_strict_json(header_text, path + ": header");
  if (!header.is_object()) throw Error(path + ": header is not a JSON object");

  const std::uint8_t* data = file_.data() + 8 + header_len;
  const std::uint64_t data_size = size - 8 - header_len;

  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(path + ": '__metadata__' must be an object");
      continue;
    }
    entries.push_back(parse_entry(path, name, info, allow_i64));
  }

  // The tensors must tile the data section exactly: no overlaps, no holes, nothing past it.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.end > data_size) {
      throw Error(path + ": tensor '" + e.name + "': data_offsets [" + std::to_string(e.begin) +
                  ", " + std::to_string(e.end) + ") out of bounds of the " +
                  std::to_string(data_size) + "-byte data section (file truncated?)");
    }
    if (e.begin < covered) {
      throw Error(path + ": tensor '" + e.name + "' overlaps tensor '" + previous->name + "'");
    }
    if (e.begin > covered) {
      throw Error(path + ": bytes [" + std::to_string(covered) + ", " + std::to_string(e.begin) +
                  ") of the data section are not covered by any tensor");
    }
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size) {
    throw Error(path + ": bytes [" + std::to_string(covered) + ", " + std::to_string(data_size) +
                ") of the data section are not covered by any tensor");
  }

  for (Entry& e : entries) {
    TensorView view{e.name, e.dtype, std::move(e.shape),
                    {data + e.begin, static_cast<std::size_t>(e.end - e.begin)}, path};
    tensors_.emplace(e.name, std::move(view));
  }
}

}  // namespace qwen3c
