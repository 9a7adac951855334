//===- CudaKvAttention.cpp - tessel.kv_attention on the GPU ---------------===//
//
// What CUDA models call for attention over the paged KV cache (the lowering
// convert-tessel-kv-attention-to-runtime{target=cuda}):
// `_mlir_ciface_tessel_rt_cuda_kv_attention_{f32,f16,bf16}`. Each call
// appends the step's keys/values of one layer to the sequences' blocks
// (device memory, see KvStorage), then attends: the split-KV decode kernel
// for one new token per sequence where it applies (f16/bf16, head dim 64 or
// 128, group 1/2/4/8, no softcap or window), the general kernel otherwise.
// The block tables go to the device once per step, with the first call.
//
//===----------------------------------------------------------------------===//

#include "runtime/GpuDevice.h"
#include "runtime/KvCache.h"
#include "runtime/cuda/PagedAttention.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

using namespace tessel::rt;

namespace {

/// A rank-R strided memref descriptor (MLIR's C interface).
template <int R> struct Memref {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[R];
  int64_t strides[R];
};
using Memref4 = Memref<4>;
using Lengths = Memref<1>;

enum class Dtype { F32, F16, BF16 };

const char *nameOf(Dtype t) {
  return t == Dtype::F32 ? "f32" : t == Dtype::F16 ? "f16" : "bf16";
}
int64_t bytesOf(Dtype t) { return t == Dtype::F32 ? 4 : 2; }

/// Element `m.offset` of `m`.
const void *base(const Memref4 &m, Dtype t) {
  return static_cast<const char *>(m.aligned) + m.offset * bytesOf(t);
}

/// Batch / head / row strides, those of unit dims zeroed (MLIR may leave
/// them arbitrary).
void strides3(const Memref4 &m, int64_t (&s)[3]) {
  for (int i = 0; i < 3; ++i)
    s[i] = m.sizes[i] == 1 ? 0 : m.strides[i];
}

/// Uploads the step's block tables and lengths (int32) with its first call; false (step.error set) when they do not fit or the copy fails.
bool uploadTables(KvStep &step) {
  if (step.deviceTables)
    return true;
  const int64_t batch = (int64_t)step.sequences.size();
  int64_t maxBlocks = 1;
  for (int64_t seq : step.sequences)
    maxBlocks = std::max<int64_t>(maxBlocks,
                                  step.blocks->blockTable(seq).size());
  // [batch][maxBlocks] tables, [batch] past lengths, [batch] lengths
  // after the step (the decode kernel's context lengths).
  std::vector<int32_t> host(batch * maxBlocks + 2 * batch, 0);
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int32_t> &table = step.blocks->blockTable(step.sequences[b]);
    std::copy(table.begin(), table.end(), host.begin() + b * maxBlocks);
    if (step.pastLengths[b] > INT32_MAX - step.newTokens) {
      step.error = "a sequence is longer than the CUDA kernels take (2^31 tokens)";
      return false;
    }
    host[batch * maxBlocks + b] = (int32_t)step.pastLengths[b];
    host[batch * maxBlocks + batch + b] =
        (int32_t)(step.pastLengths[b] + step.newTokens);
  }
  size_t bytes = host.size() * sizeof(int32_t);
  step.deviceTables = gpu::allocate(bytes);
  step.maxBlocks = maxBlocks;
  if (!gpu::copy(step.deviceTables, host.data(), bytes)) {
    step.error = "cannot upload the block tables: " + gpu::stickyError();
    return false;
  }
  return true;
}

/// The decode kernel's scratch for `chunks` chunks: partial outputs, maxima,
/// sums, then the counters (zeroed when first allocated; every call leaves
/// them at zero).
bool decodeScratch(KvStep &step, const TesselDecodeParams &p) {
  size_t rows = (size_t)p.batch * p.num_heads * p.num_chunks;
  size_t floats = rows * p.head_dim + 2 * rows;
  size_t counters = (size_t)p.batch * p.num_kv_heads;
  size_t bytes = (floats + counters) * 4;
  if (step.decodeScratchBytes < bytes) {
    gpu::release(step.decodeScratch);
    step.decodeScratch = gpu::allocate(bytes);
    step.decodeScratchBytes = bytes;
    if (!gpu::zero32(step.decodeScratch, bytes / 4)) {
      step.error = "cannot clear the decode scratch: " + gpu::stickyError();
      return false;
    }
  }
  return true;
}

/// Launches the split-KV decode kernel; false when the configuration is not
/// one it takes (the general kernel runs instead).
bool tryDecodeKernel(KvStep &step, Dtype t, const TesselKvParams &kv,
                     const Memref4 &q, const Memref4 &out) {
  if (t == Dtype::F32 || kv.seq != 1 || kv.softcap > 0.f ||
      kv.window_left >= 0 ||
      !tessel_paged_decode_supported(kv.head_dim,
                                     kv.num_heads / kv.num_kv_heads))
    return false;
  // The kernel reads q and writes out as [batch, heads, dim], packed.
  const int64_t d = kv.head_dim, h = kv.num_heads;
  auto packed = [&](const Memref4 &m) {
    return (m.sizes[0] == 1 || m.strides[0] == h * d) &&
           (m.sizes[1] == 1 || m.strides[1] == d) && m.strides[3] == 1;
  };
  if (!packed(q) || !packed(out))
    return false;
  const int group = kv.num_heads / kv.num_kv_heads;
  char name[64];
  std::snprintf(name, sizeof name, "tessel_paged_decode_d%d_g%d_%s",
                kv.head_dim, group, nameOf(t));
  const unsigned smem = TESSEL_PAGED_DECODE_SMEM_BYTES(kv.head_dim, group);

  TesselDecodeParams p{};
  p.q = kv.q;
  p.k_cache = kv.k_cache;
  p.v_cache = kv.v_cache;
  p.out = kv.out;
  p.block_tables = kv.block_tables;
  p.dtype = t == Dtype::BF16 ? 1 : 0;
  p.batch = kv.batch;
  p.num_heads = kv.num_heads;
  p.num_kv_heads = kv.num_kv_heads;
  p.head_dim = kv.head_dim;
  p.block_tokens = kv.block_tokens;
  p.max_blocks = kv.max_blocks;
  p.scale = kv.scale;
  p.block_stride = kv.block_stride;
  int maxContext = 1;
  for (int64_t len : step.pastLengths)
    maxContext = std::max<int>(maxContext, (int)len + 1);
  p.num_chunks = tessel_paged_decode_chunks(
      gpu::multiprocessorCount(),
      gpu::libraryKernelOccupancy(name, TESSEL_PAGED_DECODE_THREADS, smem),
      (long long)p.batch * p.num_kv_heads, maxContext);
  if (!decodeScratch(step, p))
    return true; // the step fails with step.error
  float *scratch = static_cast<float *>(step.decodeScratch);
  size_t rows = (size_t)p.batch * p.num_heads * p.num_chunks;
  p.partial_out = scratch;
  p.partial_max = scratch + rows * p.head_dim;
  p.partial_sum = p.partial_max + rows;
  p.counters = reinterpret_cast<int *>(p.partial_sum + rows);
  p.context_lens = kv.past_lens + kv.batch; // keys after the append
  unsigned grid[3] = {(unsigned)p.num_chunks, (unsigned)p.num_kv_heads,
                      (unsigned)p.batch};
  void *args[] = {&p};
  gpu::launchLibraryKernel(name, grid, TESSEL_PAGED_DECODE_THREADS, smem,
                           args);
  return true;
}

void kvAttention(Dtype t, int64_t layer, Memref4 *q, Memref4 *k, Memref4 *v,
                 Lengths *past, Memref4 *out, float scale, float softcap,
                 int64_t windowLeft) {
  KvStep *step = boundStep();
  std::string what = std::string("kv attention (") + nameOf(t) + ", layer " +
                     std::to_string(layer) + ")";
  if (!step) {
    gpu::failRun(what + ": called outside a prefill/decode step");
    return;
  }
  if (!step->storage->onDevice()) {
    if (step->error.empty())
      step->error = what + ": the KV cache is not on the GPU";
    return;
  }
  // Stream-ordered: kernels queued before this call may still be running,
  // so no buffer is read on the host. The lengths the kernels use are the
  // step's own (the runtime passed them to the model as past_lens); the
  // shapes are checked against them.
  if (!checkKvCall(*step, layer, q->sizes, k->sizes, v->sizes, past->sizes[0],
                   step->pastLengths.data(), 1, out->sizes))
    return;
  KvStorage &storage = *step->storage;
  if (storage.elementBytes() != bytesOf(t)) {
    if (step->error.empty())
      step->error = what + ": the cache stores " +
                    std::to_string(storage.elementBytes()) + "-byte elements";
    return;
  }
  for (const Memref4 *m : {q, k, v, out})
    if (m->sizes[3] > 1 && m->strides[3] != 1) {
      if (step->error.empty())
        step->error = what + ": the head dim is not contiguous";
      return;
    }
  if (q->sizes[3] > 256) {
    if (step->error.empty())
      step->error = what + ": head dim " + std::to_string(q->sizes[3]) +
                    " is above the CUDA kernels' 256";
    return;
  }
  if (!uploadTables(*step))
    return;
  const int64_t batch = q->sizes[0];
  if (batch == 0 || q->sizes[2] == 0)
    return;

  TesselKvParams p{};
  p.q = base(*q, t);
  p.k = base(*k, t);
  p.v = base(*v, t);
  p.out = const_cast<void *>(base(*out, t));
  p.k_cache = storage.layerBase(layer, 0);
  p.v_cache = storage.layerBase(layer, 1);
  p.block_stride = storage.blockElements();
  const int32_t *tables = static_cast<const int32_t *>(step->deviceTables);
  p.block_tables = tables;
  p.past_lens = tables + batch * step->maxBlocks;
  p.batch = (int)batch;
  p.num_heads = (int)q->sizes[1];
  p.num_kv_heads = (int)k->sizes[1];
  p.seq = (int)q->sizes[2];
  p.head_dim = (int)q->sizes[3];
  p.block_tokens = (int)storage.blockTokens;
  p.max_blocks = (int)step->maxBlocks;
  strides3(*q, p.q_strides);
  strides3(*k, p.k_strides);
  strides3(*v, p.v_strides);
  strides3(*out, p.out_strides);
  p.scale = scale;
  p.softcap = softcap;
  p.window_left =
      windowLeft < 0 ? -1 : (int)std::min<int64_t>(windowLeft, INT32_MAX);

  void *args[] = {&p};
  char name[64];
  std::snprintf(name, sizeof name, "tessel_kv_append_%s", nameOf(t));
  unsigned appendGrid[3] = {(unsigned)(batch * p.seq),
                            (unsigned)p.num_kv_heads, 1};
  unsigned threads = (unsigned)std::min(p.head_dim, 256);
  if (!gpu::launchLibraryKernel(name, appendGrid, threads, 0, args))
    return;
  if (tryDecodeKernel(*step, t, p, *q, *out))
    return;
  std::snprintf(name, sizeof name, "tessel_kv_attention_%s", nameOf(t));
  unsigned grid[3] = {(unsigned)((p.seq + 3) / 4), (unsigned)p.num_heads,
                      (unsigned)batch};
  gpu::launchLibraryKernel(name, grid, 128, 0, args);
}

} // namespace

#define TESSEL_RT_EXPORT extern "C" __attribute__((visibility("default")))

#define TESSEL_KV_ENTRY(NAME, DTYPE)                                           \
  TESSEL_RT_EXPORT void _mlir_ciface_tessel_rt_cuda_kv_attention_##NAME(       \
      int64_t layer, int64_t /*mode*/, Memref4 *q, Memref4 *k, Memref4 *v,     \
      Lengths *past, Memref4 *out, float scale, float softcap,                 \
      int64_t windowLeft) {                                                    \
    kvAttention(DTYPE, layer, q, k, v, past, out, scale, softcap,              \
                windowLeft);                                                   \
  }
TESSEL_KV_ENTRY(f32, Dtype::F32)
TESSEL_KV_ENTRY(f16, Dtype::F16)
TESSEL_KV_ENTRY(bf16, Dtype::BF16)
#undef TESSEL_KV_ENTRY
