//===- KvCache.cpp - paged KV cache storage and its attention kernel ------===//

#include "runtime/KvCache.h"
#include "runtime/GpuDevice.h"

#include "tessel/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

using namespace tessel::rt;

//===----------------------------------------------------------------------===//
// Storage
//===----------------------------------------------------------------------===//

KvStorage::KvStorage(const KvCacheSpec &spec, int64_t numBlocks,
                     int64_t blockTokens, bool onDevice)
    : spec(spec), blockTokens(blockTokens), device(onDevice) {
  blockSize = spec.layers * 2 * spec.kvHeads * blockTokens * spec.headDim;
  elementSize = spec.dtype == TESSEL_DTYPE_F32 ? 4 : 2;
  size_t bytes = (size_t)numBlocks * (size_t)blockSize * (size_t)elementSize;
  bytes = (bytes + 63) / 64 * 64;
  if (!bytes)
    return;
  data = device ? gpu::allocateDevice(bytes) : std::aligned_alloc(64, bytes);
}

KvStorage::~KvStorage() {
  if (device)
    gpu::releaseDevice(data);
  else
    std::free(data);
}

bool KvStorage::copy(const std::vector<BlockCopy> &copies) {
  const size_t bytes = (size_t)blockSize * (size_t)elementSize;
  char *base = static_cast<char *>(data);
  for (const BlockCopy &c : copies) {
    char *dst = base + (size_t)c.dst * bytes;
    const char *src = base + (size_t)c.src * bytes;
    if (!device)
      std::memcpy(dst, src, bytes);
    else if (!gpu::copy(dst, src, bytes))
      return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Binding
//===----------------------------------------------------------------------===//

namespace {
thread_local KvStep *currentStep = nullptr;
} // namespace

KvStepBinding::KvStepBinding(KvStep &step) { currentStep = &step; }
KvStepBinding::~KvStepBinding() { currentStep = nullptr; }

KvStep *tessel::rt::boundStep() { return currentStep; }

KvStep::~KvStep() {
  gpu::release(deviceTables);
  gpu::release(decodeScratch);
}

bool tessel::rt::checkKvCall(KvStep &step, int64_t layer, const int64_t q[4],
                             const int64_t k[4], const int64_t v[4],
                             int64_t pastSize, const int64_t *past,
                             int64_t pastStride, const int64_t out[4]) {
  const KvCacheSpec &spec = step.storage->spec;
  int64_t batch = q[0], seq = q[2];
  auto fail = [&](const std::string &why) {
    if (step.error.empty())
      step.error = "kv attention of layer " + std::to_string(layer) + ": " + why;
    return false;
  };
  if (layer < 0 || layer >= spec.layers)
    return fail("the cache has " + std::to_string(spec.layers) + " layers");
  if (batch != (int64_t)step.sequences.size() || pastSize != batch)
    return fail("batch " + std::to_string(batch) + " but " +
                std::to_string(step.sequences.size()) + " bound sequences");
  if (seq != step.newTokens || k[2] != seq || v[2] != seq)
    return fail("the step appends " + std::to_string(step.newTokens) +
                " tokens, the model passed " + std::to_string(seq));
  if (k[1] != spec.kvHeads || v[1] != spec.kvHeads || k[3] != spec.headDim ||
      v[3] != spec.headDim || q[3] != spec.headDim || q[1] % spec.kvHeads != 0)
    return fail("q/k/v heads or head dims do not match the cache's");
  if (out[0] != batch || out[1] != q[1] || out[2] != seq ||
      out[3] != spec.headDim)
    return fail("the output buffer has the wrong shape");
  for (int64_t b = 0; b < batch; ++b)
    if (past[b * pastStride] != step.pastLengths[b])
      return fail("past_lens disagrees with the cache for batch row " +
                  std::to_string(b));
  return true;
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

namespace {

/// A rank-R memref descriptor as MLIR's C interface passes it.
template <int R, typename T> struct MemRef {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[R];
  int64_t strides[R];

  T &at(int64_t i0, int64_t i1, int64_t i2, int64_t i3) const {
    static_assert(R == 4);
    return aligned[offset + i0 * strides[0] + i1 * strides[1] +
                   i2 * strides[2] + i3 * strides[3]];
  }
};

using Tensor4 = MemRef<4, float>;
using Lengths = MemRef<1, int64_t>;

} // namespace

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_tessel_rt_kv_attention(int64_t layer, int64_t /*mode*/,
                                    Tensor4 *q, Tensor4 *k, Tensor4 *v,
                                    Lengths *past, Tensor4 *out, float scale,
                                    float softcap, int64_t windowLeft) {
  KvStep *step = currentStep;
  int64_t batch = q->sizes[0], heads = q->sizes[1], seq = q->sizes[2],
          dim = q->sizes[3];
  if (!step || !checkKvCall(*step, layer, q->sizes, k->sizes, v->sizes,
                            past->sizes[0], past->aligned + past->offset,
                            past->strides[0], out->sizes)) {
    // Not called from a bound step: nothing to attend to. NaN makes any
    // use visible; the runtime reports the step's error.
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t s = 0; s < seq; ++s)
          for (int64_t d = 0; d < out->sizes[3]; ++d)
            out->at(b, h, s, d) = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  KvStorage &storage = *step->storage;
  KvBlockManager &blocks = *step->blocks;
  const int64_t kvHeads = storage.spec.kvHeads;
  const int64_t group = heads / kvHeads;
  const int64_t blockTokens = storage.blockTokens;

  // Append the new tokens' keys and values.
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int32_t> &table = blocks.blockTable(step->sequences[b]);
    for (int64_t s = 0; s < seq; ++s) {
      int64_t pos = step->pastLengths[b] + s;
      int32_t block = table[pos / blockTokens];
      int64_t slot = pos % blockTokens;
      for (int64_t g = 0; g < kvHeads; ++g) {
        float *kr = storage.rows(block, layer, 0, g) + slot * dim;
        float *vr = storage.rows(block, layer, 1, g) + slot * dim;
        for (int64_t d = 0; d < dim; ++d) {
          kr[d] = k->at(b, g, s, d);
          vr[d] = v->at(b, g, s, d);
        }
      }
    }
  }

  // Causal attention of each new query over the cached keys.
  std::vector<float> query(dim), acc(dim), scores;
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int32_t> &table = blocks.blockTable(step->sequences[b]);
    for (int64_t h = 0; h < heads; ++h) {
      int64_t g = h / group;
      for (int64_t s = 0; s < seq; ++s) {
        int64_t pos = step->pastLengths[b] + s;
        int64_t first = windowLeft >= 0 ? std::max<int64_t>(0, pos - windowLeft)
                                        : 0;
        for (int64_t d = 0; d < dim; ++d)
          query[d] = q->at(b, h, s, d) * scale;
        scores.resize(pos - first + 1);
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t j = first; j <= pos; ++j) {
          const float *kr = storage.rows(table[j / blockTokens], layer, 0, g) +
                            (j % blockTokens) * dim;
          float dot = 0;
          for (int64_t d = 0; d < dim; ++d)
            dot += query[d] * kr[d];
          if (softcap > 0)
            dot = softcap * std::tanh(dot / softcap);
          scores[j - first] = dot;
          best = std::max(best, dot);
        }
        std::fill(acc.begin(), acc.end(), 0.0f);
        float sum = 0;
        for (int64_t j = first; j <= pos; ++j) {
          float w = std::exp(scores[j - first] - best);
          sum += w;
          const float *vr = storage.rows(table[j / blockTokens], layer, 1, g) +
                            (j % blockTokens) * dim;
          for (int64_t d = 0; d < dim; ++d)
            acc[d] += w * vr[d];
        }
        for (int64_t d = 0; d < dim; ++d)
          out->at(b, h, s, d) = acc[d] / sum;
      }
    }
  }
}
