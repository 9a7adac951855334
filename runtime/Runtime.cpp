//===- Runtime.cpp - The tessel runtime C API -----------------------------===//
//
// Loads a model.so per docs/model-abi.md, builds memref descriptors for its
// `tessel_model_run(void **)`, and hands its outputs back as tensors. Every
// exported function catches everything: no exception crosses the C ABI.
//
//===----------------------------------------------------------------------===//

#include "tessel/runtime.h"

#include "runtime/Error.h"
#include "runtime/GpuDevice.h"
#include "runtime/Handles.h"
#include "runtime/Manifest.h"
#include "runtime/Weights.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <malloc.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tessel::rt;

//===----------------------------------------------------------------------===//
// Handles
//===----------------------------------------------------------------------===//

namespace {

constexpr int32_t kMaxRank = 64;
constexpr size_t kTensorAlignment = 64;
// What MLIR stores as `allocated` for a memref of a global constant.
const uintptr_t kMlirGlobalMarker = 0xdeadbeef;

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

thread_local std::string lastError;

} // namespace

void tessel::rt::setLastError(const char *message) noexcept {
  try {
    lastError = message;
  } catch (...) {
    lastError.clear(); // cannot allocate: at least do not report a stale one
  }
}

namespace {

Error invalid(std::string message) {
  return Error::make(TESSEL_INVALID_ARGUMENT, std::move(message));
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

/// Checks dims and computes element count and byte size without overflow.
Error checkShape(tessel_dtype dtype, int32_t rank, const int64_t *dims,
                 size_t &elements, size_t &bytes) {
  size_t elementSize = tessel_dtype_size(dtype);
  if (elementSize == 0)
    return invalid("invalid dtype " + std::to_string((int)dtype));
  if (rank < 0 || rank > kMaxRank)
    return invalid("rank " + std::to_string(rank) + " is not in [0, " +
                   std::to_string(kMaxRank) + "]");
  if (rank > 0 && !dims)
    return invalid("dims is NULL for a tensor of rank " + std::to_string(rank));
  size_t count = 1;
  for (int32_t i = 0; i < rank; ++i) {
    if (dims[i] < 0)
      return invalid("dim " + std::to_string(i) + " is " +
                     std::to_string(dims[i]) + "; a tensor's dims are >= 0");
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dims[i]), &count))
      return invalid("the tensor of shape " + formatShape(dims, rank) +
                     " has too many elements");
  }
  size_t total;
  if (__builtin_mul_overflow(count, elementSize, &total) ||
      total > static_cast<size_t>(PTRDIFF_MAX) - kTensorAlignment)
    return invalid("the tensor of shape " + formatShape(dims, rank) +
                   " is too large");
  elements = count;
  bytes = total;
  return Error::success();
}

/// A zeroed, aligned buffer of at least `bytes` (never null, even for 0).
void *allocateZeroed(size_t bytes) {
  size_t rounded =
      (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (rounded == 0)
    rounded = kTensorAlignment;
  void *p = nullptr;
  if (::posix_memalign(&p, kTensorAlignment, rounded) != 0)
    return nullptr;
  std::memset(p, 0, rounded);
  return p;
}

Error outOfMemory(const std::string &what) {
  return Error::make(TESSEL_OUT_OF_MEMORY, "out of memory allocating " + what);
}

Error createTensor(tessel_dtype dtype, int32_t rank, const int64_t *dims,
                   std::unique_ptr<tessel_tensor> &out) {
  size_t elements, bytes;
  if (Error e = checkShape(dtype, rank, dims, elements, bytes); e.failed())
    return e;
  auto tensor = std::make_unique<tessel_tensor>();
  tensor->dtype = dtype;
  tensor->dims.assign(dims, dims + rank);
  tensor->elements = elements;
  tensor->bytes = bytes;
  tensor->allocation = allocateZeroed(bytes);
  if (!tensor->allocation)
    return outOfMemory(std::to_string(bytes) + " bytes for a tensor of shape " +
                       formatShape(tensor->dims));
  tensor->data = tensor->allocation;
  out = std::move(tensor);
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

/// Without a '/', dlopen searches the library path instead of the cwd.
std::string dlopenPath(const std::string &path) {
  return path.find('/') == std::string::npos ? "./" + path : path;
}

/// Checks that `path` is a readable ELF shared object before dlopen gets it,
/// so that "not a model" and "cannot load" are told apart.
Error checkSharedObject(const std::string &path) {
  const std::string file = "'" + path + "'";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return Error::make(TESSEL_IO_ERROR, "model " + file + " does not exist");
    return Error::make(TESSEL_IO_ERROR,
                       "cannot open model " + file + ": " + std::strerror(err));
  }
  struct stat st;
  unsigned char header[18] = {};
  ssize_t n = -1;
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular)
    n = ::pread(fd, header, sizeof(header), 0);
  int err = errno;
  ::close(fd);
  if (!regular)
    return Error::make(TESSEL_IO_ERROR,
                       "model " + file + " is not a regular file");
  if (n < 0)
    return Error::make(TESSEL_IO_ERROR,
                       "cannot read model " + file + ": " + std::strerror(err));
  static const unsigned char kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
  if (n < (ssize_t)sizeof(header) || std::memcmp(header, kElfMagic, 4) != 0)
    return Error::make(TESSEL_NOT_A_MODEL,
                       file + " is not a tessel model: it is not an ELF "
                              "shared object");
  uint16_t type = header[16] | (header[17] << 8); // e_type, little-endian
  if (type != 3 /*ET_DYN*/)
    return Error::make(TESSEL_NOT_A_MODEL,
                       file + " is not a tessel model: it is an ELF file but "
                              "not a shared object");
  return Error::success();
}

Error loadModel(const char *pathArg, std::unique_ptr<tessel_model> &out) {
  auto model = std::make_unique<tessel_model>();
  model->path = pathArg;
  const std::string &path = model->path;
  const std::string file = "'" + path + "'";
  if (Error e = checkSharedObject(path); e.failed())
    return e;

  // dlerror() is thread-local in glibc; clear any stale message first.
  ::dlerror();
  model->library = ::dlopen(dlopenPath(path).c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model->library) {
    const char *why = ::dlerror();
    return Error::make(TESSEL_IO_ERROR, "cannot load model " + file + ": " +
                                            (why ? why : "unknown error"));
  }

  auto *version = static_cast<const uint32_t *>(
      ::dlsym(model->library, "tessel_model_abi_version"));
  if (!version)
    return Error::make(TESSEL_NOT_A_MODEL,
                       file + " is a shared object but not a tessel model: it "
                              "does not export tessel_model_abi_version");
  if (*version != TESSEL_MODEL_ABI_VERSION)
    return Error::make(
        TESSEL_ABI_MISMATCH,
        "model " + file + " was built for model ABI version " +
            std::to_string(*version) + ", but this runtime loads version " +
            std::to_string(TESSEL_MODEL_ABI_VERSION) +
            ": recompile it with a tesselc that matches this runtime");

  auto *manifestText = static_cast<const char *>(
      ::dlsym(model->library, "tessel_model_manifest"));
  if (!manifestText)
    return Error::make(TESSEL_ABI_MISMATCH,
                       "model " + file +
                           " does not export tessel_model_manifest, which "
                           "model ABI version 1 requires");
  model->run = reinterpret_cast<void (*)(void **)>(
      ::dlsym(model->library, "tessel_model_run"));
  if (!model->run)
    return Error::make(TESSEL_ABI_MISMATCH,
                       "model " + file +
                           " does not export tessel_model_run, which model "
                           "ABI version 1 requires");

  // The model's entry point calls its own exported functions through the
  // PLT, so a function of the same name in the global scope takes their
  // place: an application linked with -rdynamic exports its `main`, and the
  // model would run that instead of its own. Refuse rather than run it.
  for (const char *name : {"main", "_mlir_ciface_main"}) {
    void *own = ::dlsym(model->library, name);
    void *global = ::dlsym(RTLD_DEFAULT, name);
    if (own && global && own != global)
      return Error::make(
          TESSEL_ABI_MISMATCH,
          "model " + file + " exports `" + name +
              "`, and so does the program (or a library it loaded): the "
              "model's calls to its `" +
              name +
              "` would run the program's. Recompile the model with a "
              "tesselc that hides its internal symbols, or do not export `" +
              name + "` from the program (-rdynamic)");
  }

  if (Error e = parseManifest(manifestText, "the manifest of " + file,
                              model->manifest);
      e.failed())
    return e;

  const Manifest &m = model->manifest;
  for (const EntrySpec &entry : m.entries) {
    std::string symbol = "tessel_model_entry_" + entry.name;
    auto *fn = reinterpret_cast<void (*)(void **)>(
        ::dlsym(model->library, symbol.c_str()));
    if (!fn)
      return Error::make(TESSEL_ABI_MISMATCH,
                         "model " + file + " declares entry '" + entry.name +
                             "' but does not export " + symbol);
    model->entryFunctions.push_back(fn);
  }
  if (m.hasKvCache && (!m.entry("prefill") || !m.entry("decode")))
    return Error::make(TESSEL_ABI_MISMATCH,
                       "model " + file +
                           " has a kv-cache record but no prefill/decode "
                           "entries");
  if (m.target == "cuda") {
    // The model's constructors loaded its kernels during dlopen; a failure
    // there is the sticky error.
    std::string why;
    if (!gpu::available(why))
      return Error::make(TESSEL_DEVICE_ERROR,
                         "model " + file + " is compiled for CUDA, but " +
                             why);
    model->cuda = true;
  } else if (m.target != "cpu") {
    return Error::make(TESSEL_ABI_MISMATCH,
                       "model " + file + " is compiled for target '" +
                           m.target +
                           "', which this runtime does not run (cpu, cuda)");
  }
  if (!m.weightsFile.empty()) {
    // Beside the model as the caller named it; if that is a symlink with no
    // weights beside it, beside the file it points to.
    std::string weightsPath = directoryOf(path) + "/" + m.weightsFile;
    struct stat st;
    if (::stat(weightsPath.c_str(), &st) != 0) {
      if (char *real = ::realpath(path.c_str(), nullptr)) {
        std::string candidate = directoryOf(real) + "/" + m.weightsFile;
        std::free(real);
        if (::stat(candidate.c_str(), &st) == 0)
          weightsPath = candidate;
      }
    }
    if (Error e = mapWeights(weightsPath, m.weightsSize, m.weightsChecksum,
                             path, model->weights);
        e.failed())
      return e;
    // CUDA kernels read the weights from memory the device reaches.
    if (model->cuda && model->weights.size() > 0) {
      model->deviceWeights = gpu::allocate(model->weights.size());
      if (!model->deviceWeights)
        return Error::make(TESSEL_OUT_OF_MEMORY,
                           "out of memory copying the weights of " + file);
      std::memcpy(model->deviceWeights, model->weights.data(),
                  model->weights.size());
      gpu::prefetchToDevice(model->deviceWeights, model->weights.size());
      std::string sticky = gpu::stickyError();
      if (!sticky.empty())
        return Error::make(TESSEL_DEVICE_ERROR,
                           "cannot load the weights of " + file + ": " +
                               sticky);
    }
  }
  out = std::move(model);
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

/// A rank-r memref descriptor: allocated, aligned, offset, sizes[r],
/// strides[r]; every field 8 bytes.
size_t descriptorWords(size_t rank) { return 3 + 2 * rank; }

int64_t pointerWord(const void *p) {
  return static_cast<int64_t>(reinterpret_cast<uintptr_t>(p));
}

void *wordPointer(int64_t w) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(w));
}

void fillContiguousDescriptor(int64_t *d, void *data,
                              const std::vector<int64_t> &dims) {
  size_t rank = dims.size();
  d[0] = pointerWord(data);
  d[1] = pointerWord(data);
  d[2] = 0;
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    d[3 + i] = dims[i];
    d[3 + rank + i] = stride;
    stride *= dims[i] > 0 ? dims[i] : 1;
  }
}

Error checkInput(const TensorSpec &spec, size_t index, const tessel_tensor *t) {
  std::string what =
      "input '" + spec.name + "' (#" + std::to_string(index) + ")";
  if (!t)
    return invalid(what + " is NULL");
  std::string expected =
      std::string(tessel_dtype_name(spec.dtype)) + " " + formatShape(spec.dims);
  std::string actual =
      std::string(tessel_dtype_name(t->dtype)) + " " + formatShape(t->dims);
  if (t->dtype != spec.dtype)
    return Error::make(TESSEL_DTYPE_MISMATCH,
                       what + " has dtype " + tessel_dtype_name(t->dtype) +
                           ", the model expects " +
                           tessel_dtype_name(spec.dtype) + " (expected " +
                           expected + ", got " + actual + ")");
  if (t->dims.size() != spec.dims.size())
    return Error::make(TESSEL_SHAPE_MISMATCH,
                       what + " has rank " + std::to_string(t->dims.size()) +
                           ", the model expects rank " +
                           std::to_string(spec.dims.size()) + " (expected " +
                           expected + ", got " + actual + ")");
  for (size_t i = 0; i < spec.dims.size(); ++i)
    if (spec.dims[i] >= 0 && spec.dims[i] != t->dims[i])
      return Error::make(TESSEL_SHAPE_MISMATCH,
                         what + " has dim " + std::to_string(i) + " = " +
                             std::to_string(t->dims[i]) +
                             ", the model expects " +
                             std::to_string(spec.dims[i]) + " (expected " +
                             expected + ", got " + actual + ")");
  return Error::success();
}

/// One output as the model returned it.
struct ReturnedOutput {
  void *allocated = nullptr;
  const char *data = nullptr; // aligned + offset * element size
  std::vector<int64_t> sizes, strides;
  size_t elements = 0, bytes = 0;
  bool contiguous = true;
  // Not a malloc'd buffer the model handed over (an input, the weights, a
  // global): copied, never freed.
  bool foreign = false;
};

bool within(const void *p, const void *begin, size_t bytes) {
  auto a = reinterpret_cast<uintptr_t>(p);
  auto b = reinterpret_cast<uintptr_t>(begin);
  return bytes > 0 && a >= b && a - b < bytes;
}

/// Copies a strided view into the contiguous `dst`.
void copyStrided(char *dst, const char *src, const std::vector<int64_t> &sizes,
                 const std::vector<int64_t> &strides, size_t elementSize,
                 size_t elements) {
  size_t rank = sizes.size();
  if (elements == 0)
    return;
  if (rank == 0) {
    std::memcpy(dst, src, elementSize);
    return;
  }
  std::vector<int64_t> index(rank, 0);
  for (size_t n = 0; n < elements; ++n) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i)
      offset += index[i] * strides[i];
    std::memcpy(dst + n * elementSize, src + offset * (int64_t)elementSize,
                elementSize);
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
  }
}

class Run {
public:
  Run(tessel_model &model, void (*function)(void **),
      const std::vector<TensorSpec> &ins, const std::vector<TensorSpec> &outs,
      tessel_tensor *const *inputs, size_t nInputs, tessel_tensor **outputs,
      size_t nOutputs)
      : model(model), function(function), m{ins, outs}, inputs(inputs),
        nInputs(nInputs), outputs(outputs), nOutputs(nOutputs) {}

  Error run() {
    if (nInputs != m.inputs.size())
      return invalid("the model takes " + std::to_string(m.inputs.size()) +
                     " input(s), " + std::to_string(nInputs) + " given");
    if (nOutputs != m.outputs.size())
      return invalid("the model returns " + std::to_string(m.outputs.size()) +
                     " output(s), room for " + std::to_string(nOutputs) +
                     " given");
    if (nInputs > 0 && !inputs)
      return invalid("inputs is NULL");
    for (size_t i = 0; i < nInputs; ++i)
      if (Error e = checkInput(m.inputs[i], i, inputs[i]); e.failed())
        return e;

    // Descriptors: weights, inputs, and the output area the model fills.
    // A CUDA model reads copies in managed memory.
    int64_t weights[5] = {0, 0, 0, 0, 1};
    if (model.weights.mapped()) {
      const void *data =
          model.cuda ? model.deviceWeights : model.weights.data();
      weights[0] = weights[1] = pointerWord(data);
      weights[3] = static_cast<int64_t>(model.weights.size());
    }
    inputData.assign(nInputs, nullptr);
    for (size_t i = 0; i < nInputs; ++i) {
      inputData[i] = inputs[i]->data;
      if (model.cuda) {
        // Copied by the driver (DMA), not by the host: a block of the pool
        // keeps its pages on the device. A host memcpy moved them to the
        // host, and the first kernel to read them faulted them back (up
        // to ~0.4 ms a buffer on an H100).
        void *copy = gpu::allocate(inputs[i]->bytes);
        deviceInputs.push_back(copy);
        if (!gpu::copy(copy, inputs[i]->data, inputs[i]->bytes))
          std::memcpy(copy, inputs[i]->data, inputs[i]->bytes);
        inputData[i] = copy;
      }
    }
    std::vector<std::vector<int64_t>> inputDescriptors(nInputs);
    for (size_t i = 0; i < nInputs; ++i) {
      inputDescriptors[i].resize(descriptorWords(inputs[i]->dims.size()));
      fillContiguousDescriptor(inputDescriptors[i].data(), inputData[i],
                               inputs[i]->dims);
    }
    size_t areaWords = 0;
    for (const TensorSpec &spec : m.outputs)
      areaWords += descriptorWords(spec.dims.size());
    std::vector<int64_t> area(areaWords + 1, 0);
    std::vector<void *> args(2 + nInputs);
    args[0] = area.data();
    args[1] = weights;
    for (size_t i = 0; i < nInputs; ++i)
      args[2 + i] = inputDescriptors[i].data();

    function(args.data());

    if (model.cuda) {
      gpu::synchronize();
      std::string sticky = gpu::stickyError();
      if (!sticky.empty()) {
        gpu::takeRunError();
        releaseReturned(area.data());
        return Error::make(TESSEL_DEVICE_ERROR,
                           "running " + model.path + ": " + sticky);
      }
      std::string failed = gpu::takeRunError();
      if (!failed.empty()) {
        releaseReturned(area.data());
        return Error::make(TESSEL_INVALID_ARGUMENT,
                           "running " + model.path + ": " + failed);
      }
    }
    return collectOutputs(area.data());
  }

  ~Run() {
    for (void *p : deviceInputs)
      gpu::release(p);
  }

private:
  /// Frees a buffer the model handed over.
  void releaseBuffer(void *p) {
    if (model.cuda)
      gpu::release(p);
    else
      std::free(p);
  }

  /// After a failed CUDA run: frees every distinct buffer the model returned.
  void releaseReturned(const int64_t *area) {
    std::vector<void *> freed;
    size_t word = 0;
    for (size_t i = 0; i < nOutputs; ++i) {
      ReturnedOutput r;
      describeReturned(area + word, m.outputs[i], r);
      word += descriptorWords(m.outputs[i].dims.size());
      if (r.foreign || !r.allocated)
        continue;
      bool done = false;
      for (void *f : freed)
        done |= f == r.allocated;
      if (!done) {
        freed.push_back(r.allocated);
        releaseBuffer(r.allocated);
      }
    }
  }

  Error collectOutputs(const int64_t *area) {
    std::vector<ReturnedOutput> returned(nOutputs);
    size_t word = 0;
    for (size_t i = 0; i < nOutputs; ++i) {
      describeReturned(area + word, m.outputs[i], returned[i]);
      word += descriptorWords(m.outputs[i].dims.size());
    }

    Error e;
    for (size_t i = 0; i < nOutputs && !e.failed(); ++i)
      e = checkReturned(m.outputs[i], returned[i]);
    std::vector<std::unique_ptr<tessel_tensor>> tensors(nOutputs);
    std::vector<void *> claimed;
    auto isClaimed = [&](void *p) {
      for (void *c : claimed)
        if (c == p)
          return true;
      return false;
    };
    for (size_t i = 0; i < nOutputs && !e.failed(); ++i) {
      ReturnedOutput &r = returned[i];
      // A CUDA model's buffers are managed memory: copied to host tensors.
      if (!model.cuda && !r.foreign && r.contiguous &&
          !isClaimed(r.allocated)) {
        // Zero copy: the tensor takes over the model's malloc'd buffer.
        auto t = std::make_unique<tessel_tensor>();
        t->dtype = m.outputs[i].dtype;
        t->dims = r.sizes;
        t->elements = r.elements;
        t->bytes = r.bytes;
        t->data = const_cast<char *>(r.data);
        t->allocation = r.allocated;
        claimed.push_back(r.allocated);
        tensors[i] = std::move(t);
        continue;
      }
      e = createTensor(m.outputs[i].dtype, (int32_t)r.sizes.size(),
                       r.sizes.data(), tensors[i]);
      if (e.failed())
        continue;
      // A contiguous CUDA result comes back through the driver too: host
      // reads would move the pool block's pages to the host.
      if (model.cuda && !r.foreign && r.contiguous &&
          gpu::copy(tensors[i]->data, r.data, r.bytes))
        continue;
      copyStrided(static_cast<char *>(tensors[i]->data), r.data, r.sizes,
                  r.strides, tessel_dtype_size(m.outputs[i].dtype),
                  r.elements);
    }

    // Free every buffer the model handed over that no tensor took, once.
    std::vector<void *> freed;
    for (const ReturnedOutput &r : returned) {
      if (r.foreign || !r.allocated || isClaimed(r.allocated))
        continue;
      bool done = false;
      for (void *f : freed)
        done |= f == r.allocated;
      if (done)
        continue;
      freed.push_back(r.allocated);
      // Tensors that took their buffer are released below on failure.
      releaseBuffer(r.allocated);
    }
    if (e.failed())
      return e; // `tensors` frees the buffers it claimed
    for (size_t i = 0; i < nOutputs; ++i)
      outputs[i] = tensors[i].release();
    return Error::success();
  }

  void describeReturned(const int64_t *d, const TensorSpec &spec,
                        ReturnedOutput &r) {
    size_t rank = spec.dims.size();
    size_t elementSize = tessel_dtype_size(spec.dtype);
    r.allocated = wordPointer(d[0]);
    r.data = static_cast<const char *>(
        wordPointer(d[1] + d[2] * static_cast<int64_t>(elementSize)));
    r.sizes.assign(d + 3, d + 3 + rank);
    r.strides.assign(d + 3 + rank, d + 3 + 2 * rank);
    r.foreign = reinterpret_cast<uintptr_t>(r.allocated) == kMlirGlobalMarker;
    if (model.weights.mapped() &&
        (within(r.allocated, model.weights.data(), model.weights.size()) ||
         within(r.data, model.weights.data(), model.weights.size())))
      r.foreign = true;
    if (model.cuda && model.deviceWeights &&
        (within(r.allocated, model.deviceWeights, model.weights.size()) ||
         within(r.data, model.deviceWeights, model.weights.size())))
      r.foreign = true;
    for (size_t i = 0; i < nInputs; ++i) {
      const void *in = i < inputData.size() ? inputData[i] : inputs[i]->data;
      if (within(r.allocated, in, inputs[i]->bytes) ||
          within(r.data, in, inputs[i]->bytes) ||
          (r.allocated && r.allocated == in))
        r.foreign = true;
    }
    int64_t expected = 1;
    for (size_t i = rank; i-- > 0;) {
      if (r.sizes[i] > 1 && r.strides[i] != expected)
        r.contiguous = false;
      expected *= r.sizes[i] > 0 ? r.sizes[i] : 1;
    }
  }

  Error checkReturned(const TensorSpec &spec, ReturnedOutput &r) {
    std::string what = "the model returned output '" + spec.name + "'";
    for (size_t i = 0; i < spec.dims.size(); ++i) {
      if (r.sizes[i] < 0 || (spec.dims[i] >= 0 && r.sizes[i] != spec.dims[i]))
        return Error::make(TESSEL_INTERNAL,
                           what + " of shape " + formatShape(r.sizes) +
                               ", but its manifest says " +
                               formatShape(spec.dims) +
                               " (a bug in the compiled model)");
    }
    if (Error e = checkShape(spec.dtype, (int32_t)r.sizes.size(),
                             r.sizes.data(), r.elements, r.bytes);
        e.failed())
      return Error::make(TESSEL_INTERNAL, what + ": " + e.message);
    if (r.elements > 0 && r.data == nullptr)
      return Error::make(TESSEL_INTERNAL, what + " with no data");
    // Nothing to copy, but give the caller a tensor with a non-null data
    // pointer; the model's buffer is freed.
    if (r.elements == 0)
      r.contiguous = false;
    return Error::success();
  }

  /// The signature of the function being run.
  struct Signature {
    const std::vector<TensorSpec> &inputs;
    const std::vector<TensorSpec> &outputs;
  };

  tessel_model &model;
  void (*function)(void **);
  Signature m;
  tessel_tensor *const *inputs;
  size_t nInputs;
  tessel_tensor **outputs;
  size_t nOutputs;
  std::vector<void *> inputData;    // what the model reads, per input
  std::vector<void *> deviceInputs; // cuda: managed copies, freed at the end
};

Error tensorInfo(const std::vector<TensorSpec> &specs, size_t index,
                 const char *kind, tessel_tensor_info *info) {
  if (!info)
    return invalid("info is NULL");
  *info = tessel_tensor_info{nullptr, TESSEL_DTYPE_INVALID, 0, nullptr};
  if (index >= specs.size())
    return invalid(std::string(kind) + " index " + std::to_string(index) +
                   " is out of range: the model has " +
                   std::to_string(specs.size()) + " " + kind + "(s)");
  const TensorSpec &spec = specs[index];
  info->name = spec.name.c_str();
  info->dtype = spec.dtype;
  info->rank = static_cast<int32_t>(spec.dims.size());
  info->dims = spec.dims.empty() ? nullptr : spec.dims.data();
  return Error::success();
}

} // namespace

Error tessel::rt::newTensor(tessel_dtype dtype, int32_t rank,
                            const int64_t *dims,
                            std::unique_ptr<tessel_tensor> &out) {
  return createTensor(dtype, rank, dims, out);
}

Error tessel::rt::runModelFunction(tessel_model &model,
                                   void (*function)(void **),
                                   const std::vector<TensorSpec> &ins,
                                   const std::vector<TensorSpec> &outs,
                                   tessel_tensor *const *inputs,
                                   size_t nInputs, tessel_tensor **outputs,
                                   size_t nOutputs) {
  for (size_t i = 0; i < nOutputs; ++i)
    outputs[i] = nullptr;
  return Run(model, function, ins, outs, inputs, nInputs, outputs, nOutputs)
      .run();
}

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" {

const char *tessel_status_string(tessel_status status) {
  switch (status) {
  case TESSEL_OK:
    return "ok";
  case TESSEL_INVALID_ARGUMENT:
    return "invalid argument";
  case TESSEL_IO_ERROR:
    return "i/o error";
  case TESSEL_NOT_A_MODEL:
    return "not a tessel model";
  case TESSEL_ABI_MISMATCH:
    return "model ABI mismatch";
  case TESSEL_WEIGHTS_ERROR:
    return "weights error";
  case TESSEL_DTYPE_MISMATCH:
    return "dtype mismatch";
  case TESSEL_SHAPE_MISMATCH:
    return "shape mismatch";
  case TESSEL_OUT_OF_MEMORY:
    return "out of memory";
  case TESSEL_INTERNAL:
    return "internal error";
  case TESSEL_DEVICE_ERROR:
    return "device error";
  case TESSEL_KV_CACHE_FULL:
    return "kv cache full";
  }
  return "unknown status";
}

const char *tessel_last_error(void) { return lastError.c_str(); }

size_t tessel_dtype_size(tessel_dtype dtype) {
  switch (dtype) {
  case TESSEL_DTYPE_F64:
  case TESSEL_DTYPE_I64:
  case TESSEL_DTYPE_U64:
    return 8;
  case TESSEL_DTYPE_F32:
  case TESSEL_DTYPE_I32:
  case TESSEL_DTYPE_U32:
    return 4;
  case TESSEL_DTYPE_F16:
  case TESSEL_DTYPE_BF16:
  case TESSEL_DTYPE_I16:
  case TESSEL_DTYPE_U16:
    return 2;
  case TESSEL_DTYPE_I8:
  case TESSEL_DTYPE_U8:
  case TESSEL_DTYPE_BOOL:
    return 1;
  case TESSEL_DTYPE_INVALID:
    break;
  }
  return 0;
}

static const struct {
  tessel_dtype dtype;
  const char *name;
} kDtypeNames[] = {
    {TESSEL_DTYPE_F32, "f32"},   {TESSEL_DTYPE_F64, "f64"},
    {TESSEL_DTYPE_F16, "f16"},   {TESSEL_DTYPE_BF16, "bf16"},
    {TESSEL_DTYPE_I8, "i8"},     {TESSEL_DTYPE_I16, "i16"},
    {TESSEL_DTYPE_I32, "i32"},   {TESSEL_DTYPE_I64, "i64"},
    {TESSEL_DTYPE_U8, "u8"},     {TESSEL_DTYPE_U16, "u16"},
    {TESSEL_DTYPE_U32, "u32"},   {TESSEL_DTYPE_U64, "u64"},
    {TESSEL_DTYPE_BOOL, "bool"},
};

const char *tessel_dtype_name(tessel_dtype dtype) {
  for (const auto &entry : kDtypeNames)
    if (entry.dtype == dtype)
      return entry.name;
  return "invalid";
}

tessel_dtype tessel_dtype_from_name(const char *name) {
  if (!name)
    return TESSEL_DTYPE_INVALID;
  for (const auto &entry : kDtypeNames)
    if (std::strcmp(entry.name, name) == 0)
      return entry.dtype;
  return TESSEL_DTYPE_INVALID;
}

tessel_status tessel_tensor_create(tessel_dtype dtype, int32_t rank,
                                   const int64_t *dims, tessel_tensor **out) {
  return guarded([&]() -> Error {
    if (!out)
      return invalid("tessel_tensor_create: out is NULL");
    *out = nullptr;
    std::unique_ptr<tessel_tensor> tensor;
    if (Error e = createTensor(dtype, rank, dims, tensor); e.failed())
      return Error::make(e.code, "tessel_tensor_create: " + e.message);
    *out = tensor.release();
    return Error::success();
  });
}

tessel_status tessel_tensor_wrap(tessel_dtype dtype, int32_t rank,
                                 const int64_t *dims, void *data,
                                 size_t data_bytes, tessel_tensor **out) {
  return guarded([&]() -> Error {
    if (!out)
      return invalid("tessel_tensor_wrap: out is NULL");
    *out = nullptr;
    size_t elements, bytes;
    if (Error e = checkShape(dtype, rank, dims, elements, bytes); e.failed())
      return Error::make(e.code, "tessel_tensor_wrap: " + e.message);
    if (data_bytes < bytes)
      return invalid("tessel_tensor_wrap: a " +
                     std::string(tessel_dtype_name(dtype)) +
                     " tensor of shape " + formatShape(dims, rank) + " needs " +
                     std::to_string(bytes) + " bytes, but data holds " +
                     std::to_string(data_bytes));
    if (!data && bytes > 0)
      return invalid("tessel_tensor_wrap: data is NULL");
    auto tensor = std::make_unique<tessel_tensor>();
    tensor->dtype = dtype;
    tensor->dims.assign(dims, dims + rank);
    tensor->elements = elements;
    tensor->bytes = bytes;
    tensor->data = data;
    *out = tensor.release();
    return Error::success();
  });
}

void tessel_tensor_free(tessel_tensor *tensor) { delete tensor; }

tessel_dtype tessel_tensor_dtype(const tessel_tensor *tensor) {
  return tensor ? tensor->dtype : TESSEL_DTYPE_INVALID;
}

int32_t tessel_tensor_rank(const tessel_tensor *tensor) {
  return tensor ? static_cast<int32_t>(tensor->dims.size()) : 0;
}

const int64_t *tessel_tensor_dims(const tessel_tensor *tensor) {
  return tensor && !tensor->dims.empty() ? tensor->dims.data() : nullptr;
}

void *tessel_tensor_data(const tessel_tensor *tensor) {
  return tensor ? tensor->data : nullptr;
}

size_t tessel_tensor_element_count(const tessel_tensor *tensor) {
  return tensor ? tensor->elements : 0;
}

size_t tessel_tensor_byte_size(const tessel_tensor *tensor) {
  return tensor ? tensor->bytes : 0;
}

/// A model allocates its intermediate tensors with malloc and frees them
/// before it returns. glibc would serve the large ones with fresh mmaps (or
/// trim them back to the OS) every run, so each run page-faults all of its
/// working memory again: measured 580 -> 350 ms on tinylm 8x256. Keep freed
/// memory in the heap instead, unless the app opts out with
/// TESSEL_KEEP_MALLOC_DEFAULTS=1.
static void keepModelMemoryInHeap() {
  static bool done = [] {
    const char *optOut = std::getenv("TESSEL_KEEP_MALLOC_DEFAULTS");
    if (optOut && std::strcmp(optOut, "1") == 0)
      return true;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

tessel_status tessel_model_load(const char *path, tessel_model **out) {
  keepModelMemoryInHeap();
  return guarded([&]() -> Error {
    if (!out)
      return invalid("tessel_model_load: out is NULL");
    *out = nullptr;
    if (!path || !*path)
      return invalid("tessel_model_load: the model path is NULL or empty");
    std::unique_ptr<tessel_model> model;
    if (Error e = loadModel(path, model); e.failed())
      return e;
    *out = model.release();
    return Error::success();
  });
}

void tessel_model_free(tessel_model *model) { delete model; }

size_t tessel_model_input_count(const tessel_model *model) {
  return model ? model->manifest.inputs.size() : 0;
}

size_t tessel_model_output_count(const tessel_model *model) {
  return model ? model->manifest.outputs.size() : 0;
}

tessel_status tessel_model_input_info(const tessel_model *model, size_t index,
                                      tessel_tensor_info *info) {
  return guarded([&]() -> Error {
    if (!model)
      return invalid("tessel_model_input_info: model is NULL");
    return tensorInfo(model->manifest.inputs, index, "input", info);
  });
}

tessel_status tessel_model_output_info(const tessel_model *model, size_t index,
                                       tessel_tensor_info *info) {
  return guarded([&]() -> Error {
    if (!model)
      return invalid("tessel_model_output_info: model is NULL");
    return tensorInfo(model->manifest.outputs, index, "output", info);
  });
}

const char *tessel_model_target(const tessel_model *model) {
  return model ? model->manifest.target.c_str() : nullptr;
}

uint64_t tessel_model_weights_size(const tessel_model *model) {
  return model && model->weights.mapped() ? model->weights.size() : 0;
}

tessel_status tessel_model_run(tessel_model *model,
                               tessel_tensor *const *inputs, size_t n_inputs,
                               tessel_tensor **outputs, size_t n_outputs) {
  return guarded([&]() -> Error {
    if (n_outputs > 0 && !outputs)
      return invalid("tessel_model_run: outputs is NULL");
    for (size_t i = 0; i < n_outputs; ++i)
      outputs[i] = nullptr;
    if (!model)
      return invalid("tessel_model_run: model is NULL");
    return Run(*model, model->run, model->manifest.inputs,
               model->manifest.outputs, inputs, n_inputs, outputs, n_outputs)
        .run();
  });
}

} // extern "C"
