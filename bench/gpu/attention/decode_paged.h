/* decode_paged.h - paged decode attention (flash-decoding), C entry point. */
#ifndef TESSEL_DECODE_PAGED_H
#define TESSEL_DECODE_PAGED_H

#include <cuda_runtime.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TesselDecodeParams {
  const void *q;          /* [batch, num_heads, head_dim] */
  const void *k_cache;    /* [num_blocks, num_kv_heads, block_tokens, head_dim] */
  const void *v_cache;    /* same */
  void *out;              /* [batch, num_heads, head_dim] */
  const int *block_tables; /* [batch, max_blocks] */
  const int *context_lens; /* [batch]: keys per sequence (>= 0) */
  float *partial_out;     /* [batch, num_heads, num_chunks, head_dim] scratch */
  float *partial_max;     /* [batch, num_heads, num_chunks] scratch */
  float *partial_sum;     /* [batch, num_heads, num_chunks] scratch */
  int dtype;              /* 0 fp16, 1 bf16 */
  int batch, num_heads, num_kv_heads, head_dim, block_tokens, max_blocks;
  int num_chunks; /* >= ceil(max context / tessel_paged_decode_chunk_tokens()) */
  float scale;
} TesselDecodeParams;

/* Tokens per split-KV chunk (one CTA each). */
int tessel_paged_decode_chunk_tokens(void);
/* 0, or a cudaError_t (cudaErrorInvalidValue: unsupported head dim 64/128
 * only, group size not 1/2/4/8). */
int tessel_paged_decode_attention(const TesselDecodeParams *params,
                                  cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
