#pragma once
// A context with the q3 dialects, and parse/print helpers for IR tests.

#include <string>

#include "ir/registration.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

namespace qwen3c::testing {

inline mlir::DialectRegistry q3_registry() {
  mlir::DialectRegistry registry;
  q3::register_dialects(registry);
  return registry;
}

class IrTest {
 public:
  IrTest() : context_(q3_registry()) { context_.loadAllAvailableDialects(); }
  mlir::MLIRContext& context() { return context_; }

  static std::string print(mlir::ModuleOp module) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module.print(os);
    return text;
  }

  // Parses (and verifies) `text`; collects diagnostics into `diagnostics`.
  mlir::OwningOpRef<mlir::ModuleOp> parse(const std::string& text, std::string* diagnostics) {
    mlir::ScopedDiagnosticHandler handler(&context_, [&](mlir::Diagnostic& d) {
      if (diagnostics) *diagnostics += d.str() + "\n";
      return mlir::success();
    });
    return mlir::parseSourceString<mlir::ModuleOp>(text, &context_);
  }

 private:
  mlir::MLIRContext context_;
};

}  // namespace qwen3c::testing
