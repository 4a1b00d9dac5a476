#include "backends/portable/runtime/program.h"

#include <cmath>

#include <array>

#include "runtime/core/error.h"

namespace qwen3c::portable {

using nlohmann::json;

namespace {

constexpr std::array<const char*, 11> kKernelNames = {"embedding", "rms_norm", "rope", "attention",
                                                      "qk_norm_rope_append", "cached_attention", "matmul",
                                                      "add_rms_norm", "silu", "mul", "add"};
constexpr std::array<const char*, 4> kOperandKinds = {"arena", "ids", "positions", "logits"};

json operand_to_json(const Operand& o) {
  return {kOperandKinds[static_cast<int>(o.kind)], o.offset, o.width, o.last_rows_only};
}

// The operand's kind and size, checked against what a step may touch.
Operand operand_from_json(const json& j, const Program& p, const ModelConfig& config, const std::string& where) {
  if (!j.is_array() || j.size() != 4 || !j[0].is_string() || !j[1].is_number_integer() ||
      !j[2].is_number_integer() || !j[3].is_boolean()) {
    throw Error(where + ": malformed operand");
  }
  Operand o;
  const std::string kind = j[0].get<std::string>();
  int k = 0;
  while (k < 4 && kind != kOperandKinds[k]) ++k;
  if (k == 4) throw Error(where + ": unknown operand kind '" + kind + "'");
  o.kind = static_cast<Operand::Kind>(k);
  o.offset = j[1].get<std::int64_t>();
  o.width = j[2].get<std::int64_t>();
  o.last_rows_only = j[3].get<bool>();
  if (o.width < 0 || o.width > (1 << 24) || o.offset < 0) throw Error(where + ": operand out of range");
  if (o.kind == Operand::Kind::Arena && o.offset + o.width > p.arena_floats_per_token) {
    throw Error(where + ": operand outside the arena");
  }
  if (o.kind == Operand::Kind::Logits && o.width != config.vocab_size) throw Error(where + ": logits of the wrong width");
  return o;
}

}  // namespace

const char* kernel_name(Kernel k) { return kKernelNames[static_cast<int>(k)]; }

json Program::to_json() const {
  json steps_json = json::array();
  for (const Step& s : steps) {
    json in = json::array(), out = json::array();
    for (const Operand& o : s.inputs) in.push_back(operand_to_json(o));
    for (const Operand& o : s.outputs) out.push_back(operand_to_json(o));
    steps_json.push_back({{"kernel", kernel_name(s.kernel)}, {"in", in}, {"out", out}, {"weights", s.weights},
                          {"epsilon", s.epsilon}, {"theta", s.theta}, {"scale", s.scale}, {"heads", s.heads},
                          {"kv_heads", s.kv_heads}, {"head_dim", s.head_dim}, {"layer", s.layer},
                          {"group", s.group}, {"gated", s.gated}, {"tail", s.tail},
                          {"rope", {s.rope.factor, s.rope.ramp_low, s.rope.ramp_span, s.rope.attention_factor}}});
  }
  return {{"name", "portable"}, {"arena_floats_per_token", arena_floats_per_token}, {"steps", steps_json}};
}

Program Program::from_json(const Artifact& artifact) {
  const json& b = artifact.backend_manifest();
  const ModelConfig& config = artifact.config();
  const std::string where = artifact.path() + ": portable program";
  Program p;
  if (!b.contains("arena_floats_per_token") || !b["arena_floats_per_token"].is_number_unsigned() ||
      b["arena_floats_per_token"].get<std::uint64_t>() > (std::uint64_t{1} << 32)) {
    throw Error(where + ": no arena size");
  }
  p.arena_floats_per_token = b["arena_floats_per_token"].get<std::int64_t>();
  if (!b.contains("steps") || !b["steps"].is_array()) throw Error(where + ": no steps");
  for (const json& j : b["steps"]) {
    const std::string at = where + " step " + std::to_string(p.steps.size());
    if (!j.is_object()) throw Error(at + ": not an object");
    Step s;
    const std::string kernel = j.value("kernel", "");
    std::size_t k = 0;
    while (k < kKernelNames.size() && kernel != kKernelNames[k]) ++k;
    if (k == kKernelNames.size()) throw Error(at + ": unknown kernel '" + kernel + "'");
    s.kernel = static_cast<Kernel>(k);
    for (const char* key : {"in", "out", "weights"}) {
      if (!j.contains(key) || !j[key].is_array() || j[key].size() > 4) throw Error(at + ": bad '" + key + "'");
    }
    for (const json& o : j["in"]) s.inputs.push_back(operand_from_json(o, p, config, at));
    for (const json& o : j["out"]) s.outputs.push_back(operand_from_json(o, p, config, at));
    for (const json& w : j["weights"]) {
      if (!w.is_number_unsigned() || w.get<std::uint64_t>() >= artifact.tensors().size()) throw Error(at + ": bad weight index");
      s.weights.push_back(w.get<std::int64_t>());
    }
    auto number = [&](const char* key) {
      if (!j.contains(key) || !j[key].is_number()) throw Error(at + ": '" + key + "' is missing");
      return j[key].get<double>();
    };
    auto integer = [&](const char* key, std::int64_t max) {
      if (!j.contains(key) || !j[key].is_number_integer()) throw Error(at + ": '" + key + "' is missing");
      const std::int64_t v = j[key].get<std::int64_t>();
      if (v < 0 || v > max) throw Error(at + ": '" + key + "' is out of range");
      return v;
    };
    s.epsilon = number("epsilon");
    s.theta = number("theta");
    if (!j.contains("rope") || !j["rope"].is_array() || j["rope"].size() != 4) throw Error(at + ": 'rope' is missing");
    for (const json& x : j["rope"]) {
      if (!x.is_number() || !std::isfinite(x.get<double>())) throw Error(at + ": 'rope' is not 4 numbers");
    }
    s.rope = {j["rope"][0].get<float>(), j["rope"][1].get<float>(), j["rope"][2].get<float>(),
              j["rope"][3].get<float>()};
    if (s.rope.factor < 0 || s.rope.ramp_span <= 0) throw Error(at + ": 'rope' is out of range");
    s.scale = number("scale");
    s.heads = integer("heads", 1 << 12);
    s.kv_heads = integer("kv_heads", 1 << 12);
    s.head_dim = integer("head_dim", 1 << 12);
    s.layer = integer("layer", config.num_layers - 1);
    s.group = integer("group", 1 << 24);
    s.gated = integer("gated", 1);
    if (!j.contains("tail") || !j["tail"].is_boolean()) throw Error(at + ": 'tail' is missing");
    s.tail = j["tail"].get<bool>();
    const bool attends = s.kernel == Kernel::Attention || s.kernel == Kernel::QkNormRopeAppend ||
                         s.kernel == Kernel::CachedAttention;
    if (attends && (s.heads == 0 || s.kv_heads == 0 || s.heads % s.kv_heads != 0 ||
                    s.kv_heads * s.head_dim != config.kv_dim())) {
      throw Error(at + ": attention shape does not match the model's KV cache");
    }
    p.steps.push_back(std::move(s));
  }
  return p;
}

}  // namespace qwen3c::portable
