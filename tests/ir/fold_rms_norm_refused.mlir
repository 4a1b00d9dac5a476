// q3-fold-rms-norm folds a norm into its users only when every user is a matrix product
// reading it as input: all of them or none.
// RUN: qwen3c-opt %s -split-input-file -verify-diagnostics --q3-fold-rms-norm=verbose=true | FileCheck %s

q3.weight @n : tensor<32xbf16>
q3.weight @w : tensor<64x32xbf16>
// CHECK-LABEL: func.func @also_read_by_an_add
// CHECK: q3.rms_norm
// CHECK: q3.linear
// CHECK-NOT: q3.rms_norm_linear
func.func @also_read_by_an_add(%x: tensor<?x32xf32>) -> (tensor<?x64xf32>, tensor<?x32xf32>) {
  %n = q3.get_weight @n : tensor<32xbf16>
  %w = q3.get_weight @w : tensor<64x32xbf16>
  // expected-remark @+1 {{not folded: a user of the norm is not a linear or swiglu reading it as input}}
  %r = q3.rms_norm %x, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<32xbf16>
  %y = q3.linear %r, %w : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %z = q3.add %r, %x : tensor<?x32xf32>
  return %y, %z : tensor<?x64xf32>, tensor<?x32xf32>
}

// -----

q3.weight @n : tensor<32xbf16>
// CHECK-LABEL: func.func @returned
// CHECK: q3.rms_norm
func.func @returned(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %n = q3.get_weight @n : tensor<32xbf16>
  // expected-remark @+1 {{not folded: a user of the norm is not a linear or swiglu reading it as input}}
  %r = q3.rms_norm %x, %n {epsilon = 1.0e-06 : f64} : tensor<?x32xf32>, tensor<32xbf16>
  return %r : tensor<?x32xf32>
}
