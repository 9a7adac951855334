//===- Handles.h - the runtime's handle types -------------------*- C++ -*-===//
//
// The structs behind the C API's opaque tessel_tensor / tessel_model, shared
// by the runtime's sources (Runtime.cpp, Generation.cpp), and the internal
// calls between them.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_HANDLES_H
#define TESSEL_RUNTIME_HANDLES_H

#include "runtime/Error.h"
#include "runtime/GpuDevice.h"
#include "runtime/Manifest.h"
#include "runtime/Weights.h"

#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <dlfcn.h>

using tessel::rt::Manifest;
using tessel::rt::MappedWeights;

struct tessel_tensor {
  tessel_dtype dtype = TESSEL_DTYPE_INVALID;
  std::vector<int64_t> dims;
  size_t elements = 0;
  size_t bytes = 0;
  void *data = nullptr;
  // Released with free() with the tensor; null for a wrapped tensor.
  void *allocation = nullptr;

  ~tessel_tensor() { std::free(allocation); }
};

struct tessel_model {
  std::string path; // as the caller spelled it, for messages
  void *library = nullptr;
  void (*run)(void **) = nullptr;
  Manifest manifest;
  MappedWeights weights;
  bool cuda = false;            // manifest target "cuda"
  void *deviceWeights = nullptr; // cuda: the weights in managed memory
  // tessel_model_entry_<name> per manifest entry, in manifest order.
  std::vector<void (*)(void **)> entryFunctions;

  ~tessel_model() {
    tessel::rt::gpu::release(deviceWeights);
    weights.reset();
    if (library)
      ::dlclose(library);
  }
};

namespace tessel::rt {

/// Records `message` as the calling thread's last error.
void setLastError(const char *message) noexcept;

/// Runs `body` (returning Error), records its message on failure, and turns
/// every exception into a status.
template <typename Body> tessel_status guarded(Body &&body) noexcept {
  try {
    Error e = body();
    if (e.failed())
      setLastError(e.message.c_str());
    return e.code;
  } catch (const std::bad_alloc &) {
    setLastError("out of memory");
    return TESSEL_OUT_OF_MEMORY;
  } catch (...) {
    setLastError("internal error: unexpected C++ exception in the runtime");
    return TESSEL_INTERNAL;
  }
}

/// Runs one of the model's functions (tessel_model_run or an entry point)
/// with the model ABI: checks the inputs against `ins`, passes the weights,
/// and turns what it returns into tensors per `outs`.
Error runModelFunction(tessel_model &model, void (*function)(void **),
                       const std::vector<TensorSpec> &ins,
                       const std::vector<TensorSpec> &outs,
                       tessel_tensor *const *inputs, size_t nInputs,
                       tessel_tensor **outputs, size_t nOutputs);

/// A new tensor of `dtype` and `dims` with zeroed, runtime-owned data.
Error newTensor(tessel_dtype dtype, int32_t rank, const int64_t *dims,
                std::unique_ptr<tessel_tensor> &out);

} // namespace tessel::rt

#endif // TESSEL_RUNTIME_HANDLES_H
