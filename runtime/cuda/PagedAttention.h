/* PagedAttention.h - attention over the runtime's paged KV cache on the GPU
 * (runtime/cuda/PagedAttention.cu): the parameters of its kernels, in plain
 * C shared by the CUDA code, the runtime's driver launches
 * (runtime/CudaKvAttention.cpp) and the standalone benchmark library
 * (bench/gpu/attention).
 *
 * The cache: fixed-size blocks of block_tokens tokens. For one layer, the
 * keys of (block, kv head, token) start at
 *   k_cache + block * block_stride + (kv_head * block_tokens + token) * head_dim
 * and the values likewise from v_cache (elements of the cache's type). The
 * runtime's blocks hold every layer ([layer][k|v][kv head][token][dim]), so
 * its block_stride is layers * 2 * kv_heads * block_tokens * head_dim; a
 * per-layer pool has block_stride = kv_heads * block_tokens * head_dim.
 *
 * Kernels (extern "C", one name per configuration):
 *   tessel_kv_append_<t>         writes the step's new keys/values into their
 *                                blocks (grid: batch * seq, kv heads;
 *                                head_dim threads)
 *   tessel_kv_attention_<t>      every new query over its sequence's cached
 *                                keys, causal, with window and softcap; any
 *                                head dim <= 256, f32/f16/bf16 (grid: ceil(seq
 *                                / 4), heads, batch; 128 threads)
 *   tessel_paged_decode_d<D>_g<G>_<t>
 *                                one new query per sequence (decode), split-KV
 *                                on tensor cores, f16/bf16, D 64 or 128,
 *                                group G = heads / kv heads in {1, 2, 4, 8};
 *                                grid: num_chunks, kv heads, batch; 128
 *                                threads; tessel_paged_decode_smem_bytes.
 * <t> is f32, f16 or bf16. */
#ifndef TESSEL_PAGED_ATTENTION_H
#define TESSEL_PAGED_ATTENTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The step's new tokens and the cache they go into / attend over. */
typedef struct TesselKvParams {
  const void *q; /* [batch, num_heads,    seq, head_dim] via strides */
  const void *k; /* [batch, num_kv_heads, seq, head_dim] via strides */
  const void *v; /* same */
  void *out;     /* [batch, num_heads,    seq, head_dim] via strides */
  void *k_cache; /* this layer's keys of block 0 (see above) */
  void *v_cache; /* this layer's values of block 0 */
  int64_t block_stride;
  const int *block_tables; /* [batch, max_blocks] */
  const int *past_lens;    /* [batch]: tokens cached before the step */
  int batch, num_heads, num_kv_heads, seq, head_dim, block_tokens, max_blocks;
  /* Element strides for batch / head / row; head_dim is contiguous. */
  int64_t q_strides[3], k_strides[3], v_strides[3], out_strides[3];
  float scale;
  float softcap;   /* > 0: scores become softcap * tanh(score / softcap) */
  int window_left; /* -1: all earlier keys; else keys >= pos - window_left */
} TesselKvParams;

/* One new query per sequence over its cached keys (decode), split-KV. */
typedef struct TesselDecodeParams {
  const void *q;          /* [batch, num_heads, head_dim] contiguous */
  const void *k_cache;    /* see above */
  const void *v_cache;
  void *out;              /* [batch, num_heads, head_dim] contiguous */
  const int *block_tables; /* [batch, max_blocks] */
  const int *context_lens; /* [batch]: keys per sequence (>= 0) */
  float *partial_out;     /* [batch, num_heads, num_chunks, head_dim] scratch */
  float *partial_max;     /* [batch, num_heads, num_chunks] scratch */
  float *partial_sum;     /* [batch, num_heads, num_chunks] scratch */
  int dtype;              /* 0 fp16, 1 bf16 */
  int batch, num_heads, num_kv_heads, head_dim, block_tokens, max_blocks;
  /* Split-KV chunks per (sequence, kv head), 1..1024: each sequence's keys
   * are cut in at most num_chunks pieces of equal length (rounded up to 16
   * tokens); tessel_paged_decode_chunks gives the count that fills the GPU.
   * Any count works. */
  int num_chunks;
  float scale;
  /* [batch * num_kv_heads] ints, zeroed once by the caller and left at
   * zero by every call (the last chunk of each (sequence, kv head) resets
   * its counter): the chunks are combined inside the one kernel. */
  int *counters;
  /* Elements from one block to the next (0: num_kv_heads * block_tokens *
   * head_dim, a per-layer pool). */
  int64_t block_stride;
} TesselDecodeParams;

enum { TESSEL_PAGED_DECODE_THREADS = 128, TESSEL_PAGED_DECODE_MAX_CHUNKS = 1024 };

/* Depth of the decode kernel's K/V ring (64-token stages). */
#ifndef TESSEL_PAGED_DECODE_STAGES
#define TESSEL_PAGED_DECODE_STAGES 3
#endif

/* Whether the decode kernel takes this configuration. */
static inline int tessel_paged_decode_supported(int head_dim, int group) {
  return (head_dim == 64 || head_dim == 128) &&
         (group == 1 || group == 2 || group == 4 || group == 8);
}

/* Dynamic shared memory of tessel_paged_decode_d<D>_g<G>_<t>: the largest
 * of the K/V ring, the warps' merge and the in-kernel combine. */
#define TESSEL_PAGED_RING_BYTES(D) (TESSEL_PAGED_DECODE_STAGES * 2 * 64 * (D) * 2)
#define TESSEL_PAGED_MERGE_BYTES(D, G) ((2 * 4 * (G) + 4 * (G) * (D)) * 4)
#define TESSEL_PAGED_COMBINE_BYTES(G)                                          \
  ((16 + (G) * TESSEL_PAGED_DECODE_MAX_CHUNKS) * 4 +                           \
   TESSEL_PAGED_DECODE_THREADS * 16)
#define TESSEL_PAGED_MAX2(a, b) ((a) > (b) ? (a) : (b))
#define TESSEL_PAGED_DECODE_SMEM_BYTES(D, G)                                   \
  TESSEL_PAGED_MAX2(TESSEL_PAGED_MAX2(TESSEL_PAGED_RING_BYTES(D),              \
                                      TESSEL_PAGED_MERGE_BYTES(D, G)),         \
                    TESSEL_PAGED_COMBINE_BYTES(G))

/* The chunk count that fills `sms` multiprocessors holding `per_sm` CTAs
 * each once, for `pairs` (sequence, kv head) pairs whose longest context is
 * `max_context`: one wave of CTAs (a partial second wave would run latency
 * bound), chunks of 128 to 2048 tokens. */
static inline int tessel_paged_decode_chunks(int sms, int per_sm,
                                             long long pairs,
                                             int max_context) {
  const long long min_tok = 128, max_tok = 2048;
  long long slots = (long long)(sms > 0 ? sms : 132) * (per_sm > 0 ? per_sm : 1);
  long long ctx = max_context > 1 ? max_context : 1;
  long long n = pairs > 0 ? slots / pairs : 1;
  long long fewest = (ctx + max_tok - 1) / max_tok;
  long long most = (ctx + min_tok - 1) / min_tok;
  n = n > fewest ? n : fewest;
  n = n < most ? n : most;
  n = n < TESSEL_PAGED_DECODE_MAX_CHUNKS ? n : TESSEL_PAGED_DECODE_MAX_CHUNKS;
  return n > 0 ? (int)n : 1;
}

#ifdef __cplusplus
}
#endif

#endif
