#pragma once
// Compiling test models through the compiler library (backends/compiler.h), as programs
// that embed the compiler do: no qwen3c binary involved.

#include <gtest/gtest.h>

#include <string>

#include "backends/compiler.h"

namespace qwen3c::testing {

// Compiles `model` (a folder or config.json) into `output` with `options` (its `model` is
// set here); a failure fails the current test with the compiler's message.
inline void compile_for_test(const std::string& model, const std::string& output, CompileOptions options = {}) {
  options.model = model;
  absl::StatusOr<CompileSummary> done = compile_model(options, output);
  ASSERT_TRUE(done.ok()) << "compiling " << model << ": " << done.status().message();
}

inline CompileOptions target_options(const std::string& target, const std::string& quant = "bf16", int opt_level = 2) {
  CompileOptions o;
  o.target = target;
  o.quant = quant;
  o.opt_level = opt_level;
  return o;
}

}  // namespace qwen3c::testing
