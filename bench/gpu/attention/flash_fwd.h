/* flash_fwd.h - the C entry point of the tensor-core attention kernel. */
#ifndef TESSEL_FLASH_FWD_H
#define TESSEL_FLASH_FWD_H

#include <cuda_runtime.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* o = softmax(scale * q k^T + mask) v per (batch, head). Element strides;
 * the last dim (head_dim) of every tensor is contiguous and 16-byte
 * aligned. q/o: [batch, num_heads, seq_q, head_dim] through the strides,
 * k/v: [batch, num_kv_heads, seq_kv, head_dim]. */
typedef struct TesselFlashParams {
  const void *q, *k, *v;
  void *o;
  float *lse;          /* [batch, num_heads, seq_q] natural-log LSE, or NULL */
  const int *seqlens_k; /* per batch: keys >= seqlens_k[b] are masked, or NULL */
  int dtype;           /* 0 fp16, 1 bf16 */
  int batch, num_heads, num_kv_heads, seq_q, seq_kv, head_dim;
  int64_t q_batch_stride, q_head_stride, q_row_stride;
  int64_t k_batch_stride, k_head_stride, k_row_stride;
  int64_t v_batch_stride, v_head_stride, v_row_stride;
  int64_t o_batch_stride, o_head_stride, o_row_stride;
  float scale;
  int causal;      /* query i sees key j <= i + seq_kv - seq_q */
  int window_left; /* and j >= i + seq_kv - seq_q - window_left; -1: none */
} TesselFlashParams;

/* 0, or a cudaError_t value (cudaErrorInvalidValue for unsupported
 * arguments: head_dim not 64/128, a window without causal). */
int tessel_flash_attention_fwd(const TesselFlashParams *params,
                               cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
