/* FlashAttention.h - tessel's FlashAttention-2-class forward attention
 * kernel (runtime/cuda/FlashAttention.cu): its parameters, launch shape and
 * argument checks, in plain C shared by the CUDA code, the runtime's driver
 * launches (runtime/CudaKernels.cpp) and the standalone library
 * (bench/gpu/flash).
 *
 *   o[b, h, i, :] = sum_j softmax_j(scale * q[b,h,i,:] . k[b,hk,j,:] + mask) v[b,hk,j,:]
 *   hk = h / (num_heads / num_kv_heads)             (MHA, GQA, MQA)
 *
 * Visibility of key j from query i (all conditions must hold):
 *   j < seq_kv, and j < seqlens_k[b] when seqlens_k != NULL
 *   causal:          j <= i + seq_kv - seq_q        (bottom-right aligned)
 *   window_left>=0:  j >= i + seq_kv - seq_q - window_left
 * The causal/window diagonal is aligned on seq_kv (the tensor length), not on
 * seqlens_k[b]. Rows with no visible key produce o = 0 and lse = -inf.
 *
 * Layout: element strides for batch / head / row (sequence); the last
 * dimension (head_dim) is contiguous. Pointers must be 16-byte aligned and all
 * strides multiples of 8 elements, so [B,H,S,D] and [B,S,H,D] (and
 * sub-views of a packed QKV tensor) work. */
#ifndef TESSEL_FLASH_ATTENTION_H
#define TESSEL_FLASH_ATTENTION_H

#include <math.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The standalone library is built with hidden visibility (and its static
 * CUDA runtime's symbols excluded from the export table); only its entry
 * points are exported. */
#if defined(__GNUC__)
#define TESSEL_FLASH_API __attribute__((visibility("default")))
#else
#define TESSEL_FLASH_API
#endif
typedef struct TesselFlashParams {
  const void *q; /* [batch, num_heads,    seq_q,  head_dim] via strides */
  const void *k; /* [batch, num_kv_heads, seq_kv, head_dim] via strides */
  const void *v; /* [batch, num_kv_heads, seq_kv, head_dim] via strides */
  void *o;       /* [batch, num_heads,    seq_q,  head_dim] via strides */
  float *lse;    /* NULL, or [batch, num_heads, seq_q] contiguous: natural-log
                    sum_j exp(scale * s_ij) over visible keys (-inf if none) */
  const int *seqlens_k; /* NULL, or [batch] device ints: keys >= seqlens_k[b]
                           are masked (values are clamped to [0, seq_kv]) */
  int dtype;            /* 0 = fp16, 1 = bf16 (q, k, v, o) */
  int batch, num_heads, num_kv_heads;
  int seq_q, seq_kv;
  int head_dim; /* 64, 80, 96, 128 or 256 */
  int64_t q_batch_stride, q_head_stride, q_row_stride;
  int64_t k_batch_stride, k_head_stride, k_row_stride;
  int64_t v_batch_stride, v_head_stride, v_row_stride;
  int64_t o_batch_stride, o_head_stride, o_row_stride;
  float scale;     /* softmax scale (> 0, finite), e.g. 1/sqrt(head_dim) */
  int causal;      /* nonzero: causal, bottom-right aligned */
  int window_left; /* -1: no window; else keys j >= i + seq_kv - seq_q - window_left */
} TesselFlashParams;

/* Keys per tile at head dim 64 (a tuning knob of the benchmark builds). */
#ifndef TESSEL_FLASH_D64_BN
#define TESSEL_FLASH_D64_BN 128
#endif
/* Launch shape per head dim: query rows per CTA, threads per CTA, dynamic
 * shared memory (Q tile + two stages of K and V tiles, rows of D 16-bit
 * elements, padded by 8 elements unless D is a multiple of 64). The kernel
 * file checks these against its compile-time tiles. */
#define TESSEL_FLASH_BLOCK_M(D) 128
#define TESSEL_FLASH_THREADS(D) ((D) == 256 ? 256 : 128)
#define TESSEL_FLASH_BLOCK_N(D)                                               \
  ((D) == 64 ? TESSEL_FLASH_D64_BN : (D) == 256 ? 32 : 64)
#define TESSEL_FLASH_ROW_BYTES(D) (((D) % 64 == 0 ? (D) : (D) + 8) * 2)
#define TESSEL_FLASH_SMEM(D)                                                  \
  ((TESSEL_FLASH_BLOCK_M(D) + 4 * TESSEL_FLASH_BLOCK_N(D)) *                  \
   TESSEL_FLASH_ROW_BYTES(D))

/* Dynamic shared memory bytes per CTA for a head dim (0 if unsupported). */
static inline int tessel_flash_smem_bytes(int head_dim) {
  switch (head_dim) {
  case 64: return TESSEL_FLASH_SMEM(64);
  case 80: return TESSEL_FLASH_SMEM(80);
  case 96: return TESSEL_FLASH_SMEM(96);
  case 128: return TESSEL_FLASH_SMEM(128);
  case 256: return TESSEL_FLASH_SMEM(256);
  default: return 0;
  }
}

typedef struct TesselFlashLaunch {
  unsigned grid[3]; /* query blocks, heads, batch */
  unsigned threads;
  int smem_bytes;
} TesselFlashLaunch;

/* Checks `p` and fills `launch`. Returns -1 for unsupported or inconsistent
 * arguments (with a reason in *why when why != NULL), 0 when there is nothing
 * to compute, 1 to launch. Normalises p->window_left (a window wider than
 * every query-key distance is no window). */
static inline int tessel_flash_prepare_why(TesselFlashParams *p,
                                           TesselFlashLaunch *launch,
                                           const char **why) {
#define TESSEL_FLASH_BAD(reason)                                              \
  do {                                                                        \
    if (why) *why = reason;                                                   \
    return -1;                                                                \
  } while (0)
  if (p->dtype != 0 && p->dtype != 1) TESSEL_FLASH_BAD("dtype is not 0 or 1");
  if (tessel_flash_smem_bytes(p->head_dim) == 0)
    TESSEL_FLASH_BAD("head dim is not 64, 80, 96, 128 or 256");
  if (p->batch < 0 || p->num_heads < 0 || p->num_kv_heads < 0 ||
      p->seq_q < 0 || p->seq_kv < 0)
    TESSEL_FLASH_BAD("negative size");
  if (p->num_heads > 0 &&
      (p->num_kv_heads <= 0 || p->num_heads % p->num_kv_heads))
    TESSEL_FLASH_BAD("heads are not a multiple of kv heads");
  if (!(p->scale > 0.f) || !isfinite(p->scale))
    TESSEL_FLASH_BAD("scale is not positive and finite");
  if (p->window_left < -1) TESSEL_FLASH_BAD("window_left < -1");
  if (p->batch == 0 || p->num_heads == 0 || p->seq_q == 0) return 0;
  if (p->batch > 65535 || p->num_heads > 65535)
    TESSEL_FLASH_BAD("batch or heads above 65535");
  if (!p->q || !p->o || (p->seq_kv > 0 && (!p->k || !p->v)))
    TESSEL_FLASH_BAD("null pointer");
  if (((uintptr_t)p->q | (uintptr_t)p->k | (uintptr_t)p->v |
       (uintptr_t)p->o) & 15)
    TESSEL_FLASH_BAD("q, k, v or o is not 16-byte aligned");
  if ((p->q_batch_stride | p->q_head_stride | p->q_row_stride |
       p->k_batch_stride | p->k_head_stride | p->k_row_stride |
       p->v_batch_stride | p->v_head_stride | p->v_row_stride |
       p->o_batch_stride | p->o_head_stride | p->o_row_stride) & 7)
    TESSEL_FLASH_BAD("a stride is not a multiple of 8 elements");
  /* The kernel forms per-thread row offsets (row * row_stride, row < 32) in
   * 32-bit arithmetic: keep |row_stride| < 2^26 elements. */
  {
    const int64_t lim = (int64_t)1 << 26;
    const int64_t rows[4] = {p->q_row_stride, p->k_row_stride,
                             p->v_row_stride, p->o_row_stride};
    for (int i = 0; i < 4; ++i)
      if (rows[i] >= lim || rows[i] <= -lim)
        TESSEL_FLASH_BAD("a row stride is 2^26 elements or more");
  }
#undef TESSEL_FLASH_BAD
  if (p->window_left > p->seq_kv + p->seq_q)
    p->window_left = p->seq_kv + p->seq_q;
  launch->grid[0] = (unsigned)((p->seq_q + TESSEL_FLASH_BLOCK_M(0) - 1) /
                               TESSEL_FLASH_BLOCK_M(0));
  launch->grid[1] = (unsigned)p->num_heads;
  launch->grid[2] = (unsigned)p->batch;
  launch->threads = (unsigned)TESSEL_FLASH_THREADS(p->head_dim);
  launch->smem_bytes = tessel_flash_smem_bytes(p->head_dim);
  return 1;
}

static inline int tessel_flash_prepare(TesselFlashParams *p,
                                       TesselFlashLaunch *launch) {
  return tessel_flash_prepare_why(p, launch, 0);
}

/* The standalone library's entry points (not in libtessel_rt). */
/* Enqueues the forward kernel on `stream` (a cudaStream_t). Returns 0 on
 * success, cudaErrorInvalidValue (1) for unsupported / inconsistent
 * arguments, or the cudaError_t of a failed attribute set-up or launch.
 * Thread-safe. */
TESSEL_FLASH_API int tessel_flash_attention_fwd(const TesselFlashParams *p,
                                                void *stream);

/* Dynamic shared memory bytes per CTA the kernel uses for a head dim (0 if
 * unsupported); for capacity planning and tests. */
TESSEL_FLASH_API int tessel_flash_attention_smem_bytes(int head_dim);

#ifdef __cplusplus
}
#endif

#endif /* TESSEL_FLASH_ATTENTION_H */
