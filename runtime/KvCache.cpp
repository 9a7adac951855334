//===- KvCache.cpp - paged KV cache storage and its attention kernel ------===//

#include "runtime/KvCache.h"

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
                     int64_t blockTokens)
    : spec(spec), blockTokens(blockTokens) {
  blockSize = spec.layers * 2 * spec.kvHeads * blockTokens * spec.headDim;
  size_t bytes = (size_t)numBlocks * (size_t)blockSize * sizeof(float);
  bytes = (bytes + 63) / 64 * 64;
  data = bytes ? static_cast<float *>(std::aligned_alloc(64, bytes)) : nullptr;
}

KvStorage::~KvStorage() { std::free(data); }

void KvStorage::copy(const std::vector<BlockCopy> &copies) {
  for (const BlockCopy &c : copies)
    std::memcpy(data + (int64_t)c.dst * blockSize,
                data + (int64_t)c.src * blockSize, blockSize * sizeof(float));
}

//===----------------------------------------------------------------------===//
// Binding
//===----------------------------------------------------------------------===//

namespace {
thread_local KvStep *currentStep = nullptr;
} // namespace

KvStepBinding::KvStepBinding(KvStep &step) { currentStep = &step; }
KvStepBinding::~KvStepBinding() { currentStep = nullptr; }

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

/// Checks that the compiled model and the bound step agree.
bool checkShapes(KvStep &step, int64_t layer, const Tensor4 &q,
                 const Tensor4 &k, const Tensor4 &v, const Lengths &past,
                 const Tensor4 &out) {
  const KvCacheSpec &spec = step.storage->spec;
  int64_t batch = q.sizes[0], seq = q.sizes[2];
  auto fail = [&](const std::string &why) {
    if (step.error.empty())
      step.error = "kv attention of layer " + std::to_string(layer) + ": " + why;
    return false;
  };
  if (layer < 0 || layer >= spec.layers)
    return fail("the cache has " + std::to_string(spec.layers) + " layers");
  if (batch != (int64_t)step.sequences.size() || past.sizes[0] != batch)
    return fail("batch " + std::to_string(batch) + " but " +
                std::to_string(step.sequences.size()) + " bound sequences");
  if (seq != step.newTokens || k.sizes[2] != seq || v.sizes[2] != seq)
    return fail("the step appends " + std::to_string(step.newTokens) +
                " tokens, the model passed " + std::to_string(seq));
  if (k.sizes[1] != spec.kvHeads || v.sizes[1] != spec.kvHeads ||
      k.sizes[3] != spec.headDim || v.sizes[3] != spec.headDim ||
      q.sizes[3] != spec.headDim || q.sizes[1] % spec.kvHeads != 0)
    return fail("q/k/v heads or head dims do not match the cache's");
  if (out.sizes[0] != batch || out.sizes[1] != q.sizes[1] ||
      out.sizes[2] != seq || out.sizes[3] != spec.headDim)
    return fail("the output buffer has the wrong shape");
  for (int64_t b = 0; b < batch; ++b)
    if (past.aligned[past.offset + b * past.strides[0]] !=
        step.pastLengths[b])
      return fail("past_lens disagrees with the cache for batch row " +
                  std::to_string(b));
  return true;
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_tessel_rt_kv_attention(int64_t layer, int64_t /*mode*/,
                                    Tensor4 *q, Tensor4 *k, Tensor4 *v,
                                    Lengths *past, Tensor4 *out, float scale,
                                    float softcap, int64_t windowLeft) {
  KvStep *step = currentStep;
  int64_t batch = q->sizes[0], heads = q->sizes[1], seq = q->sizes[2],
          dim = q->sizes[3];
  if (!step || !checkShapes(*step, layer, *q, *k, *v, *past, *out)) {
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
