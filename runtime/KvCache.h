//===- KvCache.h - paged KV cache storage and its attention kernel -*- C++ -*-===//
//
// The block pool's memory (host memory for CPU models), the binding of a
// batch of sequences to the step the model is running, and the kernel that
// compiled models call for `tessel.kv_attention`
// (`_mlir_ciface_tessel_rt_kv_attention`, see docs/model-abi.md).
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_KVCACHE_H
#define TESSEL_RUNTIME_KVCACHE_H

#include "runtime/KvBlockManager.h"
#include "runtime/Manifest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessel::rt {

/// Blocks of `blockTokens` tokens; each block holds, for every layer, the
/// keys then the values of every kv head: [layer][k|v][kv_head][token][dim],
/// in the spec's element type. CPU models keep the blocks in host memory
/// (f32); CUDA models in device memory (f32, f16 or bf16).
class KvStorage {
public:
  KvStorage(const KvCacheSpec &spec, int64_t numBlocks, int64_t blockTokens,
            bool onDevice);
  ~KvStorage();
  KvStorage(const KvStorage &) = delete;
  KvStorage &operator=(const KvStorage &) = delete;

  /// False when the pool could not be allocated.
  bool allocated() const { return data != nullptr; }
  bool onDevice() const { return device; }

  /// Elements of one block.
  int64_t blockElements() const { return blockSize; }
  /// Bytes of one element.
  int64_t elementBytes() const { return elementSize; }

  /// Element offset, within a block, of the rows of (layer, k or v, head).
  int64_t rowsOffset(int64_t layer, int kind, int64_t head) const {
    return ((layer * 2 + kind) * spec.kvHeads + head) * blockTokens *
           spec.headDim;
  }

  /// The [blockTokens][headDim] rows of (block, layer, k or v, kv head): host
  /// (f32) storage only.
  float *rows(int32_t block, int64_t layer, int kind, int64_t head) const {
    return static_cast<float *>(data) + block * blockSize +
           rowsOffset(layer, kind, head);
  }

  /// Block 0's rows of (layer, k or v, kv head 0): where a device kernel's
  /// view of the layer starts.
  void *layerBase(int64_t layer, int kind) const {
    return static_cast<char *>(data) +
           rowsOffset(layer, kind, 0) * elementSize;
  }

  /// Executes the manager's copy-on-write instructions; false when a device
  /// copy failed.
  bool copy(const std::vector<BlockCopy> &copies);

  const KvCacheSpec spec;
  const int64_t blockTokens;

private:
  int64_t blockSize = 0;
  int64_t elementSize = 4;
  bool device = false;
  void *data = nullptr;
};

/// What a running entry point's tessel_rt_kv_attention calls read: the cache
/// and, per batch row, the sequence and how many tokens it held before the
/// step. Set for the duration of one entry-point call on the calling thread.
struct KvStep {
  KvBlockManager *blocks = nullptr;
  KvStorage *storage = nullptr;
  std::vector<int64_t> sequences;
  std::vector<int64_t> pastLengths;
  int64_t newTokens = 0;
  // The first problem a kernel call met (the step fails with it).
  std::string error;
  // CUDA caches: the batch's block tables ([batch][maxBlocks]), its past
  // lengths and its lengths after the step ([batch] each), int32 in
  // device-reachable memory, uploaded by
  // the first kernel call of the step; scratch of the decode kernel.
  void *deviceTables = nullptr;
  int64_t maxBlocks = 0;
  void *decodeScratch = nullptr;
  size_t decodeScratchBytes = 0;

  KvStep() = default;
  KvStep(const KvStep &) = delete;
  KvStep &operator=(const KvStep &) = delete;
  ~KvStep();
};

/// The step bound to the calling thread (null outside an entry-point call).
KvStep *boundStep();

/// Checks that a tessel_rt_kv_attention call of `layer` agrees with the
/// bound step (sizes are the memref descriptors'; `past` holds the batch's
/// past_lens with stride `pastStride`); false, with step.error set, when
/// not.
bool checkKvCall(KvStep &step, int64_t layer, const int64_t q[4],
                 const int64_t k[4], const int64_t v[4], int64_t pastSize,
                 const int64_t *past, int64_t pastStride,
                 const int64_t out[4]);

/// Binds `step` to the calling thread until destroyed.
class KvStepBinding {
public:
  explicit KvStepBinding(KvStep &step);
  ~KvStepBinding();
  KvStepBinding(const KvStepBinding &) = delete;
  KvStepBinding &operator=(const KvStepBinding &) = delete;
};

} // namespace tessel::rt

#endif // TESSEL_RUNTIME_KVCACHE_H
