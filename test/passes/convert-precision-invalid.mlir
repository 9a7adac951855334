// RUN: tessel-opt %s -tessel-convert-precision=precision=fp8 -verify-diagnostics
//
// An unknown precision is an error naming it.

// expected-error @below {{tessel-convert-precision: unknown precision 'fp8' (expected fp32, fp16 or bf16)}}
module {
  func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    return %x : tensor<2xf32>
  }
}
