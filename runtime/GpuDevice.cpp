//===- GpuDevice.cpp - the CUDA driver, loaded at run time ----------------===//
//
// See GpuDevice.h. The driver's types are declared here (opaque handles,
// CUresult as int) so that building the runtime needs no CUDA headers.
//
//===----------------------------------------------------------------------===//

#include "runtime/GpuDevice.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using Handle = void *; // CUcontext, CUmodule, CUfunction, CUstream, CUevent
constexpr CUresult kSuccess = 0;
constexpr unsigned kAttachGlobal = 1; // CU_MEM_ATTACH_GLOBAL

/// The driver entry points the runtime uses.
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*primaryCtxRetain)(Handle *, CUdevice);
  CUresult (*ctxSetCurrent)(Handle);
  CUresult (*ctxSynchronize)();
  CUresult (*moduleLoadData)(Handle *, const void *);
  CUresult (*moduleUnload)(Handle);
  CUresult (*moduleGetFunction)(Handle *, Handle, const char *);
  CUresult (*launchKernel)(Handle, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, Handle, void **,
                           void **);
  CUresult (*streamCreate)(Handle *, unsigned);
  CUresult (*streamSynchronize)(Handle);
  CUresult (*streamWaitEvent)(Handle, Handle, unsigned);
  CUresult (*eventCreate)(Handle *, unsigned);
  CUresult (*eventDestroy)(Handle);
  CUresult (*eventSynchronize)(Handle);
  CUresult (*eventRecord)(Handle, Handle);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memGetInfo)(size_t *, size_t *);
  CUresult (*memcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*memsetD32)(CUdeviceptr, unsigned, size_t);
  CUresult (*memsetD16)(CUdeviceptr, unsigned short, size_t);
  CUresult (*funcSetAttribute)(Handle, int, int);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*occupancy)(int *, Handle, int, size_t);
  // Optional (a hint; absent from old drivers): cuMemPrefetchAsync_v2
  // (CUDA 12.2+: a CUmemLocation), else the original cuMemPrefetchAsync.
  struct MemLocation {
    int type; // CU_MEM_LOCATION_TYPE_DEVICE = 1
    int id;
  };
  CUresult (*memPrefetchV2)(CUdeviceptr, size_t, MemLocation, unsigned,
                            Handle) = nullptr;
  CUresult (*memPrefetch)(CUdeviceptr, size_t, CUdevice, Handle) = nullptr;
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*getErrorString)(CUresult, const char **);
};

struct State {
  std::mutex mutex;
  bool tried = false;      // initialisation attempted
  bool ready = false;      // driver loaded, context retained
  std::string unavailable; // why not ready
  std::string sticky;      // the first failure after init
  Driver cu{};
  void *library = nullptr;
  CUdevice device = 0;
  int requestedDevice = -1;
  Handle context = nullptr;
  std::string name;
  std::unordered_set<void *> hostFallback; // allocate() fell back to malloc
  // The memory pool: managed blocks by rounded size. release() keeps a block
  // for the next allocate() of its size class (a model's buffers recur from
  // run to run), so its pages stay on the device: a fresh managed
  // allocation is populated by page faults the first time a kernel touches
  // it (9 GB/s measured on an H100, ~450 us per 4 MB buffer).
  std::unordered_map<uintptr_t, size_t> blockSizes;           // live + cached
  std::unordered_map<size_t, std::vector<uintptr_t>> cached;  // by size
  size_t cachedBytes = 0;
  size_t cacheLimit = 0; // a quarter of the device's memory
  // The runtime's own kernels (runtime/cuda, embedded as a fatbin), loaded
  // on first use; their functions by name, with the dynamic shared memory
  // each was enabled for.
  Handle kernelLibrary = nullptr;
  std::unordered_map<std::string, std::pair<Handle, unsigned>> kernels;
  // cuBLAS, opened on the first matrix product.
  bool blasTried = false;
  void *blasLibrary = nullptr;
  Handle blas = nullptr;
  int (*blasCreate)(Handle *) = nullptr;
  int (*blasSetStream)(Handle, Handle) = nullptr;
  int (*blasSgemm)(Handle, int, int, int, int, int, const float *,
                   const float *, int, const float *, int, const float *,
                   float *, int) = nullptr;
  int (*blasGemmEx)(Handle, int, int, int, int, int, const void *,
                    const void *, int, int, const void *, int, int,
                    const void *, void *, int, int, int, int) = nullptr;
};

State &state() {
  static State *s = new State; // never destroyed: models may outlive statics
  return *s;
}

thread_local Handle threadStream = nullptr;

std::string describe(const Driver &cu, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (cu.getErrorName)
    cu.getErrorName(r, &name);
  if (cu.getErrorString)
    cu.getErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

/// Records the first failure; later ones keep the first message.
void setSticky(State &s, const std::string &message) {
  if (s.sticky.empty())
    s.sticky = message +
               "; the CUDA runtime of this process is unusable from now on";
}

/// Checks a driver call made with the mutex held.
bool check(State &s, CUresult r, const char *call) {
  if (r == kSuccess)
    return true;
  setSticky(s, std::string("CUDA error in ") + call + ": " + describe(s.cu, r));
  return false;
}

template <typename F> bool resolve(void *lib, F &f, const char *name) {
  f = reinterpret_cast<F>(::dlsym(lib, name));
  return f != nullptr;
}

/// Loads the driver and retains the context; with the mutex held.
bool initLocked(State &s) {
  if (s.tried)
    return s.ready;
  s.tried = true;
  ::dlerror();
  s.library = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!s.library) {
    const char *why = ::dlerror();
    s.unavailable = std::string("no CUDA driver: libcuda.so.1 could not be "
                                "loaded (") +
                    (why ? why : "unknown reason") + ")";
    return false;
  }
  Driver &cu = s.cu;
  struct Entry {
    bool ok;
    const char *name;
  } entries[] = {
      {resolve(s.library, cu.init, "cuInit"), "cuInit"},
      {resolve(s.library, cu.deviceGetCount, "cuDeviceGetCount"),
       "cuDeviceGetCount"},
      {resolve(s.library, cu.deviceGet, "cuDeviceGet"), "cuDeviceGet"},
      {resolve(s.library, cu.deviceGetName, "cuDeviceGetName"),
       "cuDeviceGetName"},
      {resolve(s.library, cu.primaryCtxRetain, "cuDevicePrimaryCtxRetain"),
       "cuDevicePrimaryCtxRetain"},
      {resolve(s.library, cu.ctxSetCurrent, "cuCtxSetCurrent"),
       "cuCtxSetCurrent"},
      {resolve(s.library, cu.ctxSynchronize, "cuCtxSynchronize"),
       "cuCtxSynchronize"},
      {resolve(s.library, cu.moduleLoadData, "cuModuleLoadData"),
       "cuModuleLoadData"},
      {resolve(s.library, cu.moduleUnload, "cuModuleUnload"),
       "cuModuleUnload"},
      {resolve(s.library, cu.moduleGetFunction, "cuModuleGetFunction"),
       "cuModuleGetFunction"},
      {resolve(s.library, cu.launchKernel, "cuLaunchKernel"),
       "cuLaunchKernel"},
      {resolve(s.library, cu.streamCreate, "cuStreamCreate"),
       "cuStreamCreate"},
      {resolve(s.library, cu.streamSynchronize, "cuStreamSynchronize"),
       "cuStreamSynchronize"},
      {resolve(s.library, cu.streamWaitEvent, "cuStreamWaitEvent"),
       "cuStreamWaitEvent"},
      {resolve(s.library, cu.eventCreate, "cuEventCreate"), "cuEventCreate"},
      {resolve(s.library, cu.eventDestroy, "cuEventDestroy_v2"),
       "cuEventDestroy_v2"},
      {resolve(s.library, cu.eventSynchronize, "cuEventSynchronize"),
       "cuEventSynchronize"},
      {resolve(s.library, cu.eventRecord, "cuEventRecord"), "cuEventRecord"},
      {resolve(s.library, cu.memAllocManaged, "cuMemAllocManaged"),
       "cuMemAllocManaged"},
      {resolve(s.library, cu.memFree, "cuMemFree_v2"), "cuMemFree_v2"},
      {resolve(s.library, cu.memGetInfo, "cuMemGetInfo_v2"),
       "cuMemGetInfo_v2"},
      {resolve(s.library, cu.memcpy, "cuMemcpy"), "cuMemcpy"},
      {resolve(s.library, cu.memsetD32, "cuMemsetD32_v2"), "cuMemsetD32_v2"},
      {resolve(s.library, cu.memsetD16, "cuMemsetD16_v2"), "cuMemsetD16_v2"},
      {resolve(s.library, cu.funcSetAttribute, "cuFuncSetAttribute"),
       "cuFuncSetAttribute"},
      {resolve(s.library, cu.memAlloc, "cuMemAlloc_v2"), "cuMemAlloc_v2"},
      {resolve(s.library, cu.deviceGetAttribute, "cuDeviceGetAttribute"),
       "cuDeviceGetAttribute"},
      {resolve(s.library, cu.occupancy,
               "cuOccupancyMaxActiveBlocksPerMultiprocessor"),
       "cuOccupancyMaxActiveBlocksPerMultiprocessor"},
      {resolve(s.library, cu.getErrorName, "cuGetErrorName"),
       "cuGetErrorName"},
      {resolve(s.library, cu.getErrorString, "cuGetErrorString"),
       "cuGetErrorString"},
  };
  for (const Entry &e : entries)
    if (!e.ok) {
      s.unavailable = std::string("the CUDA driver lacks ") + e.name +
                      " (too old a driver?)";
      return false;
    }
  CUresult r = cu.init(0);
  if (r != kSuccess) {
    s.unavailable = "cuInit failed: " + describe(cu, r);
    return false;
  }
  int count = 0;
  r = cu.deviceGetCount(&count);
  if (r != kSuccess || count == 0) {
    s.unavailable = r != kSuccess ? "cuDeviceGetCount failed: " + describe(cu, r)
                                  : std::string("no CUDA device");
    return false;
  }
  int ordinal = s.requestedDevice;
  if (ordinal < 0) {
    const char *env = std::getenv("TESSEL_CUDA_DEVICE");
    ordinal = env && *env ? std::atoi(env) : 0;
  }
  if (ordinal < 0 || ordinal >= count) {
    s.unavailable = "CUDA device " + std::to_string(ordinal) +
                    " does not exist (" + std::to_string(count) +
                    " device(s); TESSEL_CUDA_DEVICE selects one)";
    return false;
  }
  if ((r = cu.deviceGet(&s.device, ordinal)) != kSuccess ||
      (r = cu.primaryCtxRetain(&s.context, s.device)) != kSuccess) {
    s.unavailable = "cannot open CUDA device " + std::to_string(ordinal) +
                    ": " + describe(cu, r);
    return false;
  }
  char name[256] = {0};
  cu.deviceGetName(name, sizeof name - 1, s.device);
  s.name = std::string(name) + " (device " + std::to_string(ordinal) + ")";
  resolve(s.library, cu.memPrefetchV2, "cuMemPrefetchAsync_v2");
  if (!cu.memPrefetchV2)
    resolve(s.library, cu.memPrefetch, "cuMemPrefetchAsync");
  s.ready = true;
  return true;
}

/// Initialised, no sticky error, and the context current on this thread;
/// with the mutex held.
bool usable(State &s) {
  if (!initLocked(s) || !s.sticky.empty())
    return false;
  return check(s, s.cu.ctxSetCurrent(s.context), "cuCtxSetCurrent");
}

/// This thread's stream (created once; the lowering creates and destroys a
/// stream around every launch, which would cost more than the launch).
Handle streamLocked(State &s) {
  if (!threadStream)
    check(s, s.cu.streamCreate(&threadStream, 0), "cuStreamCreate");
  return threadStream;
}

} // namespace

namespace tessel::rt::gpu {

bool available(std::string &why) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!initLocked(s)) {
    why = s.unavailable;
    return false;
  }
  if (!s.sticky.empty()) {
    why = s.sticky;
    return false;
  }
  if (!check(s, s.cu.ctxSetCurrent(s.context), "cuCtxSetCurrent")) {
    why = s.sticky;
    return false;
  }
  return true;
}

namespace {

void trimLocked(State &s); // below, with the memory pool

/// The runtime's kernel `name`, enabled for `smemBytes` of dynamic shared
/// memory (the library loaded on first use); null with the sticky error set.
Handle libraryKernelLocked(State &s, const char *name, unsigned smemBytes) {
  if (!s.kernelLibrary) {
    if (kernelLibrarySize() == 0) {
      setSticky(s, std::string("the model needs the runtime's CUDA kernel ") +
                       name +
                       ", and this libtessel_rt was built without them (no "
                       "nvcc at build time)");
      return nullptr;
    }
    if (!check(s, s.cu.moduleLoadData(&s.kernelLibrary, kernelLibraryImage()),
               "cuModuleLoadData (the runtime's kernels)"))
      return nullptr;
  }
  auto [it, inserted] = s.kernels.try_emplace(name, nullptr, 0u);
  if (inserted &&
      !check(s, s.cu.moduleGetFunction(&it->second.first, s.kernelLibrary,
                                       name),
             "cuModuleGetFunction (the runtime's kernels)")) {
    s.kernels.erase(it);
    return nullptr;
  }
  if (smemBytes > it->second.second) {
    constexpr int kMaxDynamicSharedBytes = 8; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    if (!check(s,
               s.cu.funcSetAttribute(it->second.first, kMaxDynamicSharedBytes,
                                     (int)smemBytes),
               "cuFuncSetAttribute"))
      return nullptr;
    it->second.second = smemBytes;
  }
  return it->second.first;
}

} // namespace

bool launchLibraryKernel(const char *name, const unsigned grid[3],
                         unsigned threads, unsigned smemBytes, void **args) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return false;
  Handle function = libraryKernelLocked(s, name, smemBytes);
  if (!function)
    return false;
  // Stream-ordered like the model's own launches: the generated host code
  // waits before it touches memory, the pool's frees wait (release()).
  return check(s,
               s.cu.launchKernel(function, grid[0], grid[1], grid[2], threads,
                                 1, 1, smemBytes, streamLocked(s), args,
                                 nullptr),
               name);
}

int libraryKernelOccupancy(const char *name, unsigned threads,
                           unsigned smemBytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return 0;
  Handle function = libraryKernelLocked(s, name, smemBytes);
  int ctas = 0;
  if (!function ||
      !check(s, s.cu.occupancy(&ctas, function, (int)threads, smemBytes),
             "cuOccupancyMaxActiveBlocksPerMultiprocessor"))
    return 0;
  return ctas;
}

int multiprocessorCount() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  int sms = 0;
  constexpr int kMultiprocessorCount = 16; // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
  if (usable(s))
    check(s, s.cu.deviceGetAttribute(&sms, kMultiprocessorCount, s.device),
          "cuDeviceGetAttribute");
  return sms;
}

void *allocateDevice(size_t bytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s) || bytes == 0)
    return nullptr;
  CUdeviceptr p = 0;
  CUresult r = s.cu.memAlloc(&p, bytes);
  if (r != kSuccess && s.cachedBytes > 0) {
    trimLocked(s);
    r = s.cu.memAlloc(&p, bytes);
  }
  // Out of memory is the caller's error to report, not a broken device.
  return r == kSuccess ? reinterpret_cast<void *>(static_cast<uintptr_t>(p))
                       : nullptr;
}

void releaseDevice(void *p) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!p || !s.ready)
    return;
  s.cu.ctxSetCurrent(s.context);
  check(s, s.cu.memFree(reinterpret_cast<uintptr_t>(p)), "cuMemFree");
}

bool copy(void *dst, const void *src, size_t bytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return false;
  return bytes == 0 ||
         check(s,
               s.cu.memcpy(reinterpret_cast<uintptr_t>(dst),
                           reinterpret_cast<uintptr_t>(src), bytes),
               "cuMemcpy");
}

bool zero32(void *dst, size_t count) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return false;
  return count == 0 ||
         check(s, s.cu.memsetD32(reinterpret_cast<uintptr_t>(dst), 0, count),
               "cuMemsetD32");
}

bool memoryInfo(size_t &freeBytes, size_t &totalBytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  freeBytes = totalBytes = 0;
  return usable(s) &&
         check(s, s.cu.memGetInfo(&freeBytes, &totalBytes), "cuMemGetInfo");
}

namespace {
thread_local std::string runError;
} // namespace

void failRun(const std::string &message) {
  if (runError.empty())
    runError = message;
}

std::string takeRunError() { return std::exchange(runError, std::string()); }

std::string stickyError() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.sticky;
}

namespace {

/// The pool's size class of `bytes`: powers of two up to 1 MiB, then
/// multiples of 2 MiB (at most 2 MiB of slack on a large buffer).
size_t sizeClass(size_t bytes) {
  constexpr size_t kMiB = size_t(1) << 20;
  if (bytes <= 256)
    return 256;
  if (bytes <= kMiB) {
    size_t c = 512;
    while (c < bytes)
      c <<= 1;
    return c;
  }
  return (bytes + 2 * kMiB - 1) / (2 * kMiB) * (2 * kMiB);
}

/// Moves `bytes` at `p` to the device, ahead of the kernels of this
/// thread's stream (a hint: failures are ignored).
void prefetchLocked(State &s, uintptr_t p, size_t bytes) {
  Handle stream = streamLocked(s);
  if (s.cu.memPrefetchV2)
    s.cu.memPrefetchV2(p, bytes, Driver::MemLocation{1, s.device}, 0, stream);
  else if (s.cu.memPrefetch)
    s.cu.memPrefetch(p, bytes, s.device, stream);
}

/// Returns every cached block to the driver.
void trimLocked(State &s) {
  for (auto &[size, blocks] : s.cached)
    for (uintptr_t p : blocks) {
      s.cu.memFree(p);
      s.blockSizes.erase(p);
    }
  s.cached.clear();
  s.cachedBytes = 0;
}

} // namespace

void *allocate(size_t bytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  size_t size = sizeClass(bytes ? bytes : 1);
  if (usable(s)) {
    auto hit = s.cached.find(size);
    if (hit != s.cached.end() && !hit->second.empty()) {
      uintptr_t p = hit->second.back();
      hit->second.pop_back();
      s.cachedBytes -= size;
      return reinterpret_cast<void *>(p);
    }
    CUdeviceptr p = 0;
    CUresult r = s.cu.memAllocManaged(&p, size, kAttachGlobal);
    if (r != kSuccess && s.cachedBytes > 0) {
      trimLocked(s); // out of memory: give the cache back, then retry
      r = s.cu.memAllocManaged(&p, size, kAttachGlobal);
    }
    if (r == kSuccess) {
      s.blockSizes[p] = size;
      // Populate the pages on the device in bulk rather than by faults.
      prefetchLocked(s, p, size);
      return reinterpret_cast<void *>(static_cast<uintptr_t>(p));
    }
    size_t freeBytes = 0, total = 0;
    s.cu.memGetInfo(&freeBytes, &total);
    setSticky(s, "CUDA out of memory allocating " + std::to_string(size) +
                     " bytes (" + std::to_string(freeBytes) + " of " +
                     std::to_string(total) + " bytes free): " +
                     describe(s.cu, r));
  }
  // No device memory: host memory keeps the host code from crashing; no
  // kernel runs any more (sticky error), and the run reports the error.
  void *p = std::malloc(size);
  if (p)
    s.hostFallback.insert(p);
  return p;
}

void release(void *p) {
  if (!p)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.hostFallback.find(p);
  if (it != s.hostFallback.end()) {
    s.hostFallback.erase(it);
    std::free(p);
    return;
  }
  if (!s.ready)
    return;
  uintptr_t block = reinterpret_cast<uintptr_t>(p);
  auto known = s.blockSizes.find(block);
  // Releases may come from threads that never ran a model (a tensor freed
  // elsewhere): make the context current before asking the driver.
  s.cu.ctxSetCurrent(s.context);
  if (s.cacheLimit == 0) {
    size_t freeBytes = 0, total = 0;
    if (s.cu.memGetInfo(&freeBytes, &total) == kSuccess)
      s.cacheLimit = total / 4;
  }
  // Kernels queued before the release may still use the block, but
  // everything that can reuse it is ordered after them: later kernels and
  // cuBLAS calls run on the same stream, and the generated host code waits
  // for the stream before it writes memory. So the block can serve the
  // next allocation at once.
  if (known != s.blockSizes.end() && s.sticky.empty() &&
      s.cachedBytes + known->second <= s.cacheLimit) {
    s.cached[known->second].push_back(block);
    s.cachedBytes += known->second;
    return;
  }
  if (known != s.blockSizes.end())
    s.blockSizes.erase(known);
  // Kernels still queued may use the block (launches do not wait): the
  // driver must not take it back before they finish.
  if (s.sticky.empty())
    s.cu.ctxSynchronize();
  check(s, s.cu.memFree(block), "cuMemFree");
}

void prefetchToDevice(void *p, size_t bytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (p && bytes && usable(s) && !s.hostFallback.count(p))
    prefetchLocked(s, reinterpret_cast<uintptr_t>(p), bytes);
}

bool synchronize() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return false;
  return check(s, s.cu.ctxSynchronize(), "cuCtxSynchronize");
}

std::string deviceName() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.name;
}

} // namespace tessel::rt::gpu

//===----------------------------------------------------------------------===//
// What a CUDA model.so imports (MLIR's GPU-to-LLVM lowering)
//===----------------------------------------------------------------------===//

#define TESSEL_GPU_EXPORT extern "C" __attribute__((visibility("default")))

using tessel::rt::gpu::allocate;
using tessel::rt::gpu::release;

TESSEL_GPU_EXPORT void *mgpuModuleLoad(void *data, size_t size) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s)) {
    if (s.sticky.empty() && !s.unavailable.empty())
      setSticky(s, "a CUDA model was loaded, but " + s.unavailable);
    return nullptr;
  }
  // PTX must end with a NUL; a cubin/fatbin is passed as it is.
  std::vector<char> image(static_cast<const char *>(data),
                          static_cast<const char *>(data) + size);
  image.push_back('\0');
  Handle module = nullptr;
  if (!check(s, s.cu.moduleLoadData(&module, image.data()),
             "cuModuleLoadData"))
    return nullptr;
  return module;
}

TESSEL_GPU_EXPORT void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return mgpuModuleLoad(data, std::strlen(static_cast<const char *>(data)));
}

TESSEL_GPU_EXPORT void mgpuModuleUnload(void *module) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (module && s.ready) {
    s.cu.ctxSetCurrent(s.context);
    s.cu.moduleUnload(module); // at exit the context may be gone: unchecked
  }
}

TESSEL_GPU_EXPORT void *mgpuModuleGetFunction(void *module,
                                              const char *name) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!module || !usable(s))
    return nullptr;
  Handle function = nullptr;
  if (!check(s, s.cu.moduleGetFunction(&function, module, name),
             "cuModuleGetFunction"))
    return nullptr;
  return function;
}

TESSEL_GPU_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                        intptr_t gridY, intptr_t gridZ,
                                        intptr_t blockX, intptr_t blockY,
                                        intptr_t blockZ, int32_t smem,
                                        void *stream, void **params,
                                        void **extra, size_t /*paramsCount*/) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return;
  if (!function) {
    setSticky(s, "a kernel of the model could not be loaded");
    return;
  }
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0 || blockX <= 0 || blockY <= 0 ||
      blockZ <= 0)
    return; // an empty problem: nothing to do
  check(s,
        s.cu.launchKernel(function, (unsigned)gridX, (unsigned)gridY,
                          (unsigned)gridZ, (unsigned)blockX, (unsigned)blockY,
                          (unsigned)blockZ, (unsigned)smem,
                          stream ? stream : streamLocked(s), params, extra),
        "cuLaunchKernel");
}

TESSEL_GPU_EXPORT void *mgpuStreamCreate() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return nullptr;
  return streamLocked(s);
}

TESSEL_GPU_EXPORT void mgpuStreamDestroy(void * /*stream*/) {
  // The thread's stream is reused by every launch.
}

TESSEL_GPU_EXPORT void mgpuStreamSynchronize(void *stream) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s))
    return;
  check(s, s.cu.streamSynchronize(stream ? stream : streamLocked(s)),
        "cuStreamSynchronize");
}

TESSEL_GPU_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s) || !event)
    return;
  check(s, s.cu.streamWaitEvent(stream ? stream : streamLocked(s), event, 0),
        "cuStreamWaitEvent");
}

TESSEL_GPU_EXPORT void *mgpuEventCreate() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  Handle event = nullptr;
  if (usable(s))
    check(s, s.cu.eventCreate(&event, /*CU_EVENT_DISABLE_TIMING=*/2),
          "cuEventCreate");
  return event;
}

TESSEL_GPU_EXPORT void mgpuEventDestroy(void *event) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (event && s.ready)
    check(s, s.cu.eventDestroy(event), "cuEventDestroy");
}

TESSEL_GPU_EXPORT void mgpuEventSynchronize(void *event) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (event && usable(s))
    check(s, s.cu.eventSynchronize(event), "cuEventSynchronize");
}

TESSEL_GPU_EXPORT void mgpuEventRecord(void *event, void *stream) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (event && usable(s))
    check(s, s.cu.eventRecord(event, stream ? stream : streamLocked(s)),
          "cuEventRecord");
}

TESSEL_GPU_EXPORT void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/,
                                     bool /*isHostShared*/) {
  return allocate(bytes);
}

TESSEL_GPU_EXPORT void mgpuMemFree(void *p, void * /*stream*/) { release(p); }

TESSEL_GPU_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes,
                                  void * /*stream*/) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!usable(s) || bytes == 0)
    return;
  check(s,
        s.cu.memcpy(reinterpret_cast<uintptr_t>(dst),
                    reinterpret_cast<uintptr_t>(src), bytes),
        "cuMemcpy");
}

TESSEL_GPU_EXPORT void mgpuMemset32(void *dst, unsigned value, size_t count,
                                    void * /*stream*/) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (usable(s) && count)
    check(s, s.cu.memsetD32(reinterpret_cast<uintptr_t>(dst), value, count),
          "cuMemsetD32");
}

TESSEL_GPU_EXPORT void mgpuMemset16(void *dst, unsigned short value,
                                    size_t count, void * /*stream*/) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (usable(s) && count)
    check(s, s.cu.memsetD16(reinterpret_cast<uintptr_t>(dst), value, count),
          "cuMemsetD16");
}

TESSEL_GPU_EXPORT void mgpuSetDefaultDevice(int32_t device) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.tried)
    s.requestedDevice = device;
}

// Host allocations of a CUDA model: kernels read and write them too.
TESSEL_GPU_EXPORT void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  return allocate(bytes);
}

TESSEL_GPU_EXPORT void *_mlir_memref_to_llvm_aligned_alloc(size_t /*align*/,
                                                           size_t bytes) {
  return allocate(bytes); // managed memory is 256-byte aligned or better
}

TESSEL_GPU_EXPORT void _mlir_memref_to_llvm_free(void *p) { release(p); }

//===----------------------------------------------------------------------===//
// Matrix products (tessel-linalg-to-blas with gemm=tessel_cuda_sgemm)
//===----------------------------------------------------------------------===//

namespace {

/// Opens cuBLAS and creates a handle on this thread's stream; with the mutex
/// held. False (sticky error set) when it cannot.
bool cublasLocked(State &s) {
  if (!s.blasTried) {
    s.blasTried = true;
    for (const char *name : {"libcublas.so.13", "libcublas.so.12",
                             "libcublas.so.11", "libcublas.so"}) {
      if ((s.blasLibrary = ::dlopen(name, RTLD_NOW | RTLD_LOCAL)))
        break;
    }
    if (!s.blasLibrary) {
      setSticky(s, "the model's matrix products need cuBLAS, and no "
                   "libcublas.so (13, 12 or 11) could be loaded (install the "
                   "CUDA toolkit's cuBLAS, or compile with --blas=false)");
      return false;
    }
    if (!resolve(s.blasLibrary, s.blasCreate, "cublasCreate_v2") ||
        !resolve(s.blasLibrary, s.blasSetStream, "cublasSetStream_v2") ||
        !resolve(s.blasLibrary, s.blasSgemm, "cublasSgemm_v2") ||
        !resolve(s.blasLibrary, s.blasGemmEx, "cublasGemmEx")) {
      setSticky(s, "libcublas lacks cublasCreate_v2 / cublasSetStream_v2 / "
                   "cublasSgemm_v2 / cublasGemmEx");
      return false;
    }
    int status = s.blasCreate(&s.blas);
    if (status != 0) {
      setSticky(s, "cublasCreate failed with status " +
                       std::to_string(status));
      return false;
    }
  }
  return s.blas != nullptr;
}

} // namespace

namespace {

/// The element types of a product: CUDA_R_32F, CUDA_R_16F, CUDA_R_16BF.
constexpr int kCudaF32 = 0, kCudaF16 = 2, kCudaBF16 = 14;

/// C (f32) = op(A) op(B) through cuBLAS on this thread's stream, A and B of
/// `inType`; returns once the product is done (the host code may read it
/// next). Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
void gemm(int order, int transA, int transB, int m, int n, int k, float alpha,
          const void *a, int lda, const void *b, int ldb, float beta, float *c,
          int ldc, int inType) {
  constexpr int kRowMajor = 101, kTrans = 112;
  constexpr int kOpN = 0, kOpT = 1;       // CUBLAS_OP_N, CUBLAS_OP_T
  constexpr int kCompute32F = 68;         // CUBLAS_COMPUTE_32F
  constexpr int kDefaultAlgo = -1;        // CUBLAS_GEMM_DEFAULT
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (m <= 0 || n <= 0 || k <= 0 || !usable(s) || !cublasLocked(s))
    return;
  Handle stream = streamLocked(s);
  int status = s.blasSetStream(s.blas, stream);
  int opA = transA == kTrans ? kOpT : kOpN;
  int opB = transB == kTrans ? kOpT : kOpN;
  if (order == kRowMajor) {
    std::swap(opA, opB);
    std::swap(a, b);
    std::swap(lda, ldb);
    std::swap(m, n);
  }
  if (status == 0) {
    if (inType == kCudaF32)
      status = s.blasSgemm(s.blas, opA, opB, m, n, k, &alpha,
                           static_cast<const float *>(a), lda,
                           static_cast<const float *>(b), ldb, &beta, c, ldc);
    else
      status = s.blasGemmEx(s.blas, opA, opB, m, n, k, &alpha, a, inType, lda,
                            b, inType, ldb, &beta, c, kCudaF32, ldc,
                            kCompute32F, kDefaultAlgo);
  }
  if (status != 0) {
    setSticky(s, std::string(inType == kCudaF32 ? "cublasSgemm" : "cublasGemmEx") +
                     " failed with status " + std::to_string(status) +
                     " (m " + std::to_string(m) + ", n " + std::to_string(n) +
                     ", k " + std::to_string(k) + ")");
    return;
  }
  // Stream-ordered: no wait (the host code waits before touching memory).
}

} // namespace

/// CBLAS's cblas_sgemm on memory the GPU reaches.
TESSEL_GPU_EXPORT void tessel_cuda_sgemm(int order, int transA, int transB,
                                         int m, int n, int k, float alpha,
                                         const float *a, int lda,
                                         const float *b, int ldb, float beta,
                                         float *c, int ldc) {
  gemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
       kCudaF32);
}

/// cblas_sgemm's signature with f16 (`type` 0) or bf16 (1) A and B and an
/// f32 C, accumulated in f32 (tessel-linalg-to-blas's mixed-gemm).
TESSEL_GPU_EXPORT void tessel_cuda_gemm_mixed(int order, int transA,
                                              int transB, int m, int n, int k,
                                              float alpha, const void *a,
                                              int lda, const void *b, int ldb,
                                              float beta, float *c, int ldc,
                                              int type) {
  if (type != 0 && type != 1) {
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    setSticky(s, "tessel_cuda_gemm_mixed: unknown operand type " +
                     std::to_string(type));
    return;
  }
  gemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
       type == 0 ? kCudaF16 : kCudaBF16);
}
