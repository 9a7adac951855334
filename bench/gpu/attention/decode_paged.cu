// decode_paged.cu - paged decode attention with split-KV (flash-decoding),
// fp16 / bf16 cache, fp32 math.
//
// One new query per sequence and head attends over the sequence's cached
// keys/values, which live in fixed-size blocks named by a block table (the
// runtime's paged KV cache layout: k/v_cache [num_blocks, kv_heads,
// block_tokens, head_dim]). The keys of each sequence are split in chunks
// of kChunk tokens; one CTA owns (chunk, kv head, sequence) and serves every
// query head of the kv head's group (GQA: the group's queries share one
// read of each k/v block). The whole chunk's K and V are copied to shared
// memory with cp.async up front, so each CTA keeps 64 KB of loads in
// flight; scores, a partial softmax (max, sum) and a partial output are
// written per chunk, and a second kernel combines the chunks by
// log-sum-exp.

#include "decode_paged.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {

constexpr int kThreads = 128;
#ifndef DECODE_CHUNK
#define DECODE_CHUNK 128
#endif
constexpr int kChunk = DECODE_CHUNK; // tokens per CTA
constexpr int kMaxGroup = 8;

__device__ __forceinline__ uint32_t smemAddress(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void cpAsync16(uint32_t dst, const void *src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst),
               "l"(src));
}
__device__ __forceinline__ void cpAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

template <typename T> __device__ __forceinline__ float2 toFloat2(uint32_t x);
template <> __device__ __forceinline__ float2 toFloat2<__half>(uint32_t x) {
  return __half22float2(*reinterpret_cast<__half2 *>(&x));
}
template <>
__device__ __forceinline__ float2 toFloat2<__nv_bfloat16>(uint32_t x) {
  return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162 *>(&x));
}

/// This thread's 8-element slice of each of the group's G queries, in fp32
/// with the softmax scale folded in.
template <int D, int G, typename T>
__device__ __forceinline__ void loadQueries(const TesselDecodeParams &p,
                                            int seq, int kvHead, int slice,
                                            float (&qr)[G][8]) {
  const T *q = static_cast<const T *>(p.q) +
               ((int64_t)seq * p.num_heads + kvHead * G) * D;
#pragma unroll
  for (int g = 0; g < G; ++g) {
    uint4 raw = *reinterpret_cast<const uint4 *>(q + g * D + slice * 8);
    const uint32_t *w = reinterpret_cast<const uint32_t *>(&raw);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      float2 f = toFloat2<T>(w[j]);
      qr[g][2 * j] = f.x * p.scale;
      qr[g][2 * j + 1] = f.y * p.scale;
    }
  }
}

/// Bulk variant (GQA groups of 4-8): the whole chunk's K then V are copied
/// up front; scores, a block-wide softmax and the outputs follow. One
/// partial attention of a chunk of keys for the G query heads of one kv
/// head. D = head dim (16-byte slices of 8 elements: D / 8 per token).
template <int D, int G, typename T>
__global__ void __launch_bounds__(kThreads)
    decodeChunkBulk(TesselDecodeParams p) {
  constexpr int kSlices = D / 8;                 // 16-byte slices per token
  constexpr int kTokensPerPass = kThreads / kSlices; // tokens in one sweep
  extern __shared__ __align__(128) unsigned char smem[];
  T *kS = reinterpret_cast<T *>(smem);                   // [kChunk][D]
  T *vS = kS + kChunk * D;                               // [kChunk][D]
  float *scores = reinterpret_cast<float *>(vS + kChunk * D); // [G][kChunk]
  float *reduce = scores + G * kChunk;                   // scratch
  // The final reduction reuses the K tile when it fits, else its own space.
  constexpr int kPartialBytes = (kThreads / kSlices) * G * D * 4;
  float *partial = kPartialBytes <= kChunk * D * (int)sizeof(T)
                       ? reinterpret_cast<float *>(kS)
                       : reduce + 2 * G;

  const int chunk = blockIdx.x, kvHead = blockIdx.y, seq = blockIdx.z;
  const int len = p.context_lens[seq];
  const int first = chunk * kChunk;
  if (first >= len)
    return;
  const int count = min(kChunk, len - first);
  const int *table = p.block_tables + (int64_t)seq * p.max_blocks;
  const int bt = p.block_tokens;

  // Issue every 16-byte load of the chunk's K, then V.
  const T *kc = static_cast<const T *>(p.k_cache);
  const T *vc = static_cast<const T *>(p.v_cache);
  for (int i = threadIdx.x; i < count * kSlices; i += kThreads) {
    int t = i / kSlices, slice = i % kSlices;
    int pos = first + t;
    int64_t row = ((int64_t)table[pos / bt] * p.num_kv_heads + kvHead) * bt +
                  pos % bt;
    cpAsync16(smemAddress(kS + t * D + slice * 8), kc + row * D + slice * 8);
  }
  cpAsyncCommit();
  for (int i = threadIdx.x; i < count * kSlices; i += kThreads) {
    int t = i / kSlices, slice = i % kSlices;
    int pos = first + t;
    int64_t row = ((int64_t)table[pos / bt] * p.num_kv_heads + kvHead) * bt +
                  pos % bt;
    cpAsync16(smemAddress(vS + t * D + slice * 8), vc + row * D + slice * 8);
  }
  cpAsyncCommit();

  // This thread's slice of each group query (fp32), scale folded in.
  const int slice = threadIdx.x % kSlices, lane0 = threadIdx.x / kSlices;
  float qr[G][8];
  loadQueries<D, G, T>(p, seq, kvHead, slice, qr);

  cpAsyncWait<1>();
  __syncthreads();
  // Scores: kSlices threads per token reduce their partial dot products.
  for (int t0 = 0; t0 < count; t0 += kTokensPerPass) {
    int t = t0 + lane0;
    float dot[G];
#pragma unroll
    for (int g = 0; g < G; ++g)
      dot[g] = 0.f;
    if (t < count) {
      uint4 raw = *reinterpret_cast<const uint4 *>(kS + t * D + slice * 8);
      const uint32_t *w = reinterpret_cast<const uint32_t *>(&raw);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        float2 f = toFloat2<T>(w[j]);
#pragma unroll
        for (int g = 0; g < G; ++g)
          dot[g] += qr[g][2 * j] * f.x + qr[g][2 * j + 1] * f.y;
      }
    }
#pragma unroll
    for (int g = 0; g < G; ++g) {
#pragma unroll
      for (int o = kSlices / 2; o > 0; o /= 2)
        dot[g] += __shfl_xor_sync(0xffffffff, dot[g], o, kSlices);
      if (slice == 0 && t < count)
        scores[g * kChunk + t] = dot[g];
    }
  }
  __syncthreads();

  // Per query head: chunk max and sum of exp (one warp per head).
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int g = warp; g < G; g += kThreads / 32) {
    float m = -INFINITY;
    for (int t = lane; t < count; t += 32)
      m = fmaxf(m, scores[g * kChunk + t]);
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
    float sum = 0.f;
    for (int t = lane; t < count; t += 32) {
      float e = __expf(scores[g * kChunk + t] - m);
      scores[g * kChunk + t] = e;
      sum += e;
    }
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      sum += __shfl_xor_sync(0xffffffff, sum, o);
    if (lane == 0) {
      reduce[2 * g] = m;
      reduce[2 * g + 1] = sum;
    }
  }
  cpAsyncWait<0>();
  __syncthreads();

  // Partial output: thread (token lane, slice) accumulates its tokens.
  float o[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int j = 0; j < 8; ++j)
      o[g][j] = 0.f;
  for (int t = lane0; t < count; t += kTokensPerPass) {
    uint4 raw = *reinterpret_cast<const uint4 *>(vS + t * D + slice * 8);
    const uint32_t *w = reinterpret_cast<const uint32_t *>(&raw);
    float pg[G];
#pragma unroll
    for (int g = 0; g < G; ++g)
      pg[g] = scores[g * kChunk + t];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      float2 f = toFloat2<T>(w[j]);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        o[g][2 * j] += pg[g] * f.x;
        o[g][2 * j + 1] += pg[g] * f.y;
      }
    }
  }
  // Sum over the token lanes through shared memory ([lanes][G][D]).
  __syncthreads();
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int j = 0; j < 8; ++j)
      partial[(lane0 * G + g) * D + slice * 8 + j] = o[g][j];
  __syncthreads();
  const int numChunks = p.num_chunks;
  for (int i = threadIdx.x; i < G * D; i += kThreads) {
    int g = i / D, d = i % D;
    float sum = 0.f;
    for (int l = 0; l < kTokensPerPass; ++l)
      sum += partial[(l * G + g) * D + d];
    int head = kvHead * G + g;
    int64_t at = ((int64_t)seq * p.num_heads + head) * numChunks + chunk;
    p.partial_out[at * D + d] = sum;
    if (d == 0) {
      p.partial_max[at] = reduce[2 * g];
      p.partial_sum[at] = reduce[2 * g + 1];
    }
  }
}

/// Streamed variant (MHA and groups of 2): partial attention of one chunk
/// of keys for the G query heads of one kv head. D = head dim (16-byte
/// slices of 8 elements: D / 8 per token). Threads form kLanes token lanes of kSlices threads; lane l handles the
/// tokens t = l (mod kLanes) as its own online-softmax stream (running max,
/// sum and output slice per query), so no block-wide step separates the
/// tokens. K/V arrive in sub-tiles of kSub tokens through a kStages-deep
/// cp.async ring; the lanes' streams are merged at the end.
template <int D, int G, typename T>
__global__ void __launch_bounds__(kThreads)
    decodeChunkStreamed(TesselDecodeParams p) {
  constexpr int kSlices = D / 8;
  constexpr int kLanes = kThreads / kSlices;
  constexpr int kSub = 32;
  constexpr int kStages = 3;
  constexpr int kSubTiles = kChunk / kSub;
  extern __shared__ __align__(128) unsigned char smem[];
  T *ring = reinterpret_cast<T *>(smem); // [kStages][2][kSub][D]
  float *merge = reinterpret_cast<float *>(ring + kStages * 2 * kSub * D);

  const int chunk = blockIdx.x, kvHead = blockIdx.y, seq = blockIdx.z;
  const int len = p.context_lens[seq];
  const int first = chunk * kChunk;
  if (first >= len)
    return;
  const int count = min(kChunk, len - first);
  const int subTiles = (count + kSub - 1) / kSub;
  const int *table = p.block_tables + (int64_t)seq * p.max_blocks;
  const int bt = p.block_tokens;
  const T *kc = static_cast<const T *>(p.k_cache);
  const T *vc = static_cast<const T *>(p.v_cache);

  auto issue = [&](int sub) {
    if (sub < subTiles) {
      T *kDst = ring + (sub % kStages) * 2 * kSub * D;
      T *vDst = kDst + kSub * D;
      for (int i = threadIdx.x; i < kSub * kSlices; i += kThreads) {
        int t = i / kSlices, slice = i % kSlices;
        int pos = first + sub * kSub + t;
        if (pos >= first + count)
          continue;
        int64_t row =
            ((int64_t)table[pos / bt] * p.num_kv_heads + kvHead) * bt + pos % bt;
        cpAsync16(smemAddress(kDst + t * D + slice * 8), kc + row * D + slice * 8);
        cpAsync16(smemAddress(vDst + t * D + slice * 8), vc + row * D + slice * 8);
      }
    }
    cpAsyncCommit(); // an empty group keeps the wait counts uniform
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s)
    issue(s);

  const int slice = threadIdx.x % kSlices, lane = threadIdx.x / kSlices;
  float qr[G][8];
  loadQueries<D, G, T>(p, seq, kvHead, slice, qr);
  float m[G], l[G], o[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j)
      o[g][j] = 0.f;
  }

  for (int sub = 0; sub < subTiles; ++sub) {
    issue(sub + kStages - 1);
    cpAsyncWait<kStages - 1>();
    __syncthreads();
    const T *kT = ring + (sub % kStages) * 2 * kSub * D;
    const T *vT = kT + kSub * D;
    const int inTile = min(kSub, count - sub * kSub);
    // Every thread runs every step (the shuffles need the whole warp);
    // slots past the chunk's end are read but not applied.
#pragma unroll
    for (int t = lane; t < kSub; t += kLanes) {
      const bool valid = t < inTile;
      uint4 kRaw = *reinterpret_cast<const uint4 *>(kT + t * D + slice * 8);
      uint4 vRaw = *reinterpret_cast<const uint4 *>(vT + t * D + slice * 8);
      const uint32_t *kw = reinterpret_cast<const uint32_t *>(&kRaw);
      const uint32_t *vw = reinterpret_cast<const uint32_t *>(&vRaw);
      float kf[8], vf[8];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        float2 a = toFloat2<T>(kw[j]), b = toFloat2<T>(vw[j]);
        kf[2 * j] = a.x, kf[2 * j + 1] = a.y;
        vf[2 * j] = b.x, vf[2 * j + 1] = b.y;
      }
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float dot = 0.f;
#pragma unroll
        for (int j = 0; j < 8; ++j)
          dot += qr[g][j] * kf[j];
#pragma unroll
        for (int x = kSlices / 2; x > 0; x /= 2)
          dot += __shfl_xor_sync(0xffffffff, dot, x, kSlices);
        if (!valid)
          continue;
        float mNew = fmaxf(m[g], dot);
        float rescale = __expf(m[g] - mNew);
        float pr = __expf(dot - mNew);
        m[g] = mNew;
        l[g] = l[g] * rescale + pr;
#pragma unroll
        for (int j = 0; j < 8; ++j)
          o[g][j] = o[g][j] * rescale + pr * vf[j];
      }
    }
    __syncthreads(); // the stage is refilled by the next issue()
  }
  cpAsyncWait<0>();

  // Merge the lanes: [kLanes][G] max and sum, [kLanes][G][D] outputs.
  float *mS = merge, *lS = mS + kLanes * G, *oS = lS + kLanes * G;
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (slice == 0) {
      mS[lane * G + g] = m[g];
      lS[lane * G + g] = l[g];
    }
#pragma unroll
    for (int j = 0; j < 8; ++j)
      oS[(lane * G + g) * D + slice * 8 + j] = o[g][j];
  }
  __syncthreads();
  const int numChunks = p.num_chunks;
  for (int i = threadIdx.x; i < G * D; i += kThreads) {
    int g = i / D, d = i % D;
    float mAll = -INFINITY;
    for (int x = 0; x < kLanes; ++x)
      mAll = fmaxf(mAll, mS[x * G + g]);
    float num = 0.f, den = 0.f;
    for (int x = 0; x < kLanes; ++x) {
      float w = mS[x * G + g] == -INFINITY ? 0.f : __expf(mS[x * G + g] - mAll);
      num += w * oS[(x * G + g) * D + d];
      den += w * lS[x * G + g];
    }
    int head = kvHead * G + g;
    int64_t at = ((int64_t)seq * p.num_heads + head) * numChunks + chunk;
    // Stored unnormalised, as the combine kernel expects: sum of p * v, the
    // chunk's max and sum of p.
    p.partial_out[at * D + d] = num;
    if (d == 0) {
      p.partial_max[at] = mAll;
      p.partial_sum[at] = den;
    }
  }
}

/// out[seq, head] = sum_c w_c * partial_out[c] / sum_c w_c * partial_sum[c]
/// with w_c = exp(partial_max[c] - max_c partial_max[c]). The chunk weights
/// are computed in parallel into shared memory; each thread then sums its
/// output dim over the chunks (coalesced, independent loads).
template <int D, typename T>
__global__ void __launch_bounds__(D) combine(TesselDecodeParams p) {
  extern __shared__ float weight[]; // [num_chunks], then the reduction
  __shared__ float scratch[D / 32];
  const int head = blockIdx.x, seq = blockIdx.y, tid = threadIdx.x;
  const int len = p.context_lens[seq];
  const int chunks = (len + kChunk - 1) / kChunk;
  const int64_t base = ((int64_t)seq * p.num_heads + head) * p.num_chunks;
  float m = -INFINITY;
  for (int c = tid; c < chunks; c += D)
    m = fmaxf(m, p.partial_max[base + c]);
  for (int o = 16; o > 0; o /= 2)
    m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
  if (tid % 32 == 0)
    scratch[tid / 32] = m;
  __syncthreads();
  m = scratch[0];
  for (int w = 1; w < D / 32; ++w)
    m = fmaxf(m, scratch[w]);
  float den = 0.f;
  for (int c = tid; c < chunks; c += D) {
    float w = __expf(p.partial_max[base + c] - m);
    weight[c] = w;
    den += w * p.partial_sum[base + c];
  }
  for (int o = 16; o > 0; o /= 2)
    den += __shfl_xor_sync(0xffffffff, den, o);
  __syncthreads(); // scratch reused
  if (tid % 32 == 0)
    scratch[tid / 32] = den;
  __syncthreads();
  den = 0.f;
  for (int w = 0; w < D / 32; ++w)
    den += scratch[w];
  float num = 0.f;
  const float *partial = p.partial_out + base * D + tid;
#pragma unroll 8
  for (int c = 0; c < chunks; ++c)
    num += weight[c] * partial[(int64_t)c * D];
  T *out = static_cast<T *>(p.out) + ((int64_t)seq * p.num_heads + head) * D;
  out[tid] = static_cast<T>(den > 0.f ? num / den : 0.f);
}

template <int D, int G, typename T>
cudaError_t launch(const TesselDecodeParams &p, cudaStream_t stream) {
  // Measured on an H100 (bench/results/decode-attention-*): streaming wins
  // for MHA (its per-token softmax is cheap), the bulk kernel for groups of
  // 4-8 queries per kv head (the streamed per-token softmax of 4+ queries
  // is compute bound).
  constexpr bool kStreamed = G <= 2;
  auto kernel = kStreamed ? decodeChunkStreamed<D, G, T> : decodeChunkBulk<D, G, T>;
  constexpr int kLanes = kThreads / (D / 8);
  int smem;
  if (kStreamed) {
    // K/V ring (3 stages of 32 tokens), then the lanes' merge area.
    smem = 3 * 2 * 32 * D * (int)sizeof(T) + (2 * kLanes * G + kLanes * G * D) * 4;
  } else {
    smem = 2 * kChunk * D * (int)sizeof(T) + G * kChunk * 4 + 2 * G * 4;
    int partialBytes = kLanes * G * D * 4;
    if (partialBytes > kChunk * D * (int)sizeof(T))
      smem += partialBytes; // the reduction cannot reuse the K tile
  }
  static bool configured = false;
  if (!configured) {
    cudaError_t e = cudaFuncSetAttribute(
        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    if (e != cudaSuccess)
      return e;
    configured = true;
  }
  dim3 grid(p.num_chunks, p.num_kv_heads, p.batch);
  kernel<<<grid, kThreads, smem, stream>>>(p);
  combine<D, T><<<dim3(p.num_heads, p.batch), D, p.num_chunks * 4, stream>>>(p);
  return cudaGetLastError();
}

template <int D, typename T>
cudaError_t dispatchGroup(const TesselDecodeParams &p, cudaStream_t s) {
  switch (p.num_heads / p.num_kv_heads) {
  case 1:
    return launch<D, 1, T>(p, s);
  case 2:
    return launch<D, 2, T>(p, s);
  case 4:
    return launch<D, 4, T>(p, s);
  case 8:
    return launch<D, 8, T>(p, s);
  }
  return cudaErrorInvalidValue;
}

template <typename T>
cudaError_t dispatchDim(const TesselDecodeParams &p, cudaStream_t s) {
  switch (p.head_dim) {
  case 64:
    return dispatchGroup<64, T>(p, s);
  case 128:
    return dispatchGroup<128, T>(p, s);
  }
  return cudaErrorInvalidValue;
}

} // namespace

extern "C" int tessel_paged_decode_chunk_tokens(void) { return kChunk; }

extern "C" int tessel_paged_decode_attention(const TesselDecodeParams *p,
                                             cudaStream_t stream) {
  if (!p || p->batch <= 0 || p->num_kv_heads <= 0 ||
      p->num_heads % p->num_kv_heads != 0 ||
      p->num_heads / p->num_kv_heads > kMaxGroup || p->block_tokens <= 0 ||
      p->num_chunks <= 0)
    return cudaErrorInvalidValue;
  return p->dtype == 1 ? dispatchDim<__nv_bfloat16>(*p, stream)
                       : dispatchDim<__half>(*p, stream);
}
