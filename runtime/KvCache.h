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
/// keys then the values of every kv head: [layer][k|v][kv_head][token][dim].
class KvStorage {
public:
  KvStorage(const KvCacheSpec &spec, int64_t numBlocks, int64_t blockTokens);
  ~KvStorage();
  KvStorage(const KvStorage &) = delete;
  KvStorage &operator=(const KvStorage &) = delete;

  /// False when the pool could not be allocated.
  bool allocated() const { return data != nullptr; }

  /// Elements of one block.
  int64_t blockElements() const { return blockSize; }

  /// The [blockTokens][headDim] rows of (block, layer, k or v, kv head).
  float *rows(int32_t block, int64_t layer, int kind, int64_t head) const {
    return data + block * blockSize +
           ((layer * 2 + kind) * spec.kvHeads + head) * blockTokens *
               spec.headDim;
  }

  /// Executes the manager's copy-on-write instructions.
  void copy(const std::vector<BlockCopy> &copies);

  const KvCacheSpec spec;
  const int64_t blockTokens;

private:
  int64_t blockSize = 0;
  float *data = nullptr;
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
};

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
