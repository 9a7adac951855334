// PagedAttention.cu - attention over the runtime's paged KV cache: the
// step's append, a general kernel for any query count, and flash-decoding
// for one query per sequence (see PagedAttention.h for the layout and the
// kernels' names). Device code only: the runtime launches the extern "C"
// kernels through the driver (runtime/CudaKvAttention.cpp), the benchmark
// library through the CUDA runtime (bench/gpu/attention/decode_paged.cu).
//
// Decode (tessel_paged_decode_*): one new query per sequence and head
// attends over the sequence's cached keys/values. Each sequence's keys are
// cut into at most num_chunks equal chunks (tessel_paged_decode_chunks picks
// the count that fills the GPU's CTA slots once); one CTA owns (chunk, kv
// head, sequence) and serves every query head of the kv head's group (GQA:
// the group's queries share one read of each k/v block).
//
// Inside a CTA, K/V stream through a kStages-deep cp.async ring of 64-token
// stages; each of the 4 warps takes 16 tokens of every stage and keeps its
// own online softmax. Scores and the P.V product run on the tensor cores
// (mma.sync m16n8k16): the group's G <= 8 queries are the rows of the A
// operand (padded to 16 with zeros), so a token's softmax is computed once
// per query by one thread (no redundant exp, 2 shuffles per 16 tokens). The
// warps merge at the end; a chunk either writes the output (one chunk) or a
// partial (sum of p * v, max, sum of p; log2 domain), and the last CTA of a
// (sequence, kv head) to finish - an atomic counter, params.counters -
// combines the partials in the same kernel, all of its loads in flight at
// once (combineStaged). The benchmark library also has the two-kernel
// combine (tessel_paged_combine_*, counters NULL).
//
// -DDECODE_TRACE (bench only) records a per-CTA timeline through
// %globaltimer (tessel_decode_trace; decode_probe.py --trace).

#include "PagedAttention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace tessel_paged {

constexpr int kThreads = TESSEL_PAGED_DECODE_THREADS;
constexpr int kWarps = kThreads / 32;
constexpr int kWarpTok = 16;                 // tokens per warp and stage
constexpr int kStageTok = kWarps * kWarpTok; // tokens per stage
#ifndef DECODE_STAGED_COMBINE
#define DECODE_STAGED_COMBINE 1
#endif
constexpr int kStages = TESSEL_PAGED_DECODE_STAGES;
constexpr int kMaxChunks = TESSEL_PAGED_DECODE_MAX_CHUNKS;
constexpr float kLog2e = 1.4426950408889634f;

#ifdef DECODE_TRACE
// Timeline probe (bench only): %globaltimer of thread 0 of each CTA at
// eight points, [cta][8] (see tessel_decode_trace).
constexpr int kTraceCtas = 8192;
__device__ unsigned long long gTrace[kTraceCtas][8];
#define TRACE(point, dep)                                                      \
  do {                                                                         \
    if (threadIdx.x == 0) {                                                    \
      const int cta_ = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z); \
      unsigned long long t_;                                                   \
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t_) : "r"(dep));        \
      if (cta_ < kTraceCtas)                                                   \
        gTrace[cta_][point] = t_;                                              \
    }                                                                          \
  } while (0)
#else
#define TRACE(point, dep) do { } while (0)
#endif

__device__ __forceinline__ uint32_t smemAddress(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
// 16-byte async copy; bytes = 0 fills the destination with zeros.
__device__ __forceinline__ void cpAsync16(uint32_t dst, const void *src,
                                          int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(src), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}
__device__ __forceinline__ void ldmatrixX4T(uint32_t (&r)[4], uint32_t addr) {
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(addr)
      : "memory");
}
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/// c += A * B for one m16n8k16 tile; A rows 8-15 are zero (the group has at
/// most 8 queries), so only its registers a0 (row g, k 0-7) and a2 (row g,
/// k 8-15) are passed.
template <typename T>
__device__ __forceinline__ void mma(float (&c)[4], uint32_t a0, uint32_t a2,
                                    uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma<__half>(float (&c)[4], uint32_t a0,
                                            uint32_t a2, uint32_t b0,
                                            uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma<__nv_bfloat16>(float (&c)[4], uint32_t a0,
                                                   uint32_t a2, uint32_t b0,
                                                   uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1));
}

/// Two floats rounded to T, packed; x and y receive the rounded values.
template <typename T> __device__ __forceinline__ uint32_t pack(float &x, float &y);
template <> __device__ __forceinline__ uint32_t pack<__half>(float &x, float &y) {
  __half2 h = __floats2half2_rn(x, y);
  float2 f = __half22float2(h);
  x = f.x, y = f.y;
  return *reinterpret_cast<uint32_t *>(&h);
}
template <>
__device__ __forceinline__ uint32_t pack<__nv_bfloat16>(float &x, float &y) {
  __nv_bfloat162 h = __floats2bfloat162_rn(x, y);
  float2 f = __bfloat1622float2(h);
  x = f.x, y = f.y;
  return *reinterpret_cast<uint32_t *>(&h);
}

/// Four floats rounded to T, one 8-byte store (dst 8-byte aligned).
template <typename T> __device__ __forceinline__ void store4(T *dst, float4 v) {
  union {
    uint2 u;
    T h[4];
  } a;
  a.h[0] = static_cast<T>(v.x), a.h[1] = static_cast<T>(v.y);
  a.h[2] = static_cast<T>(v.z), a.h[3] = static_cast<T>(v.w);
  *reinterpret_cast<uint2 *>(dst) = a.u;
}

/// Tokens per chunk of a sequence of len keys cut in at most n chunks.
__device__ __forceinline__ int chunkTokens(int len, int n) {
  return (((len + n - 1) / n) + 15) & ~15;
}

template <int G, int D> struct Smem {
  static constexpr int kRowBytes = D * 2;
  static constexpr int kTileBytes = kStageTok * kRowBytes; // K or V tile
  static constexpr int kStageBytes = 2 * kTileBytes;
  static constexpr int kRing = kStages * kStageBytes;
  // The warps' merge: [kWarps][G] max and sum, [kWarps][G][D] outputs.
  static constexpr int kMerge = (2 * kWarps * G + kWarps * G * D) * 4;
  // The combine: [G][kMaxChunks] weights, [G] sums, [kThreads] float4.
  static constexpr int kCombine = (16 + G * kMaxChunks) * 4 + kThreads * 16;
  static constexpr int kBytes = kRing > kMerge
                                    ? (kRing > kCombine ? kRing : kCombine)
                                    : (kMerge > kCombine ? kMerge : kCombine);
};

/// Combine when the G heads' n partials fit in smem (bytes): every load is
/// issued at once (the outputs by cp.async into smem, max and sum through
/// L2 into registers), so the combine costs one round trip to L2 instead
/// of one per batch of chunks. False (nothing done) when they do not fit.
template <int D, int G, typename T>
__device__ bool combineStaged(const TesselDecodeParams &p, int seq, int kvHead,
                              int n, unsigned char *smem, int bytes) {
  constexpr int kItems = G * D / 4;
  constexpr int kParts = kItems >= kThreads ? 1 : kThreads / kItems;
  const int nPad = (n + 3) & ~3;
  // [G][n][D] outputs, [G][nPad] max (then weights), [G][nPad] sums, [16]
  // normalisers, [kThreads] float4 reduction.
  if ((G * n * D + 2 * G * nPad + 16) * 4 + kThreads * 16 > bytes)
    return false;
  float *oS = reinterpret_cast<float *>(smem);
  float *mS = oS + G * n * D, *lS = mS + G * nPad, *den = lS + G * nPad;
  float4 *red = reinterpret_cast<float4 *>(den + 16);
  const int64_t head0 = (int64_t)seq * p.num_heads + kvHead * G;
  const uint32_t base = smemAddress(smem);
#pragma unroll
  for (int g = 0; g < G; ++g) {
    const float *src = p.partial_out + (head0 + g) * p.num_chunks * D;
    const uint32_t dst = base + g * n * D * 4;
    for (int i = threadIdx.x; i < n * (D / 4); i += kThreads)
      cpAsync16(dst + i * 16, src + i * 4, 16);
  }
  cpAsyncCommit();
  // Max and sum through L2 (__ldcg: this SM's L1 may hold stale lines of
  // them), loaded before any is stored.
  constexpr int kPer = 4;
  float mv[kPer], lv[kPer];
  for (int i0 = 0; i0 < G * n; i0 += kPer * kThreads) {
#pragma unroll
    for (int u = 0; u < kPer; ++u) {
      const int i = i0 + u * kThreads + threadIdx.x;
      const int g = i / n, c = i - g * n;
      const int64_t at = (head0 + g) * p.num_chunks + c;
      mv[u] = i < G * n ? __ldcg(p.partial_max + at) : 0.f;
      lv[u] = i < G * n ? __ldcg(p.partial_sum + at) : 0.f;
    }
#pragma unroll
    for (int u = 0; u < kPer; ++u) {
      const int i = i0 + u * kThreads + threadIdx.x;
      const int g = i / n, c = i - g * n;
      if (i < G * n) {
        mS[g * nPad + c] = mv[u];
        lS[g * nPad + c] = lv[u];
      }
    }
  }
  cpAsyncWait<0>();
  __syncthreads();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int g = warp; g < G; g += kWarps) {
    float m = -INFINITY;
    for (int c = lane; c < n; c += 32)
      m = fmaxf(m, mS[g * nPad + c]);
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
    float sum = 0.f;
    for (int c = lane; c < n; c += 32) {
      const float w = ex2(mS[g * nPad + c] - m);
      mS[g * nPad + c] = w;
      sum += w * lS[g * nPad + c];
    }
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      sum += __shfl_xor_sync(0xffffffff, sum, o);
    if (lane == 0)
      den[g] = sum;
  }
  __syncthreads();
  const int part = threadIdx.x / kItems;
  for (int item = threadIdx.x % kItems; item < kItems; item += kThreads) {
    const int g = item / (D / 4), d4 = item % (D / 4);
    const float4 *src = reinterpret_cast<const float4 *>(oS + g * n * D) + d4;
    const float *w = mS + g * nPad;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int c = part; c < n; c += kParts) {
      const float4 v = src[c * (D / 4)];
      const float wc = w[c];
      acc.x += wc * v.x, acc.y += wc * v.y, acc.z += wc * v.z, acc.w += wc * v.w;
    }
    if (kParts > 1) {
      red[threadIdx.x] = acc;
    } else {
      const float inv = 1.f / den[g];
      acc.x *= inv, acc.y *= inv, acc.z *= inv, acc.w *= inv;
      store4(static_cast<T *>(p.out) + (head0 + g) * D + d4 * 4, acc);
    }
  }
  if (kParts > 1) {
    __syncthreads();
    if (threadIdx.x < kItems) {
      const int item = threadIdx.x, g = item / (D / 4), d4 = item % (D / 4);
      float4 acc = red[item];
      for (int q = 1; q < kParts; ++q) {
        const float4 v = red[q * kItems + item];
        acc.x += v.x, acc.y += v.y, acc.z += v.z, acc.w += v.w;
      }
      const float inv = 1.f / den[g];
      acc.x *= inv, acc.y *= inv, acc.z *= inv, acc.w *= inv;
      store4(static_cast<T *>(p.out) + (head0 + g) * D + d4 * 4, acc);
    }
  }
  return true;
}

/// Combines the n > 1 partials of the G heads of (seq, kvHead) into the
/// output, with the whole CTA. smem: Smem::kCombine bytes, 16-aligned.
template <int D, int G, typename T>
__device__ void combineGroup(const TesselDecodeParams &p, int seq, int kvHead,
                             int n, unsigned char *smem) {
  float *den = reinterpret_cast<float *>(smem);      // [G]
  float4 *red = reinterpret_cast<float4 *>(den + 16); // [kThreads]
  float *weight = reinterpret_cast<float *>(red + kThreads); // [G][n]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t head0 = (int64_t)seq * p.num_heads + kvHead * G;
  for (int g = warp; g < G; g += kWarps) {
    const int64_t base = (head0 + g) * p.num_chunks;
    float m = -INFINITY;
    for (int c = lane; c < n; c += 32)
      m = fmaxf(m, __ldcg(p.partial_max + base + c));
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
    float s = 0.f;
    for (int c = lane; c < n; c += 32) {
      float w = ex2(__ldcg(p.partial_max + base + c) - m);
      weight[g * n + c] = w;
      s += w * __ldcg(p.partial_sum + base + c);
    }
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      s += __shfl_xor_sync(0xffffffff, s, o);
    if (lane == 0)
      den[g] = s;
  }
  __syncthreads();
  // kItems float4 outputs; kParts threads share one item's chunks.
  constexpr int kItems = G * D / 4;
  constexpr int kParts = kItems >= kThreads ? 1 : kThreads / kItems;
  const int part = threadIdx.x / kItems;
  for (int item = threadIdx.x % kItems; item < kItems; item += kThreads) {
    const int g = item / (D / 4), d4 = item % (D / 4);
    const float4 *src = reinterpret_cast<const float4 *>(
                            p.partial_out + (head0 + g) * p.num_chunks * D) +
                        d4;
    const float *w = weight + g * n;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    int c = part;
    for (; c + 7 * kParts < n; c += 8 * kParts) {
      float4 v[8];
#pragma unroll
      for (int u = 0; u < 8; ++u)
        v[u] = __ldcg(src + (int64_t)(c + u * kParts) * (D / 4));
#pragma unroll
      for (int u = 0; u < 8; ++u) {
        float wu = w[c + u * kParts];
        acc.x += wu * v[u].x, acc.y += wu * v[u].y;
        acc.z += wu * v[u].z, acc.w += wu * v[u].w;
      }
    }
    for (; c < n; c += kParts) {
      float4 v = __ldcg(src + (int64_t)c * (D / 4));
      float wu = w[c];
      acc.x += wu * v.x, acc.y += wu * v.y, acc.z += wu * v.z, acc.w += wu * v.w;
    }
    if (kParts > 1) {
      red[threadIdx.x] = acc;
    } else {
      float inv = 1.f / den[g];
      acc.x *= inv, acc.y *= inv, acc.z *= inv, acc.w *= inv;
      store4(static_cast<T *>(p.out) + (head0 + g) * D + d4 * 4, acc);
    }
  }
  if (kParts > 1) {
    __syncthreads();
    if (threadIdx.x < kItems) {
      const int item = threadIdx.x, g = item / (D / 4), d4 = item % (D / 4);
      float4 acc = red[item];
      for (int q = 1; q < kParts; ++q) {
        float4 v = red[q * kItems + item];
        acc.x += v.x, acc.y += v.y, acc.z += v.z, acc.w += v.w;
      }
      float inv = 1.f / den[g];
      acc.x *= inv, acc.y *= inv, acc.z *= inv, acc.w *= inv;
      store4(static_cast<T *>(p.out) + (head0 + g) * D + d4 * 4, acc);
    }
  }
}

/// Partial attention of one chunk of keys for the G query heads of one kv
/// head (see the file comment). D = head dim.
template <int D, int G, typename T>
__device__ __forceinline__ void decodeChunk(const TesselDecodeParams &p) {
  using S = Smem<G, D>;
  constexpr int kPieces = D / 8;                  // 16-byte pieces per row
  constexpr int kRowStep = kThreads / kPieces;    // rows per copy sweep
  constexpr int kCopyRows = kStageTok / kRowStep; // rows per thread, stage
  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ int isLast;

  const int chunk = blockIdx.x, kvHead = blockIdx.y, seq = blockIdx.z;
  TRACE(0, 0);
  const int len = p.context_lens[seq];
  TRACE(1, len);
  const int64_t head0 = (int64_t)seq * p.num_heads + kvHead * G;
  if (len <= 0) { // no keys: the output is zero
    if (chunk == 0)
      for (int i = threadIdx.x; i < G * D / 4; i += kThreads)
        store4(static_cast<T *>(p.out) + head0 * D + i * 4,
               make_float4(0.f, 0.f, 0.f, 0.f));
    return;
  }
  const int chunkTok = chunkTokens(len, p.num_chunks);
  const int active = (len + chunkTok - 1) / chunkTok;
  if (chunk >= active)
    return;
  const int first = chunk * chunkTok;
  const int end = min(len, first + chunkTok);
  const int stages = (end - first + kStageTok - 1) / kStageTok;

  const int *table = p.block_tables + (int64_t)seq * p.max_blocks;
  const int bt = p.block_tokens;
  const T *kc = static_cast<const T *>(p.k_cache);
  const T *vc = static_cast<const T *>(p.v_cache);
  const int64_t blockStride =
      p.block_stride ? p.block_stride : (int64_t)p.num_kv_heads * bt * D;
  const uint32_t ring = smemAddress(smem);
  const int piece = threadIdx.x % kPieces, row0 = threadIdx.x / kPieces;

  // Stage st's K and V tiles: row r (token first + st * kStageTok + r) keeps
  // its 16-byte piece c at c ^ (r % 8) (conflict-free ldmatrix); rows past
  // the chunk's end are zero-filled.
  auto issue = [&](int st) {
    if (st < stages) {
      const uint32_t kDst = ring + (st % kStages) * S::kStageBytes;
      const uint32_t vDst = kDst + S::kTileBytes;
#pragma unroll
      for (int i = 0; i < kCopyRows; ++i) {
        const int r = row0 + i * kRowStep;
        const int pos = first + st * kStageTok + r;
        const bool ok = pos < end;
        const int at = ok ? pos : first;
        const int64_t at0 = (int64_t)table[at / bt] * blockStride +
                            ((int64_t)kvHead * bt + at % bt) * D + piece * 8;
        const uint32_t off = r * S::kRowBytes + ((piece ^ (r & 7)) << 4);
        cpAsync16(kDst + off, kc + at0, ok ? 16 : 0);
        cpAsync16(vDst + off, vc + at0, ok ? 16 : 0);
      }
    }
    cpAsyncCommit(); // an empty group keeps the wait counts uniform
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s)
    issue(s);
  TRACE(2, 0);

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, quad = lane % 4; // A/C row (query), column pair
  // A fragments of the queries: row g, k = 2 * quad (+ 8); rows >= G zero.
  uint32_t qa[D / 16][2];
  {
    const uint32_t *q = reinterpret_cast<const uint32_t *>(
        static_cast<const T *>(p.q) + (head0 + (g < G ? g : 0)) * D);
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
      qa[ks][0] = g < G ? q[ks * 8 + quad] : 0u;
      qa[ks][1] = g < G ? q[ks * 8 + 4 + quad] : 0u;
    }
  }
  const float scale = p.scale * kLog2e; // scores in the log2 domain
  float m = -INFINITY, l = 0.f;
  float o[D / 8][4];
#pragma unroll
  for (int nt = 0; nt < D / 8; ++nt)
#pragma unroll
    for (int j = 0; j < 4; ++j)
      o[nt][j] = 0.f;

  // ldmatrix row addresses (within a tile) of this lane.
  const int mi = lane / 8;
  const int kRow = warp * kWarpTok + (mi / 2) * 8 + lane % 8; // K: tokens
  const int vRow = warp * kWarpTok + (mi % 2) * 8 + lane % 8; // V: tokens
  for (int st = 0; st < stages; ++st) {
    cpAsyncWait<kStages - 2>();
    __syncthreads(); // stage st landed; stage st - 1 is free again
    if (st == 0)
      TRACE(3, 0);
    issue(st + kStages - 1);
    const int tok0 = first + st * kStageTok + warp * kWarpTok;
    if (tok0 >= end)
      continue; // warp-uniform: no valid token in this warp's slice
    const uint32_t kT = ring + (st % kStages) * S::kStageBytes;
    const uint32_t vT = kT + S::kTileBytes;
    // Scores of the 16 tokens: s[n][j] is query g, token tok0 + 8n + 2quad + j.
    float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
      uint32_t b[4];
      const int c = 2 * ks + (mi & 1);
      ldmatrixX4(b, kT + kRow * S::kRowBytes + ((c ^ (kRow & 7)) << 4));
      mma<T>(s[0], qa[ks][0], qa[ks][1], b[0], b[1]);
      mma<T>(s[1], qa[ks][0], qa[ks][1], b[2], b[3]);
    }
    float mx = -INFINITY;
#pragma unroll
    for (int n = 0; n < 2; ++n)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const bool valid = tok0 + 8 * n + 2 * quad + j < end;
        s[n][j] = valid ? s[n][j] * scale : -INFINITY;
        mx = fmaxf(mx, s[n][j]);
      }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 2));
    const float mNew = fmaxf(m, mx); // finite: the slice has a valid token
    const float rescale = ex2(m - mNew);
    m = mNew;
    float e[2][2];
#pragma unroll
    for (int n = 0; n < 2; ++n)
#pragma unroll
      for (int j = 0; j < 2; ++j)
        e[n][j] = ex2(s[n][j] - mNew);
    // P as the A operand of P.V (row g, tokens 2quad (+8)), rounded to T;
    // the sum uses the rounded values, so weights and normaliser agree.
    const uint32_t pa0 = pack<T>(e[0][0], e[0][1]);
    const uint32_t pa2 = pack<T>(e[1][0], e[1][1]);
    l = l * rescale + (e[0][0] + e[0][1]) + (e[1][0] + e[1][1]);
#pragma unroll
    for (int nt = 0; nt < D / 8; ++nt) {
      o[nt][0] *= rescale;
      o[nt][1] *= rescale;
    }
#pragma unroll
    for (int nt = 0; nt < D / 8; nt += 2) {
      uint32_t b[4];
      const int c = nt + mi / 2;
      ldmatrixX4T(b, vT + vRow * S::kRowBytes + ((c ^ (vRow & 7)) << 4));
      mma<T>(o[nt], pa0, pa2, b[0], b[1]);
      mma<T>(o[nt + 1], pa0, pa2, b[2], b[3]);
    }
  }
  cpAsyncWait<0>();
  TRACE(4, 0);
  l += __shfl_xor_sync(0xffffffff, l, 1);
  l += __shfl_xor_sync(0xffffffff, l, 2);
  __syncthreads(); // the ring is free: merge the warps' streams
  float *mS = reinterpret_cast<float *>(smem); // [kWarps][G]
  float *lS = mS + kWarps * G;                  // [kWarps][G]
  float *oS = lS + kWarps * G;                  // [kWarps][G][D]
  if (g < G) {
    if (quad == 0) {
      mS[warp * G + g] = m;
      lS[warp * G + g] = l;
    }
#pragma unroll
    for (int nt = 0; nt < D / 8; ++nt)
      *reinterpret_cast<float2 *>(oS + (warp * G + g) * D + nt * 8 + 2 * quad) =
          make_float2(o[nt][0], o[nt][1]);
  }
  __syncthreads();
  for (int item = threadIdx.x; item < G * D / 4; item += kThreads) {
    const int gi = item / (D / 4), d4 = item % (D / 4);
    float mAll = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w)
      mAll = fmaxf(mAll, mS[w * G + gi]);
    float den = 0.f;
    float4 num = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float wt = ex2(mS[w * G + gi] - mAll); // empty stream: 0
      const float4 v = *reinterpret_cast<const float4 *>(oS + (w * G + gi) * D + d4 * 4);
      den += wt * lS[w * G + gi];
      num.x += wt * v.x, num.y += wt * v.y, num.z += wt * v.z, num.w += wt * v.w;
    }
    if (active == 1) {
      const float inv = 1.f / den;
      num.x *= inv, num.y *= inv, num.z *= inv, num.w *= inv;
      store4(static_cast<T *>(p.out) + (head0 + gi) * D + d4 * 4, num);
    } else {
      const int64_t at = (head0 + gi) * p.num_chunks + chunk;
      *reinterpret_cast<float4 *>(p.partial_out + at * D + d4 * 4) = num;
      if (d4 == 0) {
        p.partial_max[at] = mAll;
        p.partial_sum[at] = den;
      }
    }
  }
  if (active == 1 || p.counters == nullptr) {
    TRACE(7, 0);
    return;
  }
  // The last chunk to finish combines (threadFenceReduction pattern).
  __threadfence();
  TRACE(5, 0);
  __syncthreads();
  if (threadIdx.x == 0) {
    int *counter = p.counters + seq * p.num_kv_heads + kvHead;
    const int ticket = atomicAdd(counter, 1);
    TRACE(6, ticket);
    isLast = ticket == active - 1;
    if (isLast)
      *counter = 0; // every chunk has counted: ready for the next call
  }
  __syncthreads();
  if (!isLast) {
    TRACE(7, 0);
    return;
  }
  __threadfence();
  if (!DECODE_STAGED_COMBINE ||
      !combineStaged<D, G, T>(p, seq, kvHead, active, smem, S::kBytes))
    combineGroup<D, G, T>(p, seq, kvHead, active, smem);
  __syncthreads();
  TRACE(7, 1);
}

/// Two-kernel path (params.counters == NULL): one CTA per (kv head, seq).
template <int D, int G, typename T>
__device__ __forceinline__ void combineChunks(const TesselDecodeParams &p) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int kvHead = blockIdx.x, seq = blockIdx.y;
  const int len = p.context_lens[seq];
  if (len <= 0)
    return;
  const int chunkTok = chunkTokens(len, p.num_chunks);
  const int active = (len + chunkTok - 1) / chunkTok;
  if (active > 1)
    combineGroup<D, G, T>(p, seq, kvHead, active, smem);
}

//===----------------------------------------------------------------------===//
// Append and general attention (any query count, f32/f16/bf16)
//===----------------------------------------------------------------------===//

template <typename T> __device__ __forceinline__ float toFloat(T x) {
  return static_cast<float>(x);
}
template <> __device__ __forceinline__ float toFloat<__half>(__half x) {
  return __half2float(x);
}
template <>
__device__ __forceinline__ float toFloat<__nv_bfloat16>(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
template <typename T> __device__ __forceinline__ T fromFloat(float x) {
  return static_cast<T>(x);
}
template <> __device__ __forceinline__ __half fromFloat<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

/// Element offset of (batch, head, row) under three strides.
__device__ __forceinline__ int64_t at3(const int64_t (&s)[3], int64_t b,
                                       int64_t h, int64_t r) {
  return b * s[0] + h * s[1] + r * s[2];
}

/// Cache offset of (block, kv head, token in block).
__device__ __forceinline__ int64_t cacheAt(const TesselKvParams &p, int block,
                                           int kvHead, int slot) {
  return (int64_t)block * p.block_stride +
         ((int64_t)kvHead * p.block_tokens + slot) * p.head_dim;
}

/// blockIdx.x: batch row * seq + token; blockIdx.y: kv head; threadIdx.x:
/// dims (a stride loop).
template <typename T> __device__ __forceinline__ void append(const TesselKvParams &p) {
  const int b = blockIdx.x / p.seq, s = blockIdx.x % p.seq, g = blockIdx.y;
  const int pos = p.past_lens[b] + s;
  const int block = p.block_tables[(int64_t)b * p.max_blocks + pos / p.block_tokens];
  const int64_t dst = cacheAt(p, block, g, pos % p.block_tokens);
  const T *k = static_cast<const T *>(p.k) + at3(p.k_strides, b, g, s);
  const T *v = static_cast<const T *>(p.v) + at3(p.v_strides, b, g, s);
  T *kc = static_cast<T *>(p.k_cache) + dst;
  T *vc = static_cast<T *>(p.v_cache) + dst;
  for (int d = threadIdx.x; d < p.head_dim; d += blockDim.x) {
    kc[d] = k[d];
    vc[d] = v[d];
  }
}

constexpr int kMaxDimPerLane = 8; // head dims up to 256

/// One warp per query (batch row blockIdx.z, head blockIdx.y, token
/// blockIdx.x * 4 + warp): an online softmax over keys first..pos, one key at
/// a time, the dot product reduced across the warp. The reference path:
/// prompts, f32 caches, shapes the decode kernel does not take.
template <typename T> __device__ __forceinline__ void attend(const TesselKvParams &p) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int b = blockIdx.z, h = blockIdx.y, s = blockIdx.x * 4 + warp;
  if (s >= p.seq)
    return;
  const int group = p.num_heads / p.num_kv_heads, g = h / group;
  const int pos = p.past_lens[b] + s;
  const int first = p.window_left >= 0 ? max(0, pos - p.window_left) : 0;
  const int D = p.head_dim;
  const T *qp = static_cast<const T *>(p.q) + at3(p.q_strides, b, h, s);
  float q[kMaxDimPerLane], acc[kMaxDimPerLane];
#pragma unroll
  for (int i = 0; i < kMaxDimPerLane; ++i) {
    const int d = lane + 32 * i;
    q[i] = d < D ? toFloat(qp[d]) * p.scale : 0.f;
    acc[i] = 0.f;
  }
  const int *table = p.block_tables + (int64_t)b * p.max_blocks;
  const T *kc = static_cast<const T *>(p.k_cache);
  const T *vc = static_cast<const T *>(p.v_cache);
  float m = -INFINITY, l = 0.f;
  for (int j = first; j <= pos; ++j) {
    const int64_t row = cacheAt(p, table[j / p.block_tokens], g, j % p.block_tokens);
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < kMaxDimPerLane; ++i) {
      const int d = lane + 32 * i;
      if (d < D)
        dot += q[i] * toFloat(kc[row + d]);
    }
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      dot += __shfl_xor_sync(0xffffffff, dot, o);
    if (p.softcap > 0.f)
      dot = p.softcap * tanhf(dot / p.softcap);
    const float mNew = fmaxf(m, dot);
    const float rescale = __expf(m - mNew), w = __expf(dot - mNew);
    m = mNew;
    l = l * rescale + w;
#pragma unroll
    for (int i = 0; i < kMaxDimPerLane; ++i) {
      const int d = lane + 32 * i;
      acc[i] = acc[i] * rescale + (d < D ? w * toFloat(vc[row + d]) : 0.f);
    }
  }
  T *out = static_cast<T *>(p.out) + at3(p.out_strides, b, h, s);
  const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
  for (int i = 0; i < kMaxDimPerLane; ++i) {
    const int d = lane + 32 * i;
    if (d < D)
      out[d] = fromFloat<T>(acc[i] * inv);
  }
}

} // namespace tessel_paged

//===----------------------------------------------------------------------===//
// The kernels
//===----------------------------------------------------------------------===//

#define TESSEL_KV_KERNELS(NAME, T)                                             \
  extern "C" __global__ void tessel_kv_append_##NAME(TesselKvParams p) {       \
    tessel_paged::append<T>(p);                                                \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(128)                            \
      tessel_kv_attention_##NAME(TesselKvParams p) {                           \
    tessel_paged::attend<T>(p);                                                \
  }
TESSEL_KV_KERNELS(f32, float)
TESSEL_KV_KERNELS(f16, __half)
TESSEL_KV_KERNELS(bf16, __nv_bfloat16)
#undef TESSEL_KV_KERNELS

#define TESSEL_DECODE_KERNEL(D, G, NAME, T)                                    \
  static_assert(tessel_paged::Smem<G, D>::kBytes ==                            \
                    TESSEL_PAGED_DECODE_SMEM_BYTES(D, G),                      \
                "PagedAttention.h's shared-memory size is out of date");       \
  extern "C" __global__ void __launch_bounds__(tessel_paged::kThreads)         \
      tessel_paged_decode_d##D##_g##G##_##NAME(TesselDecodeParams p) {         \
    tessel_paged::decodeChunk<D, G, T>(p);                                     \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(tessel_paged::kThreads)         \
      tessel_paged_combine_d##D##_g##G##_##NAME(TesselDecodeParams p) {        \
    tessel_paged::combineChunks<D, G, T>(p);                                   \
  }
#define TESSEL_DECODE_GROUPS(D, NAME, T)                                       \
  TESSEL_DECODE_KERNEL(D, 1, NAME, T)                                          \
  TESSEL_DECODE_KERNEL(D, 2, NAME, T)                                          \
  TESSEL_DECODE_KERNEL(D, 4, NAME, T)                                          \
  TESSEL_DECODE_KERNEL(D, 8, NAME, T)
TESSEL_DECODE_GROUPS(64, f16, __half)
TESSEL_DECODE_GROUPS(128, f16, __half)
TESSEL_DECODE_GROUPS(64, bf16, __nv_bfloat16)
TESSEL_DECODE_GROUPS(128, bf16, __nv_bfloat16)
#undef TESSEL_DECODE_GROUPS
#undef TESSEL_DECODE_KERNEL
