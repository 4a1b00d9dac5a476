#include "backends/cpu/runtime/cpu_manifest.h"

#include "backends/cpu/runtime/cpu_abi.h"
#include "runtime/artifact/artifact_format.h"
#include "runtime/core/error.h"

namespace qwen3c::cpu {

using nlohmann::json;

json CpuManifest::to_json() const {
  return {
      {"name", "cpu"},
      {"target_cpu", target_cpu},
      {"target_features", target_features},
      {"kernel_tier", kernel_tier},
      {"entry", entry},
      {"code", {{"offset", code.offset}, {"size", code.size}, {"checksum", code.checksum}}},
      {"arena_floats_per_token", arena_floats_per_token},
      {"scratch_floats_per_token", scratch_floats_per_token},
      {"scratch_floats_fixed", scratch_floats_fixed},
      {"kernel_calls", kernel_calls},
      {"kernels", kernels},
      {"kernel_barriers", kernel_barriers},
      {"kernel_weights", kernel_weights},
  };
}

std::uint64_t code_fingerprint(const std::string& fingerprint_text, const std::string& kernel_tier,
                               const std::vector<std::string>& target_features) {
  std::string text = fingerprint_text + "|tier=" + kernel_tier + "|features=";
  for (const std::string& f : target_features) text += f + ",";
  return checksum(text.data(), text.size());
}

std::string CpuManifest::fingerprint_text(const json& manifest, const CpuManifest& m) {
  // Only what the code depends on; offsets and checksums of the data are checked anyway.
  json tensors = json::array();
  if (auto t = manifest.find("tensors"); t != manifest.end() && t->is_array()) {
    for (const json& entry : *t) {
      if (!entry.is_object()) continue;
      tensors.push_back({entry.value("name", json()), entry.value("dtype", json()), entry.value("shape", json()),
                         entry.value("layout", json())});
    }
  }
  const json code_inputs = {
      {"model", manifest.value("model", json())},
      {"precision", manifest.value("precision", json("f32"))},
      {"tensors", tensors},
      {"arena_floats_per_token", m.arena_floats_per_token},
      {"scratch_floats_per_token", m.scratch_floats_per_token},
      {"scratch_floats_fixed", m.scratch_floats_fixed},
      {"kernels", m.kernels},
      {"kernel_barriers", m.kernel_barriers},
  };
  return code_inputs.dump();
}

namespace {

std::int64_t bounded(const json& b, const char* key, std::int64_t limit, const std::string& where) {
  if (!b.contains(key) || !b[key].is_number_unsigned() || b[key].get<std::uint64_t>() > static_cast<std::uint64_t>(limit)) {
    throw Error(where + ": '" + key + "' is missing or out of range");
  }
  return b[key].get<std::int64_t>();
}

// Profiling labels only (the code never sees them): a malformed list, or an index outside the
// tensor table, leaves every call unlabelled rather than refusing the artifact.
std::vector<std::vector<std::int64_t>> kernel_weights_from_json(const json& b, std::size_t calls, std::size_t tensors) {
  std::vector<std::vector<std::int64_t>> lists(calls);
  auto k = b.find("kernel_weights");
  if (k == b.end() || !k->is_array() || k->size() != calls) return lists;
  for (std::size_t i = 0; i < calls; ++i) {
    const json& list = (*k)[i];
    if (!list.is_array() || list.size() > 16) return std::vector<std::vector<std::int64_t>>(calls);
    for (const json& index : list) {
      if (!index.is_number_unsigned() || index.get<std::uint64_t>() >= tensors) {
        return std::vector<std::vector<std::int64_t>>(calls);
      }
      lists[i].push_back(index.get<std::int64_t>());
    }
  }
  return lists;
}

}  // namespace

CpuManifest CpuManifest::from_json(const Artifact& artifact) {
  const json& b = artifact.backend_manifest();
  const std::string where = artifact.path() + ": CPU backend manifest";
  CpuManifest m;
  if (!b.contains("target_features") || !b["target_features"].is_array()) throw Error(where + " has no target features");
  for (const auto& f : b["target_features"]) {
    if (!f.is_string()) throw Error(where + ": a target feature is not a string");
    m.target_features.push_back(f.get<std::string>());
  }
  m.target_cpu = b.value("target_cpu", "?");
  m.kernel_tier = b.value("kernel_tier", "generic");
  if (!b.contains("entry") || !b["entry"].is_string()) throw Error(where + " has no entry point");
  m.entry = b["entry"].get<std::string>();
  if (m.entry != kEntryPoint) {
    // The code is only ever entered where the compiler put the forward step: any other
    // symbol (libc's abort, say) would be called with the step's arguments.
    throw Error(where + ": entry point '" + m.entry + "' is not the generated '" + kEntryPoint + "'");
  }
  m.code = artifact.range_from_json(b.value("code", json()), "code");
  m.arena_floats_per_token = bounded(b, "arena_floats_per_token", std::int64_t{1} << 40, where);
  m.scratch_floats_per_token = bounded(b, "scratch_floats_per_token", std::int64_t{1} << 24, where);
  m.scratch_floats_fixed = bounded(b, "scratch_floats_fixed", std::int64_t{1} << 28, where);
  m.kernel_calls = b.value("kernel_calls", std::int64_t{0});
  if (auto k = b.find("kernels"); k != b.end() && k->is_array() && k->size() <= (1u << 20)) {
    for (const auto& name : *k) m.kernels.push_back(name.is_string() ? name.get<std::string>() : "?");
  }
  if (auto k = b.find("kernel_barriers"); k != b.end() && k->is_array() && k->size() == m.kernels.size()) {
    for (const auto& n : *k) m.kernel_barriers.push_back(n.is_number_unsigned() ? n.get<std::int64_t>() : 0);
  }
  if (m.kernel_barriers.size() != m.kernels.size()) m.kernels.clear();  // no profile without both
  m.kernel_weights = kernel_weights_from_json(b, m.kernels.size(), artifact.tensors().size());
  return m;
}

}  // namespace qwen3c::cpu
