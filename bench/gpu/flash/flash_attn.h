/* flash_attn.h - C entry point of tessel's FlashAttention-2-class forward
 * attention kernel (bench/gpu/flash/flash_attn.cu).
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
#ifndef TESSEL_FLASH_ATTN_H
#define TESSEL_FLASH_ATTN_H

#include <stdint.h>
#include <cuda_runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility (and its static CUDA runtime's
 * symbols excluded from the export table); only these entry points are
 * exported. */
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

/* Enqueues the forward kernel on `stream`. Returns 0 on success,
 * cudaErrorInvalidValue (1) for unsupported / inconsistent arguments, or the
 * cudaError_t of a failed attribute set-up or launch. Thread-safe. */
TESSEL_FLASH_API int tessel_flash_attention_fwd(const TesselFlashParams *p,
                                                cudaStream_t stream);

/* Dynamic shared memory bytes per CTA the kernel uses for a head dim (0 if
 * unsupported); for capacity planning and tests. */
TESSEL_FLASH_API int tessel_flash_attention_smem_bytes(int head_dim);

#ifdef __cplusplus
}
#endif

#endif /* TESSEL_FLASH_ATTN_H */
