//===- CudaAttention.cpp - tessel.attention on the GPU --------------------===//
//
// What CUDA models call for fused attention in f16/bf16 (the lowering
// convert-tessel-attention-to-cuda-kernel): memref descriptors in, the
// FlashAttention kernel of runtime/cuda launched through the driver.
// Arguments the kernel cannot take fail the run with a message; they never
// reach the device.
//
//===----------------------------------------------------------------------===//

#include "runtime/GpuDevice.h"
#include "runtime/cuda/FlashAttention.h"

#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <string>

namespace {

/// A 4-D strided memref descriptor (MLIR's C interface).
struct Memref4 {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[4];
  int64_t strides[4];
};

std::string shapeOf(const Memref4 &m) {
  std::string s = "[";
  for (int i = 0; i < 4; ++i)
    s += (i ? "x" : "") + std::to_string(m.sizes[i]);
  return s + "]";
}

/// Element `offset` of `m`, for 16-bit elements.
void *base(const Memref4 &m) {
  return static_cast<uint16_t *>(m.aligned) + m.offset;
}

/// The strides of `m` with those of unit dims zeroed (any value is right for
/// them; MLIR may leave them unaligned).
void strides(const Memref4 &m, int64_t &batch, int64_t &head, int64_t &row) {
  batch = m.sizes[0] == 1 ? 0 : m.strides[0];
  head = m.sizes[1] == 1 ? 0 : m.strides[1];
  row = m.sizes[2] == 1 ? 0 : m.strides[2];
}

void attention(int dtype, Memref4 *q, Memref4 *k, Memref4 *v, Memref4 *o,
               float scale, int64_t causal, int64_t windowLeft,
               int64_t zeroMaskedRows) {
  using tessel::rt::gpu::failRun;
  const char *type = dtype == 0 ? "f16" : "bf16";
  std::string what = std::string("attention (") + type + ", q " + shapeOf(*q) +
                     ", k " + shapeOf(*k) + ", v " + shapeOf(*v) + ")";
  for (int i = 0; i < 4; ++i)
    if (k->sizes[i] != v->sizes[i])
      return failRun(what + ": k and v differ in shape");
  if (q->sizes[0] != k->sizes[0] || q->sizes[3] != k->sizes[3])
    return failRun(what + ": q and k differ in batch or head dim");
  for (int i = 0; i < 4; ++i)
    if (o->sizes[i] != q->sizes[i])
      return failRun(what + ": the output is not shaped like q");
  for (const Memref4 *m : {q, k, v, o})
    if (m->sizes[3] > 1 && m->strides[3] != 1)
      return failRun(what + ": the head dim is not contiguous");
  if (causal && !zeroMaskedRows && q->sizes[2] > k->sizes[2])
    return failRun(what + ": causal attention with more queries than keys "
                          "leaves rows without keys, whose result the "
                          "kernel does not produce for this graph");

  TesselFlashParams p{};
  p.q = base(*q);
  p.k = base(*k);
  p.v = base(*v);
  p.o = base(*o);
  p.dtype = dtype;
  p.batch = (int)q->sizes[0];
  p.num_heads = (int)q->sizes[1];
  p.num_kv_heads = (int)k->sizes[1];
  p.seq_q = (int)q->sizes[2];
  p.seq_kv = (int)k->sizes[2];
  p.head_dim = (int)q->sizes[3];
  strides(*q, p.q_batch_stride, p.q_head_stride, p.q_row_stride);
  strides(*k, p.k_batch_stride, p.k_head_stride, p.k_row_stride);
  strides(*v, p.v_batch_stride, p.v_head_stride, p.v_row_stride);
  strides(*o, p.o_batch_stride, p.o_head_stride, p.o_row_stride);
  p.scale = scale;
  p.causal = causal ? 1 : 0;
  p.window_left = windowLeft < 0 ? -1 : (int)std::min<int64_t>(windowLeft, 1 << 30);
  for (int64_t size : {q->sizes[0], q->sizes[1], q->sizes[2], k->sizes[1],
                       k->sizes[2]})
    if (size > (1 << 30))
      return failRun(what + ": a dim is too large");

  TesselFlashLaunch launch;
  const char *why = nullptr;
  int ready = tessel_flash_prepare_why(&p, &launch, &why);
  if (ready < 0)
    return failRun(what + ": " + why);
  if (ready == 0)
    return;
  char name[64];
  std::snprintf(name, sizeof name, "tessel_flash_fwd_d%d_%s_%s", p.head_dim,
                type, p.causal ? "causal" : "full");
  void *args[] = {&p};
  tessel::rt::gpu::launchLibraryKernel(name, launch.grid, launch.threads,
                                       (unsigned)launch.smem_bytes, args);
}

} // namespace

#define TESSEL_RT_EXPORT extern "C" __attribute__((visibility("default")))

TESSEL_RT_EXPORT void _mlir_ciface_tessel_rt_cuda_attention_f16(
    Memref4 *q, Memref4 *k, Memref4 *v, Memref4 *o, float scale,
    int64_t causal, int64_t windowLeft, int64_t zeroMaskedRows) {
  attention(0, q, k, v, o, scale, causal, windowLeft, zeroMaskedRows);
}

TESSEL_RT_EXPORT void _mlir_ciface_tessel_rt_cuda_attention_bf16(
    Memref4 *q, Memref4 *k, Memref4 *v, Memref4 *o, float scale,
    int64_t causal, int64_t windowLeft, int64_t zeroMaskedRows) {
  attention(1, q, k, v, o, scale, causal, windowLeft, zeroMaskedRows);
}
