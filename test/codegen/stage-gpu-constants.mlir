// RUN: tessel-opt %s -tessel-stage-gpu-constants | FileCheck %s
//
// Constants a GPU kernel reads are copied into a host-allocated buffer
// (managed memory on the CUDA target), once per function and constant, at
// the start of the function (before any kernel is queued), freed at the end.

module attributes {gpu.container_module} {
  memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
  // CHECK-LABEL: func.func @kernel_reads_constant
  // CHECK:         %[[G:.+]] = memref.get_global @table : memref<4xf32>
  // CHECK-NEXT:    %[[S:.+]] = memref.alloc() : memref<4xf32>
  // CHECK-NEXT:    linalg.copy ins(%[[G]] : memref<4xf32>) outs(%[[S]] : memref<4xf32>)
  // CHECK:         gpu.launch
  // CHECK-NEXT:      memref.load %[[S]]
  // CHECK:         memref.dealloc %[[S]] : memref<4xf32>
  // CHECK-NEXT:    return
  func.func @kernel_reads_constant(%out: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %g = memref.get_global @table : memref<4xf32>
    gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1) threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %c = %c1) {
      %v = memref.load %g[%tx] : memref<4xf32>
      memref.store %v, %out[%tx] : memref<4xf32>
      gpu.terminator
    }
    return
  }
  // A constant whose pointer goes to the runtime's cuBLAS product.
  func.func private @tessel_cuda_sgemm(index)
  // CHECK-LABEL: func.func @cublas_reads_constant
  // CHECK:         %[[G:.+]] = memref.get_global @table : memref<4xf32>
  // CHECK-NEXT:    %[[S:.+]] = memref.alloc() : memref<4xf32>
  // CHECK-NEXT:    linalg.copy ins(%[[G]] : memref<4xf32>) outs(%[[S]] : memref<4xf32>)
  // CHECK-NEXT:    memref.extract_aligned_pointer_as_index %[[S]]
  // CHECK:         memref.dealloc %[[S]]
  func.func @cublas_reads_constant() {
    %g = memref.get_global @table : memref<4xf32>
    %p = memref.extract_aligned_pointer_as_index %g : memref<4xf32> -> index
    func.call @tessel_cuda_sgemm(%p) : (index) -> ()
    return
  }
  // Likewise for the f16/bf16 product and the runtime's attention kernel
  // (Llama's rotary `inv_freq @ positions` in f16 read host memory on the
  // GPU when only tessel_cuda_sgemm counted).
  func.func private @tessel_cuda_gemm_mixed(index)
  func.func private @tessel_rt_cuda_attention_f16(memref<4xf32>)
  // CHECK-LABEL: func.func @mixed_gemm_reads_constant
  // CHECK:         %[[G:.+]] = memref.get_global @table : memref<4xf32>
  // CHECK-NEXT:    %[[S:.+]] = memref.alloc() : memref<4xf32>
  // CHECK-NEXT:    linalg.copy ins(%[[G]] : memref<4xf32>) outs(%[[S]] : memref<4xf32>)
  // CHECK-NEXT:    memref.extract_aligned_pointer_as_index %[[S]]
  // CHECK:         call @tessel_cuda_gemm_mixed
  // CHECK-NOT:     memref.get_global
  // CHECK:         call @tessel_rt_cuda_attention_f16(%[[S]])
  // CHECK-COUNT-1: memref.dealloc
  // CHECK-NEXT:    return
  func.func @mixed_gemm_reads_constant() {
    %g = memref.get_global @table : memref<4xf32>
    %p = memref.extract_aligned_pointer_as_index %g : memref<4xf32> -> index
    func.call @tessel_cuda_gemm_mixed(%p) : (index) -> ()
    %g2 = memref.get_global @table : memref<4xf32>
    func.call @tessel_rt_cuda_attention_f16(%g2) : (memref<4xf32>) -> ()
    return
  }
  // Read in a loop: staged once, before the loop.
  // CHECK-LABEL: func.func @in_loop
  // CHECK-NEXT:    %[[G:.+]] = memref.get_global @table : memref<4xf32>
  // CHECK-NEXT:    %[[S:.+]] = memref.alloc() : memref<4xf32>
  // CHECK-NEXT:    linalg.copy ins(%[[G]] : memref<4xf32>) outs(%[[S]] : memref<4xf32>)
  // CHECK:         scf.for
  // CHECK-NOT:       memref.alloc
  // CHECK:           call @tessel_rt_cuda_attention_f16(%[[S]])
  // CHECK:         memref.dealloc %[[S]]
  // CHECK-NEXT:    return
  func.func @in_loop(%n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %n step %c1 {
      %g = memref.get_global @table : memref<4xf32>
      func.call @tessel_rt_cuda_attention_f16(%g) : (memref<4xf32>) -> ()
    }
    return
  }
  // A constant only the host reads stays where it is.
  // CHECK-LABEL: func.func @host_only
  // CHECK:         %[[G:.+]] = memref.get_global @table
  // CHECK-NOT:     memref.alloc
  // CHECK:         memref.load %[[G]]
  func.func @host_only(%out: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %g = memref.get_global @table : memref<4xf32>
    %v = memref.load %g[%c0] : memref<4xf32>
    memref.store %v, %out[%c0] : memref<4xf32>
    return
  }
}
