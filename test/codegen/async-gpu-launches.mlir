// RUN: tessel-opt %s -split-input-file -tessel-async-gpu-launches | FileCheck %s
//
// Launches become async on a token of the thread's stream; the host waits
// (gpu.wait async + blocking gpu.wait) only before the first op after a
// launch that may touch memory: a load, a call of an external function
// other than the runtime's stream-ordered ones (cuBLAS products, runtime
// kernels). Allocations, frees and back-to-back
// launches do not wait. A block other than an entry point's first is
// entered with work pending; a private function's first block too.

// CHECK-LABEL: func.func @main
// CHECK:         %[[A:.+]] = memref.alloc
// CHECK-NEXT:    %[[S0:.+]] = gpu.wait async
// CHECK-NEXT:    %{{.+}} = gpu.launch_func async [%[[S0]]] @kernels::@fill
// CHECK-NEXT:    %[[B:.+]] = memref.alloc
// CHECK-NEXT:    %[[S1:.+]] = gpu.wait async
// CHECK-NEXT:    %{{.+}} = gpu.launch_func async [%[[S1]]] @kernels::@fill
// CHECK-NEXT:    call @tessel_cuda_sgemm
// CHECK-NEXT:    memref.dealloc %[[B]]
// CHECK-NEXT:    %[[W:.+]] = gpu.wait async
// CHECK-NEXT:    gpu.wait [%[[W]]]
// CHECK-NEXT:    memref.load %[[A]]
// CHECK-NEXT:    memref.load %[[A]]
// CHECK-NEXT:    %[[S2:.+]] = gpu.wait async
// CHECK-NEXT:    gpu.launch_func async [%[[S2]]] @kernels::@fill
// CHECK-NEXT:    call @tessel_rt_cuda_kv_attention_f16
// CHECK-NEXT:    cf.br ^bb1
// CHECK:       ^bb1:
// CHECK-NEXT:    %[[W3:.+]] = gpu.wait async
// CHECK-NEXT:    gpu.wait [%[[W3]]]
// CHECK-NEXT:    memref.store
// CHECK-NEXT:    return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @fill(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func private @tessel_cuda_sgemm(memref<4xf32>)
  func.func private @tessel_rt_cuda_kv_attention_f16(memref<4xf32>)
  func.func @main() -> f32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %f = arith.constant 1.0 : f32
    %a = memref.alloc() : memref<4xf32>
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    %b = memref.alloc() : memref<4xf32>
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<4xf32>)
    call @tessel_cuda_sgemm(%b) : (memref<4xf32>) -> ()
    memref.dealloc %b : memref<4xf32>
    %x = memref.load %a[%c0] : memref<4xf32>
    %y = memref.load %a[%c1] : memref<4xf32>
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    call @tessel_rt_cuda_kv_attention_f16(%a) : (memref<4xf32>) -> ()
    cf.br ^bb1
  ^bb1:
    memref.store %f, %a[%c0] : memref<4xf32>
    return %x : f32
  }
}

// -----

// A private function may be called with work pending: it waits before its
// first store. An entry point starts with the stream idle. Loads of
// arguments never wait (kernels do not write inputs or weights).
// CHECK-LABEL: func.func private @helper
// CHECK-NEXT:    arith.constant
// CHECK-NEXT:    memref.load
// CHECK-NEXT:    %[[W:.+]] = gpu.wait async
// CHECK-NEXT:    gpu.wait [%[[W]]]
// CHECK-NEXT:    memref.store
// CHECK-LABEL: func.func @entry
// CHECK-NEXT:    arith.constant
// CHECK-NEXT:    memref.store
module {
  func.func private @helper(%m: memref<4xf32>) -> f32 {
    %c0 = arith.constant 0 : index
    %x = memref.load %m[%c0] : memref<4xf32>
    memref.store %x, %m[%c0] : memref<4xf32>
    return %x : f32
  }
  func.func @entry(%m: memref<4xf32>, %x: f32) {
    %c0 = arith.constant 0 : index
    memref.store %x, %m[%c0] : memref<4xf32>
    return
  }
}

// -----

// A shape tensor only the host touches becomes a stack buffer: its stores
// and loads need no wait after a launch.
// CHECK-LABEL: func.func @shape
// CHECK:         %[[SHAPE:.+]] = memref.alloca() : memref<2xi64>
// CHECK:         gpu.launch_func async
// CHECK-NEXT:    memref.store %{{.+}}, %[[SHAPE]]
// CHECK-NEXT:    memref.reshape %{{.+}}(%[[SHAPE]])
// CHECK-NOT:     gpu.wait
// CHECK-NOT:     memref.dealloc %[[SHAPE]]
// CHECK:         return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @fill(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @shape(%a: memref<4xf32>) -> memref<2x2xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %two = arith.constant 2 : i64
    %s = memref.alloc() : memref<2xi64>
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    memref.store %two, %s[%c0] : memref<2xi64>
    %r = memref.reshape %a(%s) : (memref<4xf32>, memref<2xi64>) -> memref<2x2xf32>
    memref.dealloc %s : memref<2xi64>
    return %r : memref<2x2xf32>
  }
}
