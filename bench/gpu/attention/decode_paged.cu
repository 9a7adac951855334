// decode_paged.cu - the benchmark library's host side of the runtime's
// paged decode kernel (runtime/cuda/PagedAttention.cu, compiled into this
// translation unit): the same kernels, launched through the CUDA runtime
// for decode_bench.py / decode_probe.py (ctypes) instead of the driver.

#include "decode_paged.h"

#include "../../../runtime/cuda/PagedAttention.cu"

namespace {

/// The decode kernel and two-kernel combine of one configuration.
struct Kernels {
  void (*decode)(TesselDecodeParams);
  void (*combine)(TesselDecodeParams);
};

Kernels pick(int d, int g, int dtype) {
#define TESSEL_PICK(D, G, NAME)                                                \
  if (d == D && g == G)                                                        \
    return {tessel_paged_decode_d##D##_g##G##_##NAME,                          \
            tessel_paged_combine_d##D##_g##G##_##NAME};
#define TESSEL_PICK_TYPE(NAME)                                                 \
  TESSEL_PICK(64, 1, NAME) TESSEL_PICK(64, 2, NAME) TESSEL_PICK(64, 4, NAME)   \
  TESSEL_PICK(64, 8, NAME) TESSEL_PICK(128, 1, NAME)                           \
  TESSEL_PICK(128, 2, NAME) TESSEL_PICK(128, 4, NAME)                          \
  TESSEL_PICK(128, 8, NAME)
  if (dtype == 1) {
    TESSEL_PICK_TYPE(bf16)
  } else {
    TESSEL_PICK_TYPE(f16)
  }
#undef TESSEL_PICK_TYPE
#undef TESSEL_PICK
  return {nullptr, nullptr};
}

bool validShape(const TesselDecodeParams *p) {
  return p && p->batch > 0 && p->num_kv_heads > 0 &&
         p->num_heads % p->num_kv_heads == 0 && p->block_tokens > 0 &&
         tessel_paged_decode_supported(p->head_dim,
                                       p->num_heads / p->num_kv_heads);
}

/// The kernels of `p`'s configuration, their shared-memory limits raised.
cudaError_t prepare(const TesselDecodeParams *p, Kernels &k, int &smem) {
  if (!validShape(p))
    return cudaErrorInvalidValue;
  const int g = p->num_heads / p->num_kv_heads;
  k = pick(p->head_dim, g, p->dtype);
  if (!k.decode)
    return cudaErrorInvalidValue;
  smem = TESSEL_PAGED_DECODE_SMEM_BYTES(p->head_dim, g);
  cudaError_t e = cudaFuncSetAttribute(
      k.decode, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (e == cudaSuccess)
    e = cudaFuncSetAttribute(k.combine,
                             cudaFuncAttributeMaxDynamicSharedMemorySize,
                             TESSEL_PAGED_COMBINE_BYTES(g));
  return e;
}

} // namespace

extern "C" int tessel_paged_decode_chunk_tokens(void) { return 128; }

#ifdef DECODE_TRACE
/// Bench only: copies the timeline probe ([n][8] ns) and clears it.
extern "C" int tessel_decode_trace(unsigned long long *host, int n) {
  using tessel_paged::gTrace;
  using tessel_paged::kTraceCtas;
  n = n < kTraceCtas ? n : kTraceCtas;
  cudaError_t e = cudaMemcpyFromSymbol(host, gTrace, n * sizeof(gTrace[0]));
  static unsigned long long zeros[kTraceCtas][8];
  if (e == cudaSuccess)
    e = cudaMemcpyToSymbol(gTrace, zeros, sizeof(zeros));
  return e;
}
#endif

extern "C" int tessel_paged_decode_num_chunks(const TesselDecodeParams *p,
                                              int max_context) {
  Kernels k;
  int smem = 0, perSm = 0, device = 0, sms = 0;
  if (prepare(p, k, smem) != cudaSuccess ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(
          &perSm, k.decode, TESSEL_PAGED_DECODE_THREADS, smem) != cudaSuccess)
    return 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) !=
          cudaSuccess)
    sms = 132;
  return tessel_paged_decode_chunks(sms, perSm,
                                    (long long)p->batch * p->num_kv_heads,
                                    max_context);
}

extern "C" int tessel_paged_decode_attention(const TesselDecodeParams *p,
                                             cudaStream_t stream) {
  Kernels k;
  int smem = 0;
  if (p && (p->num_chunks <= 0 || p->num_chunks > TESSEL_PAGED_DECODE_MAX_CHUNKS))
    return cudaErrorInvalidValue;
  cudaError_t e = prepare(p, k, smem);
  if (e != cudaSuccess)
    return e;
  dim3 grid(p->num_chunks, p->num_kv_heads, p->batch);
  k.decode<<<grid, TESSEL_PAGED_DECODE_THREADS, smem, stream>>>(*p);
  if (p->counters == nullptr && p->num_chunks > 1)
    k.combine<<<dim3(p->num_kv_heads, p->batch), TESSEL_PAGED_DECODE_THREADS,
                TESSEL_PAGED_COMBINE_BYTES(p->num_heads / p->num_kv_heads),
                stream>>>(*p);
  return cudaGetLastError();
}
