// RUN: tessel-opt %s -tessel-approximate-math -split-input-file | FileCheck %s

// f32 exp/tanh/erf become arithmetic (vectorisable), no math call remains.
// CHECK-LABEL: func.func @f32_math
// CHECK-NOT:     math.exp
// CHECK-NOT:     math.tanh
// CHECK-NOT:     math.erf
// CHECK:         return
func.func @f32_math(%x: f32) -> (f32, f32, f32) {
  %e = math.exp %x : f32
  %t = math.tanh %x : f32
  %r = math.erf %x : f32
  return %e, %t, %r : f32, f32, f32
}

// -----

// f64 keeps the math op (lowered to libm later).
// CHECK-LABEL: func.func @f64_math
// CHECK:         math.exp %{{.*}} : f64
func.func @f64_math(%x: f64) -> f64 {
  %e = math.exp %x : f64
  return %e : f64
}
