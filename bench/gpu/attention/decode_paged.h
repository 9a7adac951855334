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
  /* Split-KV chunks per (sequence, kv head), 1..1024: each sequence's keys
   * are cut in at most num_chunks pieces of equal length (rounded up to 16
   * tokens). tessel_paged_decode_num_chunks() gives the count that fills
   * the GPU; any count works (older callers: ceil(max context /
   * tessel_paged_decode_chunk_tokens())). */
  int num_chunks;
  float scale;
  /* [batch * num_kv_heads] ints, zeroed once by the caller and left at
   * zero by every call (the last chunk of each (sequence, kv head) resets
   * its counter): the chunks are then combined inside the one kernel.
   * NULL: a second kernel combines them. */
  int *counters;
} TesselDecodeParams;

/* Tokens per chunk when num_chunks = ceil(max context / this) (the layout
 * of earlier versions; still valid). */
int tessel_paged_decode_chunk_tokens(void);
/* The num_chunks that fills the current device for these parameters
 * (batch, num_heads, num_kv_heads, head_dim, dtype are read) and the
 * longest context of the batch; allocate the scratch with it. 0 on an
 * unsupported configuration. */
int tessel_paged_decode_num_chunks(const TesselDecodeParams *params,
                                   int max_context);
/* 0, or a cudaError_t (cudaErrorInvalidValue: unsupported head dim 64/128
 * only, group size not 1/2/4/8, num_chunks outside 1..1024). */
int tessel_paged_decode_attention(const TesselDecodeParams *params,
                                  cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
