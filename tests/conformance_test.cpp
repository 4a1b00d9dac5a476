// The op-by-op conformance suite, in the spirit of ggml's test-backend-ops: every q3 op,
// fused and unfused, in every weight format, on awkward shapes (odd rows, head_dim 20, 24
// and 128), compiled alone in the smallest module that holds it, run on every registered
// backend and compared with the reference evaluator. Each module reads its inputs through
// embedding tables (random activations selected by the token ids) and returns the op's
// result as its "logits". Steps: 7 tokens, then 70 after them (a cached prefix; on the CPU
// the prefill path), then two single tokens (decode). A backend is done when it passes
// this suite and the golden tests; a failure names the op, the case, the step and the error.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <sstream>

#include "backends/compiler.h"
#include "ir/reference_evaluator.h"
#include "mlir/Parser/Parser.h"
#include "runtime/core/half.h"
#include "runtime/core/quantization.h"
#include "runtime/execution/session.h"
#include "tests/golden.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

constexpr double kMaxRelativeError = 1e-4;
constexpr std::int64_t kContext = 96;

// Weight element types as the IR spells them.
std::string ir_type(const std::string& format) {
  if (format == "q8_0") return "!q3.q8_0";
  if (format == "q4_0") return "!q3.q4_0";
  return format;  // f32, bf16, f16
}

// Checkpoint tensors made here: values rounded to what the source format can hold, so the
// evaluator sees exactly what the backend is given.
class InMemoryWeights : public WeightSource {
 public:
  bool generated() const override { return false; }
  const TensorView& tensor(const std::string& name) const override { return tensors_.at(name).view; }

  // Random values for `name`: norms near 1, matrices scaled by 1/sqrt(columns).
  void add(const std::string& name, const std::string& format, std::vector<std::int64_t> shape) {
    Stored& t = tensors_[name];
    const std::int64_t n = element_count(shape);
    const bool norm = shape.size() == 1;
    const float scale = norm ? 0.2f : 1.0f / std::sqrt(static_cast<float>(shape.back()));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    t.values.resize(n);
    for (float& v : t.values) v = (norm ? 1.0f : 0.0f) + scale * u(rng_);
    DType dtype = DType::F32;  // f32, and the source of q8_0 / q4_0 (quantised when written)
    if (format == "bf16") dtype = DType::BF16;
    if (format == "f16") dtype = DType::F16;
    t.bytes.resize(static_cast<std::size_t>(n) * dtype_size(dtype));
    for (std::int64_t i = 0; i < n; ++i) {
      if (dtype == DType::F32) {
        std::memcpy(t.bytes.data() + 4 * i, &t.values[i], 4);
        continue;
      }
      const std::uint16_t h = dtype == DType::BF16 ? f32_to_bf16(t.values[i]) : f32_to_f16(t.values[i]);
      t.values[i] = dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
      std::memcpy(t.bytes.data() + 2 * i, &h, 2);
    }
    t.view = TensorView{name, dtype, std::move(shape), t.bytes, "memory"};
  }
  std::vector<float> values(const std::string& name) const { return tensors_.at(name).values; }

 private:
  struct Stored {
    std::vector<std::uint8_t> bytes;
    std::vector<float> values;
    TensorView view;
  };
  std::map<std::string, Stored> tensors_;
  std::mt19937 rng_{11};
};

// The text of a module holding one op (or a fused pair) and the weights it reads.
class ModuleBuilder {
 public:
  ModuleBuilder(InMemoryWeights& weights, std::int64_t vocab) : weights_(weights), vocab_(vocab) {}

  static std::string activation(std::int64_t width) { return "tensor<?x" + std::to_string(width) + "xf32>"; }
  static std::string weight_type(const std::vector<std::int64_t>& shape, const std::string& format) {
    std::string t = "tensor<";
    for (std::int64_t d : shape) t += std::to_string(d) + "x";
    return t + ir_type(format) + ">";
  }

  // A weight read in the body; returns its value name.
  std::string weight(const std::string& format, const std::vector<std::int64_t>& shape) {
    const std::string name = "w" + std::to_string(weights_count_++);
    weights_.add(name, format, shape);
    decls_ += "  q3.weight @" + name + " : " + weight_type(shape, format) + "\n";
    return op("q3.get_weight @" + name + " : " + weight_type(shape, format));
  }
  // Activation rows of `width` (f32 random values looked up by the ids).
  std::string input(std::int64_t width) {
    const std::string table = weight("f32", {vocab_, width});
    return op("q3.embedding " + table + "[%ids] : " + weight_type({vocab_, width}, "f32") + ", tensor<?xi64> -> " +
              activation(width));
  }
  std::string op(const std::string& text) {
    const std::string name = "%v" + std::to_string(values_++);
    body_ += "    " + name + " = " + text + "\n";
    return name;
  }
  std::string cache_type() const {
    return "!q3.kv_cache<layers = 1, kv_heads = " + std::to_string(kv_heads) + ", head_dim = " +
           std::to_string(head_dim) + ", element_type = f32>";
  }

  std::string text(const std::string& result, std::int64_t width) const {
    return "module {\n" + decls_ + "  func.func @forward(%ids: tensor<?xi64>, %positions: tensor<?xi64>, %slots: tensor<?xi64>, %cache: " +
           cache_type() + ") -> " + activation(width) + " {\n" + body_ + "    return " + result + " : " +
           activation(width) + "\n  }\n}\n";
  }

  std::int64_t kv_heads = 1, head_dim = 2, heads = 1;

 private:
  InMemoryWeights& weights_;
  std::int64_t vocab_;
  std::string decls_, body_;
  int weights_count_ = 0, values_ = 0;
};

std::string real(double v) {
  std::ostringstream s;
  s.precision(17);
  s << std::scientific << v;
  return s.str();
}

// One conformance case: a label, the module's output width (the "vocabulary") and how to
// build its body; returns the result value.
struct Case {
  std::string label;
  std::int64_t width;
  std::int64_t heads = 1, kv_heads = 1, head_dim = 2;
  std::function<std::string(ModuleBuilder&)> build;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.label; }

const std::string kEps = "{epsilon = " + real(1e-6) + " : f64}";

// YaRN over an original context of 16 positions: the 79 positions the cases run cover the
// ramp between kept and interpolated frequencies (truncated ends, or exact ones).
std::string yarn_attr(bool truncate) {
  return "yarn = #q3.yarn<factor = " + real(4.0) + " : f64, original_context = 16, beta_fast = " + real(32.0) +
         " : f64, beta_slow = " + real(1.0) + " : f64, attention_factor = " + real(0.1 * std::log(4.0) + 1) +
         " : f64, truncate = " + (truncate ? "true" : "false") + ">";
}

std::string attention_attrs(const Case& c, bool with_scale, bool with_norm, bool yarn = false) {
  std::string a = "{head_dim = " + std::to_string(c.head_dim) + " : i64, layer = 0 : i64, num_heads = " +
                  std::to_string(c.heads) + " : i64, num_kv_heads = " + std::to_string(c.kv_heads) + " : i64";
  if (with_scale) a += ", scale = " + real(1.0 / std::sqrt(static_cast<double>(c.head_dim))) + " : f64";
  if (with_norm) a += ", epsilon = " + real(1e-6) + " : f64, theta = " + real(1e4) + " : f64";
  if (yarn) a += ", " + yarn_attr(true);
  return a + "}";
}

std::vector<Case> cases() {
  using B = ModuleBuilder;
  std::vector<Case> all;
  // Embedding lookups in every weight format.
  for (std::string f : {"f32", "bf16", "f16", "q8_0", "q4_0"}) {
    const std::int64_t w = (f == "q8_0" || f == "q4_0") ? 64 : 40;
    all.push_back({"embedding_" + f + "_" + std::to_string(w), w, 1, 1, 2, [f, w](B& b) {
                     const std::string t = b.weight(f, {w, w});
                     return b.op("q3.embedding " + t + "[%ids] : " + B::weight_type({w, w}, f) + ", tensor<?xi64> -> " +
                                 B::activation(w));
                   }});
  }
  for (std::string f : {"f32", "bf16"}) {
    all.push_back({"rms_norm_" + f + "_37", 37, 1, 1, 2, [f](B& b) {
                     const std::string x = b.input(37), g = b.weight(f, {37});
                     return b.op("q3.rms_norm " + x + ", " + g + " " + kEps + " : " + B::activation(37) + ", " +
                                 B::weight_type({37}, f));
                   }});
  }
  // Per-head norms, RoPE and attention at head_dim 20, 24, 128, 64 (six query heads a KV
  // head) and 256 (three a KV head): the CPU decodes 64, 128 and 256 with its own kernels.
  struct Heads {
    std::int64_t heads, kv_heads, head_dim;
  };
  for (Heads h : {Heads{3, 1, 20}, Heads{4, 2, 24}, Heads{2, 1, 128}, Heads{12, 2, 64}, Heads{3, 1, 256}}) {
    const std::int64_t q = h.heads * h.head_dim, kv = h.kv_heads * h.head_dim;
    const std::string shape = std::to_string(h.heads) + "x" + std::to_string(h.head_dim) + "_kv" + std::to_string(h.kv_heads);
    const std::string norm = h.head_dim == 24 ? "f32" : "bf16";
    all.push_back({"head_rms_norm_" + norm + "_" + shape, q, h.heads, h.kv_heads, h.head_dim, [=](B& b) {
                     const std::string x = b.input(q), g = b.weight(norm, {h.head_dim});
                     return b.op("q3.head_rms_norm " + x + ", " + g + " " + kEps + " : " + B::activation(q) + ", " +
                                 B::weight_type({h.head_dim}, norm));
                   }});
    all.push_back({"rope_" + shape, q, h.heads, h.kv_heads, h.head_dim, [=](B& b) {
                     const std::string x = b.input(q);
                     return b.op("q3.rope " + x + ", %positions {head_dim = " + std::to_string(h.head_dim) +
                                 " : i64, theta = " + real(1e4) + " : f64} : " + B::activation(q) + ", tensor<?xi64>");
                   }});
    for (bool truncate : {true, false}) {
      all.push_back({std::string("rope_yarn_") + (truncate ? "" : "exact_") + shape, q, h.heads, h.kv_heads,
                     h.head_dim, [=](B& b) {
                       const std::string x = b.input(q);
                       return b.op("q3.rope " + x + ", %positions {head_dim = " + std::to_string(h.head_dim) +
                                   " : i64, theta = " + real(1e4) + " : f64, " + yarn_attr(truncate) + "} : " +
                                   B::activation(q) + ", tensor<?xi64>");
                     }});
    }
    Case attention{"attention_" + shape, q, h.heads, h.kv_heads, h.head_dim, nullptr};
    attention.build = [=](B& b) {
      const std::string qv = b.input(q), kv_in = b.input(kv), vv = b.input(kv);
      return b.op("q3.attention " + qv + ", " + kv_in + ", " + vv + ", %cache at %positions in %slots " + attention_attrs(attention, true, false) +
                  " : " + B::activation(q) + ", " + B::activation(kv) + ", " + b.cache_type());
    };
    all.push_back(attention);
    // The fused prologue and the attention that reads what it appended.
    auto prologue = [=](B& b, const Case& c, bool yarn = false) {
      const std::string qv = b.input(q), kv_in = b.input(kv), vv = b.input(kv);
      const std::string qn = b.weight(norm, {h.head_dim}), kn = b.weight(norm, {h.head_dim});
      const std::string nt = B::weight_type({h.head_dim}, norm);
      std::string attrs = attention_attrs(c, false, true, yarn);
      return b.op("q3.qk_norm_rope_append " + qv + ", " + kv_in + ", " + vv + ", " + qn + ", " + kn +
                  ", %cache at %positions in %slots " + attrs + " : " + B::activation(q) + ", " + B::activation(kv) +
                  ", " + B::activation(kv) + ", " + nt + ", " + nt + ", " + b.cache_type());
    };
    Case fused{"qk_norm_rope_append_cached_attention_" + shape, q, h.heads, h.kv_heads, h.head_dim, nullptr};
    fused.build = [=](B& b) {
      const std::string rotated = prologue(b, fused);
      return b.op("q3.cached_attention " + rotated + ", %cache at %positions in %slots " + attention_attrs(fused, true, false) + " : " +
                  B::activation(q) + ", " + b.cache_type());
    };
    all.push_back(fused);
    Case fused_yarn{"qk_norm_rope_append_yarn_cached_attention_" + shape, q, h.heads, h.kv_heads, h.head_dim, nullptr};
    fused_yarn.build = [=](B& b) {
      const std::string rotated = prologue(b, fused_yarn, true);
      return b.op("q3.cached_attention " + rotated + ", %cache at %positions in %slots " +
                  attention_attrs(fused_yarn, true, false) + " : " + B::activation(q) + ", " + b.cache_type());
    };
    all.push_back(fused_yarn);
    if (h.head_dim == 20) {
      Case alone{"qk_norm_rope_append_" + shape, q, h.heads, h.kv_heads, h.head_dim, nullptr};
      alone.build = [=](B& b) { return prologue(b, alone); };
      all.push_back(alone);
    }
  }
  // Matrix products in every weight format: odd input or output widths where the format
  // allows (quantised rows are whole blocks of 32).
  struct Product {
    std::string format;
    std::int64_t in, out;
  };
  std::vector<Product> products;
  for (std::string f : {"f32", "bf16", "f16"}) {
    products.push_back({f, 37, 40});
    products.push_back({f, 64, 37});
  }
  for (std::string f : {"q8_0", "q4_0"}) {
    products.push_back({f, 64, 37});
    products.push_back({f, 96, 40});
  }
  for (const Product& p : products) {
    all.push_back({"linear_" + p.format + "_" + std::to_string(p.out) + "x" + std::to_string(p.in), p.out, 1, 1, 2,
                   [p](B& b) {
                     const std::string x = b.input(p.in), w = b.weight(p.format, {p.out, p.in});
                     return b.op("q3.linear " + x + ", " + w + " : " + B::activation(p.in) + ", " +
                                 B::weight_type({p.out, p.in}, p.format) + " -> " + B::activation(p.out));
                   }});
  }
  for (std::string f : {"f32", "bf16", "q8_0", "q4_0"}) {
    all.push_back({"swiglu_" + f + "_2x20x64", 20, 1, 1, 2, [f](B& b) {
                     const std::string x = b.input(64), w = b.weight(f, {40, 64});
                     return b.op("q3.swiglu " + x + ", " + w + " : " + B::activation(64) + ", " +
                                 B::weight_type({40, 64}, f) + " -> " + B::activation(20));
                   }});
  }
  struct Folded {
    std::string op, format, norm;
    std::int64_t rows, out;
  };
  for (Folded f : {Folded{"rms_norm_linear", "bf16", "bf16", 37, 37}, Folded{"rms_norm_linear", "q8_0", "f32", 37, 37},
                   Folded{"rms_norm_linear", "q4_0", "bf16", 40, 40}, Folded{"rms_norm_swiglu", "bf16", "bf16", 40, 20},
                   Folded{"rms_norm_swiglu", "q4_0", "f32", 40, 20}}) {
    all.push_back({f.op + "_" + f.format + "_norm_" + f.norm, f.out, 1, 1, 2, [f](B& b) {
                     const std::string x = b.input(64), g = b.weight(f.norm, {64}), w = b.weight(f.format, {f.rows, 64});
                     return b.op("q3." + f.op + " " + x + ", " + g + ", " + w + " " + kEps + " : " + B::activation(64) +
                                 ", " + B::weight_type({64}, f.norm) + ", " + B::weight_type({f.rows, 64}, f.format) +
                                 " -> " + B::activation(f.out));
                   }});
  }
  for (int result : {0, 1}) {
    for (std::string norm : {"bf16", "f32"}) {
      if (result == 0 && norm == "f32") continue;
      all.push_back({std::string("add_rms_norm_") + (result ? "normalized_" : "sum_") + norm, 37, 1, 1, 2,
                     [result, norm](B& b) {
                       const std::string x = b.input(37), y = b.input(37), g = b.weight(norm, {37});
                       const std::string both = b.op("q3.add_rms_norm " + x + ", " + y + ", " + g + " " + kEps +
                                                     " : " + B::activation(37) + ", " + B::weight_type({37}, norm));
                       // "%vN = ..." with two results is spelled "%vN:2"; the builder names one value.
                       return both + "#" + std::to_string(result);
                     }});
    }
  }
  all.push_back({"silu_37", 37, 1, 1, 2, [](B& b) { return b.op("q3.silu " + b.input(37) + " : " + B::activation(37)); }});
  for (std::string op : {"mul", "add"}) {
    all.push_back({op + "_37", 37, 1, 1, 2, [op](B& b) {
                     const std::string x = b.input(37), y = b.input(37);
                     return b.op("q3." + op + " " + x + ", " + y + " : " + B::activation(37));
                   }});
  }
  return all;
}

ModelConfig config_for(const Case& c) {
  ModelConfig config;
  config.vocab_size = c.width;
  config.hidden_size = c.width;
  config.intermediate_size = c.width;
  config.num_layers = 1;
  config.num_heads = c.heads;
  config.num_kv_heads = c.kv_heads;
  config.head_dim = c.head_dim;
  config.max_position_embeddings = 128;
  config.rope_theta = 1e4;
  config.dtype = DType::F32;
  return config;
}

// Every (backend, precision) the compiler registers: "cpu/fast", "cpu/f32", "vulkan/f32", ...
std::vector<std::string> targets() {
  std::vector<std::string> all;
  for (const std::string& backend : registered_backends()) {
    for (const std::string& precision : create_backend(backend)->precisions()) all.push_back(backend + "/" + precision);
  }
  return all;
}

class Conformance : public ::testing::TestWithParam<std::tuple<Case, std::string>> {};

TEST_P(Conformance, OpMatchesTheReferenceEvaluator) {
  const auto& [c, target] = GetParam();
  const std::string backend = target.substr(0, target.find('/')), precision = target.substr(target.find('/') + 1);
  InMemoryWeights weights;
  ModuleBuilder b(weights, c.width);
  b.heads = c.heads;
  b.kv_heads = c.kv_heads;
  b.head_dim = c.head_dim;
  std::string result = c.build(b);
  std::string text = b.text(result, c.width);
  // An op with two results is named "%vN:2" where it is defined.
  if (auto hash = result.find('#'); hash != std::string::npos) {
    const std::string def = result.substr(0, hash) + " = q3.add_rms_norm";
    text.replace(text.find(def), def.size(), result.substr(0, hash) + ":2 = q3.add_rms_norm");
  }
  auto context = make_compiler_context();
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, context.get());
  ASSERT_TRUE(module) << "the case's module does not parse:\n" << text;

  TempDir dir;
  const std::string artifact = dir.file(c.label + ".q3c");
  CompileOptions options;
  options.target = backend;
  options.precision = precision;
  absl::Status compiled = compile_module(*module, config_for(c), weights, options, artifact);
  // What a backend declares unsupported (Backend::unsupported) is reported, not failed.
  if (absl::IsUnimplemented(compiled)) GTEST_SKIP() << target << " does not support " << c.label << ": " << compiled.message();
  ASSERT_TRUE(compiled.ok()) << c.label << " does not compile for " << target << ": " << compiled.message();

  q3::ReferenceEvaluator eval(*module, [&](const std::string& name) { return weights.values(name); });
  auto model = Model::load(artifact);
  Session session(model, kContext);
  // 7 tokens, 70 after them, then two single tokens.
  std::vector<std::vector<std::int64_t>> steps = {{}, {}, {5}, {2}};
  for (int t = 0; t < 7; ++t) steps[0].push_back((t * 3 + 1) % c.width);
  for (int t = 0; t < 70; ++t) steps[1].push_back((t * 7 + 2) % c.width);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    for (auto& id : steps[s]) id %= c.width;
    const std::vector<float> expected = eval.forward(steps[s]);
    const std::vector<float> ours = session.forward(steps[s], /*all_logits=*/true);
    ASSERT_EQ(ours.size(), expected.size());
    const double error = relative_error(ours.data(), expected.data(), ours.size());
    EXPECT_LE(error, kMaxRelativeError) << c.label << " on " << target << ": step " << s << " ("
                                        << steps[s].size() << " tokens after " << session.position() - steps[s].size()
                                        << "): relative error " << error;
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, Conformance, ::testing::Combine(::testing::ValuesIn(cases()), ::testing::ValuesIn(targets())),
                         [](const auto& info) {
                           std::string target = std::get<1>(info.param);
                           target[target.find('/')] = '_';
                           return target + "_" + std::get<0>(info.param).label;
                         });

}  // namespace
}  // namespace qwen3c
