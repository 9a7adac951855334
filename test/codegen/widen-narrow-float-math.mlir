// RUN: tessel-opt %s -tessel-widen-narrow-float-math -cse -split-input-file | FileCheck %s
//
// f16/bf16 arithmetic computes in f32; a fused body rounds once, where it
// yields.

// CHECK-LABEL: func.func @fused_chain
// CHECK:         linalg.generic
// CHECK:         ^bb0(%[[A:.+]]: bf16, %[[B:.+]]: bf16, %[[OUT:.+]]: bf16):
// CHECK-DAG:       %[[AW:.+]] = arith.extf %[[A]] : bf16 to f32
// CHECK-DAG:       %[[BW:.+]] = arith.extf %[[B]] : bf16 to f32
// CHECK:           %[[S:.+]] = arith.addf %[[AW]], %[[BW]] : f32
// CHECK:           %[[E:.+]] = math.exp %[[S]] : f32
// CHECK:           %[[M:.+]] = arith.mulf %[[E]], %[[AW]] : f32
// CHECK:           %[[R:.+]] = arith.truncf %[[M]] : f32 to bf16
// CHECK-NOT:       arith.truncf
// CHECK:           linalg.yield %[[R]] : bf16
#map = affine_map<(d0) -> (d0)>
func.func @fused_chain(%a: tensor<8xbf16>, %b: tensor<8xbf16>) -> tensor<8xbf16> {
  %init = tensor.empty() : tensor<8xbf16>
  %0 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%a, %b : tensor<8xbf16>, tensor<8xbf16>) outs(%init : tensor<8xbf16>) {
  ^bb0(%x: bf16, %y: bf16, %o: bf16):
    %s = arith.addf %x, %y : bf16
    %e = math.exp %s : bf16
    %m = arith.mulf %e, %x : bf16
    linalg.yield %m : bf16
  } -> tensor<8xbf16>
  return %0 : tensor<8xbf16>
}

// -----

// Comparisons widen their operands; constants fold into f32 constants;
// f32 and integer arithmetic is untouched; an explicit truncf/extf pair the
// graph asked for between f32 values is a rounding of an intermediate too.
// CHECK-LABEL: func.func @scalars
// CHECK-SAME:    (%[[H:.+]]: f16, %[[F:.+]]: f32, %[[I:.+]]: i32)
// CHECK-DAG:     %[[HW:.+]] = arith.extf %[[H]] : f16 to f32
// CHECK-DAG:     %[[TWO:.+]] = arith.constant 2.000000e+00 : f32
// CHECK:         %[[C:.+]] = arith.cmpf olt, %[[HW]], %[[TWO]] : f32
// CHECK:         %[[SEL:.+]] = arith.select %[[C]], %[[HW]], %[[TWO]] : f32
// CHECK:         arith.truncf %[[SEL]] : f32 to f16
// CHECK:         %[[G:.+]] = arith.addf %[[F]], %[[F]] : f32
// CHECK:         arith.addi %[[I]], %[[I]] : i32
// CHECK:         return {{.+}}, %[[G]]
func.func @scalars(%h: f16, %f: f32, %i: i32) -> (f16, f32, i32) {
  %two = arith.constant 2.0 : f16
  %c = arith.cmpf olt, %h, %two : f16
  %s = arith.select %c, %h, %two : f16
  %g = arith.addf %f, %f : f32
  %t = arith.truncf %g : f32 to f16
  %w = arith.extf %t : f16 to f32
  %j = arith.addi %i, %i : i32
  return %s, %w, %j : f16, f32, i32
}
