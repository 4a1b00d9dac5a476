// q3-fuse-swiglu leaves alone what is not exactly silu(x Wg^T) * (x Wu^T), and says why.
// RUN: qwen3c-opt %s -split-input-file -verify-diagnostics --q3-fuse-swiglu=verbose=true | FileCheck %s

q3.weight @g : tensor<64x32xbf16>
q3.weight @u : tensor<64x32xbf16>
// CHECK-LABEL: func.func @different_inputs
// CHECK: q3.silu
// CHECK: q3.mul
// CHECK-NOT: q3.swiglu
func.func @different_inputs(%x: tensor<?x32xf32>, %y: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %g = q3.get_weight @g : tensor<64x32xbf16>
  %u = q3.get_weight @u : tensor<64x32xbf16>
  %a = q3.linear %x, %g : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %b = q3.linear %y, %u : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %s = q3.silu %a : tensor<?x64xf32>
  // expected-remark @+1 {{not fused into q3.swiglu: gate and up read different inputs}}
  %m = q3.mul %s, %b : tensor<?x64xf32>
  return %m : tensor<?x64xf32>
}

// -----

q3.weight @g : tensor<64x32xbf16>
q3.weight @u : tensor<64x32xbf16>
// CHECK-LABEL: func.func @silu_used_twice
// CHECK-NOT: q3.swiglu
func.func @silu_used_twice(%x: tensor<?x32xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %g = q3.get_weight @g : tensor<64x32xbf16>
  %u = q3.get_weight @u : tensor<64x32xbf16>
  %a = q3.linear %x, %g : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %b = q3.linear %x, %u : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %s = q3.silu %a : tensor<?x64xf32>
  // expected-remark @+1 {{not fused into q3.swiglu: gate, up or silu has another user}}
  %m = q3.mul %s, %b : tensor<?x64xf32>
  return %m, %s : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

q3.weight @g : tensor<64x32xbf16>
q3.weight @u : tensor<64x32xbf16>
// CHECK-LABEL: func.func @no_silu
// CHECK: q3.mul
// CHECK-NOT: q3.swiglu
func.func @no_silu(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %g = q3.get_weight @g : tensor<64x32xbf16>
  %u = q3.get_weight @u : tensor<64x32xbf16>
  %a = q3.linear %x, %g : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %b = q3.linear %x, %u : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  // expected-remark @+1 {{not fused into q3.swiglu: not silu(linear) * linear}}
  %m = q3.mul %a, %b : tensor<?x64xf32>
  return %m : tensor<?x64xf32>
}

// -----

q3.weight @u : tensor<64x32xbf16>
// CHECK-LABEL: func.func @silu_of_no_linear
// CHECK-NOT: q3.swiglu
func.func @silu_of_no_linear(%x: tensor<?x32xf32>, %h: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %u = q3.get_weight @u : tensor<64x32xbf16>
  %b = q3.linear %x, %u : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %s = q3.silu %h : tensor<?x64xf32>
  // expected-remark @+1 {{not fused into q3.swiglu: silu does not read a linear}}
  %m = q3.mul %s, %b : tensor<?x64xf32>
  return %m : tensor<?x64xf32>
}

// -----

q3.weight @g : tensor<64x32xbf16>
q3.weight @u : tensor<64x32xf32>
// CHECK-LABEL: func.func @weights_of_two_types
// CHECK-NOT: q3.swiglu
func.func @weights_of_two_types(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %g = q3.get_weight @g : tensor<64x32xbf16>
  %u = q3.get_weight @u : tensor<64x32xf32>
  %a = q3.linear %x, %g : tensor<?x32xf32>, tensor<64x32xbf16> -> tensor<?x64xf32>
  %b = q3.linear %x, %u : tensor<?x32xf32>, tensor<64x32xf32> -> tensor<?x64xf32>
  %s = q3.silu %a : tensor<?x64xf32>
  // expected-remark @+1 {{not fused into q3.swiglu: gate and up weights differ in type}}
  %m = q3.mul %s, %b : tensor<?x64xf32>
  return %m : tensor<?x64xf32>
}
