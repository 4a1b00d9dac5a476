#include "backends/vulkan/runtime/dispatch_plan.h"

#include <cmath>
#include <iterator>

#include "runtime/core/error.h"

namespace qwen3c::vulkan {

using nlohmann::json;

namespace {

json axis_to_json(const GridAxis& a) {
  return {{"per_row", a.per_row}, {"constant", a.constant}, {"divisor", a.divisor}, {"splits", a.splits}};
}

std::int64_t integer(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) {
    throw Error(where + ": '" + key + "' is missing or not an integer");
  }
  return j[key].get<std::int64_t>();
}

GridAxis axis_from_json(const json& j, const std::string& where) {
  GridAxis a;
  a.per_row = integer(j, "per_row", where);
  a.constant = integer(j, "constant", where);
  a.divisor = integer(j, "divisor", where);
  if (!j.contains("splits") || !j["splits"].is_boolean()) throw Error(where + ": 'splits' is missing");
  a.splits = j["splits"].get<bool>();
  if (a.per_row < 0 || a.constant < 0 || a.divisor < 1 || a.per_row > (1 << 30) || a.constant > (1 << 30)) {
    throw Error(where + ": workgroup count out of range");
  }
  return a;
}

}  // namespace

json plan_to_json(const Plan& plan) {
  json shaders = json::array();
  for (const ShaderEntry& s : plan.shaders) {
    shaders.push_back({{"name", s.name},
                       {"code", {{"offset", s.code.offset}, {"size", s.code.size}, {"checksum", s.code.checksum}}}});
  }
  json dispatches = json::array();
  for (const Dispatch& d : plan.dispatches) {
    const PushConstants& p = d.push;
    dispatches.push_back({{"op", d.op},
                          {"shader", d.shader},
                          {"weight0", d.weight0},
                          {"weight1", d.weight1},
                          {"layer", d.layer},
                          {"kv_shaders", d.kv_shaders},
                          {"tail", d.tail},
                          {"push", {p.in0, p.in1, p.in2, p.out0, p.out1, p.flags, p.row_base, p.row_end}},
                          {"slicing", d.slicing == Slicing::None         ? "none"
                                      : d.slicing == Slicing::OutputRows ? "output_rows"
                                                                         : "lookup_rows"},
                          {"x", axis_to_json(d.x)},
                          {"y", axis_to_json(d.y)}});
  }
  return {{"shaders", shaders},
          {"dispatches", dispatches},
          {"arena_floats_per_token", plan.arena_floats_per_token},
          {"rope_head_dim", plan.rope_head_dim},
          {"rope_theta", plan.rope_theta},
          {"rope_scaling",
           {plan.rope_scaling.factor, plan.rope_scaling.ramp_low, plan.rope_scaling.ramp_span,
            plan.rope_scaling.attention_factor}},
          {"attention_heads", plan.attention_heads},
          {"attention_head_dim", plan.attention_head_dim},
          {"device_argmax", plan.device_argmax}};
}

Plan plan_from_json(const json& j, std::size_t tensor_count, std::int64_t layers, const Artifact& artifact) {
  const std::string where = artifact.path() + ": Vulkan dispatch plan";
  Plan plan;
  if (!j.is_object() || !j.contains("shaders") || !j["shaders"].is_array() || !j.contains("dispatches") ||
      !j["dispatches"].is_array()) {
    throw Error(where + " has no shaders or dispatches");
  }
  for (const json& s : j["shaders"]) {
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string()) throw Error(where + ": a shader has no name");
    ShaderEntry e{s["name"].get<std::string>(), artifact.range_from_json(s.value("code", json()), "shader code")};
    if (e.code.size == 0 || e.code.size % 4 != 0) throw Error(where + ": shader '" + e.name + "' is not SPIR-V");
    plan.shaders.push_back(std::move(e));
  }
  bool saw_cache_dispatch = false;
  for (const json& d : j["dispatches"]) {
    const std::string at = where + ": dispatch " + std::to_string(plan.dispatches.size());
    Dispatch out;
    if (!d.is_object() || !d.contains("op") || !d["op"].is_string()) throw Error(at + " has no op");
    out.op = d["op"].get<std::string>();
    const std::int64_t shader = integer(d, "shader", at);
    if (shader < 0 || static_cast<std::size_t>(shader) >= plan.shaders.size()) throw Error(at + ": no such shader");
    out.shader = static_cast<std::uint32_t>(shader);
    out.weight0 = integer(d, "weight0", at);
    out.weight1 = integer(d, "weight1", at);
    for (std::int64_t w : {out.weight0, out.weight1}) {
      if (w < -1 || w >= static_cast<std::int64_t>(tensor_count)) throw Error(at + ": no such weight");
    }
    out.layer = integer(d, "layer", at);
    if (out.layer < -1 || out.layer >= layers) throw Error(at + ": no such layer");
    // A cache dispatch names its shader for each cache type the compiler knew (all of
    // kKvTypes, or f32 / f16 / bf16 from before q8_0), the same in every one; the others none.
    if (!d.contains("kv_shaders") || !d["kv_shaders"].is_array()) throw Error(at + ": bad kv_shaders");
    const std::size_t kv_count = d["kv_shaders"].size();
    if (out.layer < 0 ? kv_count != 0 : (kv_count < 3 || kv_count > std::size(kKvTypes))) {
      throw Error(at + ": bad kv_shaders");
    }
    if (out.layer >= 0) {
      if (saw_cache_dispatch && kv_count != plan.kv_types) throw Error(at + ": bad kv_shaders");
      plan.kv_types = kv_count;
      saw_cache_dispatch = true;
    }
    for (const json& k : d["kv_shaders"]) {
      if (!k.is_number_unsigned() || k.get<std::uint64_t>() >= plan.shaders.size()) throw Error(at + ": no such shader");
      out.kv_shaders.push_back(k.get<std::uint32_t>());
    }
    if (!d.contains("tail") || !d["tail"].is_boolean()) throw Error(at + " has no tail flag");
    out.tail = d["tail"].get<bool>();
    if (!d.contains("push") || !d["push"].is_array() || d["push"].size() != 8) throw Error(at + ": bad push constants");
    std::uint32_t push[8];
    for (int i = 0; i < 8; ++i) {
      if (!d["push"][i].is_number_unsigned()) throw Error(at + ": bad push constants");
      push[i] = d["push"][i].get<std::uint32_t>();
    }
    out.push = {push[0], push[1], push[2], push[3], push[4], push[5], push[6], push[7]};
    const std::string slicing = d.value("slicing", "");
    if (slicing == "none") {
      out.slicing = Slicing::None;
    } else if (slicing == "output_rows") {
      out.slicing = Slicing::OutputRows;
    } else if (slicing == "lookup_rows") {
      out.slicing = Slicing::LookupRows;
    } else {
      throw Error(at + ": unknown slicing '" + slicing + "'");
    }
    if (out.slicing != Slicing::None && (out.weight0 < 0 || out.push.row_end <= out.push.row_base)) {
      throw Error(at + ": a sliced dispatch needs a weight and rows");
    }
    if (out.slicing == Slicing::OutputRows && (out.x.per_row != 0 || out.x.splits)) {
      throw Error(at + ": a dispatch sliced by output rows must count workgroups by rows");
    }
    out.x = axis_from_json(d.value("x", json()), at);
    out.y = axis_from_json(d.value("y", json()), at);
    plan.dispatches.push_back(std::move(out));
  }
  plan.arena_floats_per_token = integer(j, "arena_floats_per_token", where);
  plan.rope_head_dim = integer(j, "rope_head_dim", where);
  plan.attention_heads = integer(j, "attention_heads", where);
  plan.attention_head_dim = integer(j, "attention_head_dim", where);
  if (!j.contains("rope_theta") || !j["rope_theta"].is_number()) throw Error(where + " has no rope_theta");
  plan.rope_theta = j["rope_theta"].get<double>();
  const json* scaling = j.contains("rope_scaling") ? &j["rope_scaling"] : nullptr;
  if (scaling == nullptr || !scaling->is_array() || scaling->size() != 4) throw Error(where + " has no rope_scaling");
  for (const json& x : *scaling) {
    if (!x.is_number() || !std::isfinite(x.get<double>())) throw Error(where + ": rope_scaling is not 4 numbers");
  }
  plan.rope_scaling = {(*scaling)[0].get<float>(), (*scaling)[1].get<float>(), (*scaling)[2].get<float>(),
                       (*scaling)[3].get<float>()};
  if (plan.rope_scaling.factor < 0 || plan.rope_scaling.ramp_span <= 0) throw Error(where + ": bad rope_scaling");
  plan.device_argmax = j.value("device_argmax", false);
  const std::int64_t limit = std::int64_t{1} << 24;
  if (plan.arena_floats_per_token < 0 || plan.arena_floats_per_token > limit || plan.rope_head_dim < 0 ||
      plan.rope_head_dim > 4096 || plan.rope_head_dim % 2 != 0 || plan.attention_heads < 0 ||
      plan.attention_heads > 4096 || plan.attention_head_dim < 0 || plan.attention_head_dim > 4096) {
    throw Error(where + ": sizes out of range");
  }
  return plan;
}

std::uint64_t workgroups(const GridAxis& axis, std::uint64_t rows, std::uint64_t splits) {
  if (axis.splits) return splits;
  const std::uint64_t work = rows * static_cast<std::uint64_t>(axis.per_row) + static_cast<std::uint64_t>(axis.constant);
  return (work + static_cast<std::uint64_t>(axis.divisor) - 1) / static_cast<std::uint64_t>(axis.divisor);
}

}  // namespace qwen3c::vulkan
