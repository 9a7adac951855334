// RUN: tessel-opt %s -tessel-outline-weights -split-input-file -verify-diagnostics | FileCheck %s

// Blob weights become views of a new first argument at 64-byte aligned
// offsets; inline constants stay; every result is copied into a fresh buffer.
// CHECK-LABEL: module attributes {tessel.weights = [{name = "w0", offset = 0 : i64, value = dense_resource<w0> : tensor<3xf32>}, {name = "w1", offset = 64 : i64, value = dense_resource<w1> : tensor<2xf32>}]}
// CHECK:       func.func @main(%[[W:[a-z0-9]+]]: memref<?xi8> {tessel.name = "__weights__"}
// CHECK-SAME:    tensor<3xf32>)
// CHECK:         %[[C0:.+]] = arith.constant 0 : index
// CHECK:         memref.view %[[W]][%[[C0]]][] : memref<?xi8> to memref<3xf32>
// CHECK:         bufferization.to_tensor {{.*}} restrict
// CHECK:         %[[C64:.+]] = arith.constant 64 : index
// CHECK:         memref.view %[[W]][%[[C64]]][] : memref<?xi8> to memref<2xf32>
// CHECK:         tessel.constant dense<1.000000e+00> : tensor<3xf32>
// CHECK:         %[[R:.+]] = bufferization.alloc_tensor() copy(
// CHECK:         return %[[R]]
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %w0 = tessel.constant dense_resource<w0> : tensor<3xf32> loc("w0")
  %w1 = tessel.constant dense_resource<w1> : tensor<2xf32> loc("w1")
  %c = tessel.constant dense<1.0> : tensor<3xf32>
  %a = tessel.add %x, %w0 : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %b = tessel.add %a, %c : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %b : tensor<3xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F0000004000004040",
      w1: "0x040000000000803F00000040"
    }
  }
#-}

// -----

// A returned argument is copied too: the caller frees what it gets.
// CHECK-LABEL: func.func @main(%{{[a-z0-9]+}}: memref<?xi8> {tessel.name = "__weights__"}, %{{[a-z0-9]+}}: tensor<2xf32>)
// CHECK:         %[[R:.+]] = bufferization.alloc_tensor() copy(%{{.+}}) : tensor<2xf32>
// CHECK:         return %[[R]]
func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// expected-error @below {{tessel-outline-weights needs a func.func @main}}
module {
  func.func @not_main(%x: tensor<2xf32>) -> tensor<2xf32> {
    return %x : tensor<2xf32>
  }
}
