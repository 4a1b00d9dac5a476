// q3-fuse-add-rms-norm leaves a norm alone unless it reads a q3.add and its weight is a
// q3.get_weight it can move up to the add.
// RUN: qwen3c-opt %s -split-input-file -verify-diagnostics --q3-fuse-add-rms-norm=verbose=true | FileCheck %s

q3.weight @n : tensor<32xbf16>
// CHECK-LABEL: func.func @input_not_an_add
// CHECK: q3.mul
// CHECK: q3.rms_norm
// CHECK-NOT: q3.add_rms_norm
func.func @input_not_an_add(%a: tensor<?x32xf32>, %b: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %n = q3.get_weight @n : tensor<32xbf16>
  %m = q3.mul %a, %b : tensor<?x32xf32>
  // expected-remark @+1 {{not fused into q3.add_rms_norm: the input is not a q3.add}}
  %r = q3.rms_norm %m, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<32xbf16>
  return %r : tensor<?x32xf32>
}

// -----

// CHECK-LABEL: func.func @weight_is_an_argument
// CHECK: q3.add
// CHECK: q3.rms_norm
// CHECK-NOT: q3.add_rms_norm
func.func @weight_is_an_argument(%a: tensor<?x32xf32>, %b: tensor<?x32xf32>, %n: tensor<32xbf16>) -> tensor<?x32xf32> {
  %s = q3.add %a, %b : tensor<?x32xf32>
  // expected-remark @+1 {{not fused into q3.add_rms_norm: the norm weight is not a q3.get_weight}}
  %r = q3.rms_norm %s, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<32xbf16>
  return %r : tensor<?x32xf32>
}
