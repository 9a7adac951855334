/* decode_paged.h - the benchmark library's C entry points for the runtime's
 * paged decode kernel (runtime/cuda/PagedAttention.h has the parameters). */
#ifndef TESSEL_DECODE_PAGED_H
#define TESSEL_DECODE_PAGED_H

#include <cuda_runtime.h>
#include <stdint.h>

#include "../../../runtime/cuda/PagedAttention.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tokens per chunk when num_chunks = ceil(max context / this) (the layout
 * of earlier versions; still valid). */
int tessel_paged_decode_chunk_tokens(void);
/* The num_chunks that fills the current device for these parameters
 * (batch, num_heads, num_kv_heads, head_dim, dtype are read) and the
 * longest context of the batch; allocate the scratch with it. 0 on an
 * unsupported configuration. */
int tessel_paged_decode_num_chunks(const TesselDecodeParams *params,
                                   int max_context);
/* 0, or a cudaError_t (cudaErrorInvalidValue: head dim not 64/128, group
 * size not 1/2/4/8, num_chunks outside 1..1024). counters NULL: a second
 * kernel combines the chunks. */
int tessel_paged_decode_attention(const TesselDecodeParams *params,
                                  cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
