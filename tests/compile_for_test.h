#pragma once
// Compiling test models through the compiler library (backends/compiler.h), as programs
// that embed the compiler do: no qwen3c binary involved.

#include <gtest/gtest.h>

#include <string>

#include "backends/compiler.h"

namespace qwen3c::testing {

// Tests that compare with Hugging Face's logits compile at --precision f32 (the default
// here); `fast` rounds activations and is measured against f32 instead.
inline CompileOptions target_options(const std::string& target, const std::string& quant = "bf16", int opt_level = 2,
                                     const std::string& precision = "f32") {
  CompileOptions o;
  o.target = target;
  o.quant = quant;
  o.opt_level = opt_level;
  o.precision = precision;
  return o;
}

// Compiles `model` (a folder or config.json) into `output` with `options` (its `model` is
// set here); a failure fails the current test with the compiler's message.
inline void compile_for_test(const std::string& model, const std::string& output,
                             CompileOptions options = target_options("cpu")) {
  options.model = model;
  absl::StatusOr<CompileSummary> done = compile_model(options, output);
  ASSERT_TRUE(done.ok()) << "compiling " << model << ": " << done.status().message();
}


}  // namespace qwen3c::testing
