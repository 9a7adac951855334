//===- KernelLibrary.cpp - the runtime's CUDA kernels, embedded -----------===//
//
// The build compiles runtime/cuda/*.cu with nvcc into one fatbin (cubins for
// sm_80 and sm_90, PTX for newer GPUs) and names it in TESSEL_KERNEL_FATBIN;
// it is embedded here as read-only data, and GpuDevice.cpp loads it with
// cuModuleLoadData the first time a model launches one of its kernels.
// Without nvcc at build time the library is empty, and a model that needs a
// kernel gets a clear error.
//
//===----------------------------------------------------------------------===//

#include "runtime/GpuDevice.h"

#ifdef TESSEL_KERNEL_FATBIN
// .incbin keeps the build free of a generated multi-megabyte C array.
asm(".section .rodata\n"
    ".balign 64\n"
    "tessel_kernel_fatbin_begin:\n"
    ".incbin \"" TESSEL_KERNEL_FATBIN "\"\n"
    "tessel_kernel_fatbin_end:\n"
    ".byte 0\n"
    ".previous\n");
extern "C" const unsigned char tessel_kernel_fatbin_begin[]
    __asm__("tessel_kernel_fatbin_begin");
extern "C" const unsigned char tessel_kernel_fatbin_end[]
    __asm__("tessel_kernel_fatbin_end");

const void *tessel::rt::gpu::kernelLibraryImage() {
  return tessel_kernel_fatbin_begin;
}
size_t tessel::rt::gpu::kernelLibrarySize() {
  return (size_t)(tessel_kernel_fatbin_end - tessel_kernel_fatbin_begin);
}
#else
const void *tessel::rt::gpu::kernelLibraryImage() { return nullptr; }
size_t tessel::rt::gpu::kernelLibrarySize() { return 0; }
#endif
