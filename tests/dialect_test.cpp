// The q3 dialect's verifiers: each malformed op is rejected with a message that says why.

#include <gtest/gtest.h>

#include "ir/Q3.h"
#include "tests/ir_test_util.h"

namespace qwen3c {
namespace {

// A one-layer model, small enough to read: 2 query heads, 1 KV head of 4, hidden 8.
// `body` is spliced into the function; it sees %x (activations), %ids, %pos and %cache.
std::string module_with(const std::string& body, const std::string& extra_weights = "") {
  return R"(
module {
  q3.weight @w8x8 : tensor<8x8xbf16>
  q3.weight @w4x8 : tensor<4x8xbf16>
  q3.weight @n8 : tensor<8xf32>
  q3.weight @n4 : tensor<4xf32>
  q3.weight @emb : tensor<16x8xbf16>
)" + extra_weights + R"(
  func.func @forward(%ids: tensor<?xi64>, %pos: tensor<?xi64>, %slots: tensor<?xi64>,
                     %cache: !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>)
      -> tensor<?x8xf32> {
    %e = q3.get_weight @emb : tensor<16x8xbf16>
    %x = q3.embedding %e[%ids] : tensor<16x8xbf16>, tensor<?xi64> -> tensor<?x8xf32>
)" + body + R"(
    return %x : tensor<?x8xf32>
  }
}
)";
}

struct VerifierCase {
  std::string label;
  std::string body;
  std::string expected;
  std::string extra_weights = "";
};

void PrintTo(const VerifierCase& c, std::ostream* os) { *os << c.label; }

class Verifier : public ::testing::TestWithParam<VerifierCase>, public testing::IrTest {};

TEST_P(Verifier, RejectsWithReason) {
  std::string diagnostics;
  auto module = parse(module_with(GetParam().body, GetParam().extra_weights), &diagnostics);
  EXPECT_FALSE(module) << "accepted:\n" << GetParam().body;
  EXPECT_NE(diagnostics.find(GetParam().expected), std::string::npos) << diagnostics;
}

INSTANTIATE_TEST_SUITE_P(
    Q3, Verifier,
    ::testing::Values(
        VerifierCase{"linear_out_features",
                     "%w = q3.get_weight @w4x8 : tensor<4x8xbf16>\n"
                     "%y = q3.linear %x, %w : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x8xf32>",
                     "produces 4 features, result has 8"},
        VerifierCase{"linear_in_features",
                     "%w = q3.get_weight @w4x8 : tensor<4x8xbf16>\n"
                     "%x4 = q3.linear %x, %w : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>\n"
                     "%y = q3.linear %x4, %w : tensor<?x4xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>",
                     "expects rows of 8 elements, input has 4",
                     ""},
        VerifierCase{"undeclared_weight", "%w = q3.get_weight @nope : tensor<8x8xbf16>",
                     "'nope' does not name a q3.weight"},
        VerifierCase{"weight_type_mismatch", "%w = q3.get_weight @w8x8 : tensor<8x8xf32>",
                     "differs from the declared type"},
        VerifierCase{"rms_norm_width",
                     "%n = q3.get_weight @n4 : tensor<4xf32>\n"
                     "%y = q3.rms_norm %x, %n {epsilon = 1.0e-6 : f64} : tensor<?x8xf32>, tensor<4xf32>",
                     "weight of 4 elements does not match rows of 8"},
        VerifierCase{"rms_norm_epsilon",
                     "%n = q3.get_weight @n8 : tensor<8xf32>\n"
                     "%y = q3.rms_norm %x, %n {epsilon = 0.0 : f64} : tensor<?x8xf32>, tensor<8xf32>",
                     "epsilon must be positive"},
        VerifierCase{"head_norm_not_dividing",
                     "%n = q3.get_weight @n3 : tensor<3xf32>\n"
                     "%y = q3.head_rms_norm %x, %n {epsilon = 1.0e-6 : f64} : tensor<?x8xf32>, tensor<3xf32>",
                     "weight of 3 elements does not divide rows of 8",
                     "q3.weight @n3 : tensor<3xf32>"},
        VerifierCase{"rope_odd_head_dim",
                     "%y = q3.rope %x, %pos {head_dim = 3 : i64, theta = 1.0e6 : f64} : tensor<?x8xf32>, tensor<?xi64>",
                     "head_dim must be positive and even"},
        VerifierCase{"rope_not_whole_heads",
                     "%y = q3.rope %x, %pos {head_dim = 6 : i64, theta = 1.0e6 : f64} : tensor<?x8xf32>, tensor<?xi64>",
                     "not a whole number of heads of 6"},
        VerifierCase{"attention_gqa",
                     "%k = q3.get_weight @w4x8 : tensor<4x8xbf16>\n"
                     "%kv = q3.linear %x, %k : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>\n"
                     "%a = q3.attention %x, %kv, %kv, %cache at %pos in %slots {layer = 0 : i64, num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>",
                     "num_kv_heads (2) must divide num_heads (3)"},
        VerifierCase{"attention_query_width",
                     "%k = q3.get_weight @w4x8 : tensor<4x8xbf16>\n"
                     "%kv = q3.linear %x, %k : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>\n"
                     "%a = q3.attention %x, %kv, %kv, %cache at %pos in %slots {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>",
                     "query rows must hold num_heads x head_dim = 16 elements, got 8"},
        VerifierCase{"attention_layer_outside_cache",
                     "%k = q3.get_weight @w4x8 : tensor<4x8xbf16>\n"
                     "%kv = q3.linear %x, %k : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>\n"
                     "%a = q3.attention %x, %kv, %kv, %cache at %pos in %slots {layer = 1 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>",
                     "layer 1 is outside the cache's 1 layers"},
        VerifierCase{"attention_key_width",
                     "%a = q3.attention %x, %x, %x, %cache at %pos in %slots {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x8xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>",
                     "key/value rows must hold num_kv_heads x head_dim = 4 elements, got 8"},
        VerifierCase{"embedding_width",
                     "%y = q3.embedding %e[%ids] : tensor<16x8xbf16>, tensor<?xi64> -> tensor<?x4xf32>",
                     "do not match the table's 8"},
        VerifierCase{"weight_dynamic_shape", "", "statically shaped",
                     "q3.weight @dyn : tensor<?x8xbf16>"},
        VerifierCase{"weight_int_dtype", "", "q3.weight",
                     "q3.weight @int : tensor<8xi8>"},
        VerifierCase{"cache_zero_layers", "",
                     "kv_cache dimensions must be positive",
                     "func.func private @f(!q3.kv_cache<layers = 0, kv_heads = 1, head_dim = 4, element_type = f32>)"},
        VerifierCase{"activation_not_f32",
                     "%y = q3.silu %e : tensor<16x8xbf16>",
                     "tensor of 32-bit float values"}),
    [](const ::testing::TestParamInfo<VerifierCase>& info) { return info.param.label; });

class Dialect : public ::testing::Test, public testing::IrTest {};

TEST_F(Dialect, WellFormedModuleParsesAndRoundTrips) {
  const std::string body =
      "%k = q3.get_weight @w4x8 : tensor<4x8xbf16>\n"
      "%kv = q3.linear %x, %k : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>\n"
      "%r = q3.rope %x, %pos {head_dim = 4 : i64, theta = 1.0e6 : f64} : tensor<?x8xf32>, tensor<?xi64>\n"
      "%a = q3.attention %r, %kv, %kv, %cache at %pos in %slots {layer = 0 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : tensor<?x8xf32>, tensor<?x4xf32>, !q3.kv_cache<layers = 1, kv_heads = 1, head_dim = 4, element_type = f32>\n"
      "%s = q3.silu %a : tensor<?x8xf32>\n"
      "%m = q3.mul %s, %a : tensor<?x8xf32>\n"
      "%y = q3.add %m, %x : tensor<?x8xf32>";
  std::string diagnostics;
  auto module = parse(module_with(body), &diagnostics);
  ASSERT_TRUE(module) << diagnostics;
  std::string printed = print(*module);
  auto again = parse(printed, &diagnostics);
  ASSERT_TRUE(again) << diagnostics;
  EXPECT_EQ(print(*again), printed);
}

}  // namespace
}  // namespace qwen3c
