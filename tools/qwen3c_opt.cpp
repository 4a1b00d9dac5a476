// qwen3c-opt: parses q3 IR, runs passes by name, prints the result. For textual IR tests:
//   qwen3c-opt input.mlir --pass-pipeline='builtin.module(cse)'
//   qwen3c-opt input.mlir --cse --canonicalize

#include "ir/registration.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "passes/registration.h"

int main(int argc, char** argv) {
  mlir::DialectRegistry registry;
  qwen3c::q3::register_dialects(registry);
  qwen3c::register_passes();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "qwen3c optimizer driver for q3 IR\n", registry));
}
