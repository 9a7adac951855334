//===- GpuDevice.h - the CUDA driver, loaded at run time --------*- C++ -*-===//
//
// libtessel_rt runs CUDA models through the driver API of `libcuda.so.1`,
// which it opens with dlopen the first time a CUDA model needs it: the
// runtime itself never links it, so it loads and runs CPU models on
// machines without a GPU. A CUDA model.so imports its kernel launches
// (MLIR's mgpu* entry points) and its allocations (`_mlir_memref_to_llvm_*`)
// from the runtime; they are implemented here.
//
// Every driver call is checked. The first failure is recorded as a sticky
// error: from then on nothing is launched (so a broken context cannot crash
// the process), allocations fall back to host memory, and the runtime
// reports the message for the run and for every later CUDA model.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_GPUDEVICE_H
#define TESSEL_RUNTIME_GPUDEVICE_H

#include <cstddef>
#include <string>

namespace tessel::rt::gpu {

/// Loads the driver and makes the device's primary context current on this
/// thread (once per process; cheap afterwards). False, with the reason in
/// `why`, when there is no usable GPU or the sticky error is set.
bool available(std::string &why);

/// The sticky error's message; empty while there is none.
std::string stickyError();

/// Memory the host and the device both reach (managed memory); falls back to
/// host memory, with the sticky error set, when the device has none left.
/// Never null for `bytes` > 0.
void *allocate(size_t bytes);
/// Frees what `allocate` returned (null: nothing). The block goes back to
/// the runtime's memory pool (size classes; up to a quarter of the device's
/// memory cached, all of it given back when an allocation fails), where the
/// next allocation of its size finds it with its pages still on the
/// device.
void release(void *p);

/// Moves what the host wrote at `p` to the device ahead of this thread's
/// next kernels (a hint).
void prefetchToDevice(void *p, size_t bytes);

/// Waits for the device; false (sticky error set) on failure.
bool synchronize();

/// "NVIDIA H100 80GB HBM3 (device 0)", for messages.
std::string deviceName();

/// Launches `name`, a kernel of the runtime's own kernel library
/// (runtime/cuda, embedded as a fatbin and loaded on first use), with a 1-D
/// block of `threads`, `smemBytes` of dynamic shared memory and the kernel's
/// `args` (cuLaunchKernel's kernelParams) on this thread's stream, without
/// waiting for it (stream-ordered, like the model's own launches). False,
/// with the sticky error set, on failure.
bool launchLibraryKernel(const char *name, const unsigned grid[3],
                         unsigned threads, unsigned smemBytes, void **args);

/// CTAs of the runtime's kernel `name` that fit on one multiprocessor with
/// `threads` threads and `smemBytes` of dynamic shared memory (0 on failure).
int libraryKernelOccupancy(const char *name, unsigned threads,
                           unsigned smemBytes);

/// The device's multiprocessors (0 on failure).
int multiprocessorCount();

/// Device memory (cuMemAlloc: the host never touches it), for state the
/// runtime keeps on the device (the KV cache). Null when the device has not
/// that much free: the caller reports it; the device stays usable.
void *allocateDevice(size_t bytes);
void releaseDevice(void *p);

/// cuMemCpy between any two addresses the driver knows (host, managed,
/// device); false (sticky error set) on failure.
bool copy(void *dst, const void *src, size_t bytes);

/// Zeroes `count` 32-bit words at `dst` (device or managed memory).
bool zero32(void *dst, size_t count);

/// The device's free and total memory; false when there is no usable GPU.
bool memoryInfo(size_t &freeBytes, size_t &totalBytes);

/// The embedded kernel library (a fatbin; size 0 when the runtime was built
/// without nvcc). Defined in runtime/cuda/KernelLibrary.cpp.
const void *kernelLibraryImage();
size_t kernelLibrarySize();

/// Records why the model run on this thread fails (arguments a runtime
/// kernel cannot take; the device stays usable). The first message wins
/// until `takeRunError` returns and clears it.
void failRun(const std::string &message);
std::string takeRunError();

} // namespace tessel::rt::gpu

#endif // TESSEL_RUNTIME_GPUDEVICE_H
