// flash_fwd.cu - tiled online-softmax attention (FlashAttention-2 scheme) on
// tensor cores with mma.sync m16n8k16, fp16 / bf16 in, fp32 accumulation.
//
// One CTA owns BLOCK_M = 128 query rows of one (batch, head): 8 warps, 16
// rows each. Q stays in registers; K and V tiles of BLOCK_N = 64 keys stream
// through shared memory (cp.async, XOR-swizzled 16-byte chunks read with
// ldmatrix); S = Q K^T and O += P V run on the tensor cores, P is reused
// from the S accumulators as the A operand without a shared-memory round
// trip. Causal / sliding-window key tiles outside the band are skipped;
// GQA maps query head h to kv head h / (heads / kv_heads) (each CTA reads
// its group's k/v tiles; CTAs of one group run close in time and share
// them through L2).
//
// Entry point: tessel_flash_attention_fwd (flash_fwd.h). This file is the
// kernel the CUDA target's tessel.attention lowering will call; for now
// bench/gpu/attention/check_and_bench.py checks and times it against
// PyTorch SDPA (flash, cuDNN).

#include "flash_fwd.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {

constexpr int kWarps = 4;
constexpr int kMTiles = 2; // 16-row tiles per warp
constexpr int kBlockM = kWarps * 16 * kMTiles;
// Keys per tile: 64, or FLASH_BN_D128 for head dim 128 (32 keeps its
// accumulators in registers without spills).
#ifndef FLASH_BN_D128
#define FLASH_BN_D128 64
#endif
template <int D>
__host__ __device__ constexpr int blockN() {
  return D == 128 ? FLASH_BN_D128 : 64;
}
constexpr int kThreads = kWarps * 32;

template <typename T> struct Mma;
template <> struct Mma<__half> {
  static __device__ __forceinline__ void run(float *c, const uint32_t *a,
                                             const uint32_t *b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                   "r"(b[1]));
  }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&h);
  }
};
template <> struct Mma<__nv_bfloat16> {
  static __device__ __forceinline__ void run(float *c, const uint32_t *a,
                                             const uint32_t *b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                   "r"(b[1]));
  }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&h);
  }
};

__device__ __forceinline__ uint32_t smemAddress(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrixX4(uint32_t *r, uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void ldmatrixX4Trans(uint32_t *r, uint32_t addr) {
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(addr));
}

/// 16-byte global -> shared copy; bytes past `valid` (0 or 16) are zeros.
__device__ __forceinline__ void cpAsync16(uint32_t dst, const void *src,
                                          bool valid) {
  int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cpAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

/// Byte offset of 16-byte chunk `chunk` of row `row` in a tile whose rows
/// are D elements (D / 8 chunks): chunks are XOR-swizzled by row % 8 so
/// ldmatrix's 8 row reads of one chunk column hit 8 different bank groups.
template <int D>
__device__ __forceinline__ uint32_t tileOffset(int row, int chunk) {
  constexpr int kChunks = D / 8;
  return (row * kChunks + (chunk ^ (row & 7))) * 16;
}

/// Loads `rows` rows x D of a [rows, D] tile at `src` (row stride in
/// elements) into swizzled shared memory; rows >= `limit` become zeros.
template <int D, int Rows, typename T>
__device__ __forceinline__ void loadTile(uint32_t dst, const T *src,
                                         int64_t rowStride, int limit) {
  constexpr int kChunks = D / 8;
  constexpr int kTotal = Rows * kChunks;
#pragma unroll
  for (int i = threadIdx.x; i < kTotal; i += kThreads) {
    int row = i / kChunks, chunk = i % kChunks;
    bool valid = row < limit;
    const T *p = src + (valid ? row * rowStride : 0) + chunk * 8;
    cpAsync16(dst + tileOffset<D>(row, chunk), p, valid);
  }
}

template <int D, bool Causal, bool Window, typename T>
__global__ void __launch_bounds__(kThreads, 1)
    flashForward(TesselFlashParams p) {
  // Each warp owns kMTiles row tiles of 16 query rows: every K / V fragment
  // it reads from shared memory feeds kMTiles tensor-core products.
  // Q fragments stay in registers for small head dims, else they are read
  // from shared memory at each use (registers go to the accumulators).
  constexpr int kBlockN = blockN<D>();
  constexpr bool kQInRegs = D <= 64;
  constexpr int kQFrags = kQInRegs ? D / 16 : 1;
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t qTile = smemAddress(smem);
  const uint32_t kTile = qTile + kBlockM * D * 2;
  const uint32_t vTile = kTile + kBlockN * D * 2;

  // Heaviest query tiles first for causal attention.
  const int mBlock = Causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x;
  const int head = blockIdx.y, batch = blockIdx.z;
  const int kvHead = head / (p.num_heads / p.num_kv_heads);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int seqK = p.seqlens_k ? p.seqlens_k[batch] : p.seq_kv;
  const int rowStart = mBlock * kBlockM;
  if (rowStart >= p.seq_q)
    return;

  const T *q = static_cast<const T *>(p.q) + batch * p.q_batch_stride +
               head * p.q_head_stride + (int64_t)rowStart * p.q_row_stride;
  const T *k = static_cast<const T *>(p.k) + batch * p.k_batch_stride +
               kvHead * p.k_head_stride;
  const T *v = static_cast<const T *>(p.v) + batch * p.v_batch_stride +
               kvHead * p.v_head_stride;

  // Keys this tile's rows may see: causal / window bands are aligned to the
  // end of the keys (query i is key position i + seq_kv - seq_q).
  const int shift = p.seq_kv - p.seq_q;
  int keyEnd = seqK;
  if (Causal)
    keyEnd = min(keyEnd, rowStart + kBlockM + shift);
  int keyBegin = 0;
  if (Window)
    keyBegin = max(0, rowStart + shift - p.window_left);
  const int firstBlock = keyBegin / kBlockN;
  const int lastBlock = keyEnd > 0 ? (keyEnd - 1) / kBlockN : -1;

  float acc[kMTiles][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int i = 0; i < D / 8; ++i)
      acc[mt][i][0] = acc[mt][i][1] = acc[mt][i][2] = acc[mt][i][3] = 0.f;
  float rowMax[kMTiles][2], rowSum[kMTiles][2];
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
    rowMax[mt][0] = rowMax[mt][1] = -INFINITY, rowSum[mt][0] =
        rowSum[mt][1] = 0.f;
  const float scaleLog2 = p.scale * 1.4426950408889634f;
  const int g = lane / 4, t4 = lane % 4;
  const int warpRow = warp * 16 * kMTiles; // first row of the warp in the tile

  loadTile<D, kBlockM>(qTile, q, p.q_row_stride, p.seq_q - rowStart);
  if (firstBlock <= lastBlock)
    loadTile<D, kBlockN>(kTile,
                         k + (int64_t)firstBlock * kBlockN * p.k_row_stride,
                         p.k_row_stride, seqK - firstBlock * kBlockN);
  cpAsyncCommit();

  // ldmatrix lane roles (see the fragment layouts of mma.m16n8k16).
  const int mat = lane / 8, matRow = lane % 8;
  uint32_t qFrag[kMTiles][kQFrags][4];
  for (int nb = firstBlock; nb <= lastBlock; ++nb) {
    const int keyStart = nb * kBlockN;
    loadTile<D, kBlockN>(vTile, v + (int64_t)keyStart * p.v_row_stride,
                         p.v_row_stride, seqK - keyStart);
    cpAsyncCommit();
    cpAsyncWait<1>();
    __syncthreads();
    if (kQInRegs && nb == firstBlock) {
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int kk = 0; kk < kQFrags; ++kk) {
          int row = warpRow + mt * 16 + (mat % 2) * 8 + matRow;
          ldmatrixX4(qFrag[mt][kk],
                     qTile + tileOffset<D>(row, kk * 2 + mat / 2));
        }
    }

    // S = Q K^T: per warp kMTiles x 16 rows x 64 keys.
    float s[kMTiles][kBlockN / 8][4];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int n = 0; n < kBlockN / 8; ++n)
        s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t qk[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        if constexpr (kQInRegs) {
#pragma unroll
          for (int r = 0; r < 4; ++r)
            qk[mt][r] = qFrag[mt][kQInRegs ? kk : 0][r];
        } else {
          int row = warpRow + mt * 16 + (mat % 2) * 8 + matRow;
          ldmatrixX4(qk[mt], qTile + tileOffset<D>(row, kk * 2 + mat / 2));
        }
      }
#pragma unroll
      for (int n = 0; n < kBlockN / 8; n += 2) {
        uint32_t b[4];
        int key = n * 8 + (mat / 2) * 8 + matRow;
        ldmatrixX4(b, kTile + tileOffset<D>(key, kk * 2 + mat % 2));
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          Mma<T>::run(s[mt][n], qk[mt], b);
          Mma<T>::run(s[mt][n + 1], qk[mt], b + 2);
        }
      }
    }
    __syncthreads(); // every warp is done with the K tile
    if (nb < lastBlock)
      loadTile<D, kBlockN>(kTile,
                           k + (int64_t)(keyStart + kBlockN) * p.k_row_stride,
                           p.k_row_stride, seqK - keyStart - kBlockN);
    cpAsyncCommit();

    // Mask (edges of the band, keys past the end), then online softmax.
    const bool edge = keyStart + kBlockN > seqK ||
                      (Causal && keyStart + kBlockN - 1 > rowStart + shift) ||
                      (Window && keyStart < rowStart + kBlockM + shift -
                                                p.window_left);
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
      const int myRow0 = rowStart + warpRow + mt * 16 + g; // and + 8
      if (edge) {
#pragma unroll
        for (int n = 0; n < kBlockN / 8; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            int key = keyStart + n * 8 + t4 * 2 + (e & 1);
            int row = myRow0 + (e >> 1) * 8 + shift;
            bool visible = key < seqK;
            if (Causal)
              visible = visible && key <= row;
            if (Window)
              visible = visible && key >= row - p.window_left;
            if (!visible)
              s[mt][n][e] = -INFINITY;
          }
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float m = rowMax[mt][r];
#pragma unroll
        for (int n = 0; n < kBlockN / 8; ++n)
          m = fmaxf(m, fmaxf(s[mt][n][2 * r], s[mt][n][2 * r + 1]));
        m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, 1));
        m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, 2));
        // A row with nothing visible yet keeps 0 for its exponent base.
        float base = m == -INFINITY ? 0.f : m * scaleLog2;
        float scaleOld = exp2f(rowMax[mt][r] * scaleLog2 - base);
        rowMax[mt][r] = m;
        float sum = 0.f;
#pragma unroll
        for (int n = 0; n < kBlockN / 8; ++n) {
          s[mt][n][2 * r] = exp2f(s[mt][n][2 * r] * scaleLog2 - base);
          s[mt][n][2 * r + 1] = exp2f(s[mt][n][2 * r + 1] * scaleLog2 - base);
          sum += s[mt][n][2 * r] + s[mt][n][2 * r + 1];
        }
        rowSum[mt][r] = rowSum[mt][r] * scaleOld + sum;
#pragma unroll
        for (int i = 0; i < D / 8; ++i) {
          acc[mt][i][2 * r] *= scaleOld;
          acc[mt][i][2 * r + 1] *= scaleOld;
        }
      }
    }

    cpAsyncWait<1>(); // the V tile (the next K tile may still be in flight)
    __syncthreads();
    // O += P V: P from the S accumulators, V^T fragments by ldmatrix.trans.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        a[mt][0] = Mma<T>::pack(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = Mma<T>::pack(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = Mma<T>::pack(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = Mma<T>::pack(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int n = 0; n < D / 8; n += 2) {
        uint32_t b[4];
        int key = kk * 16 + (mat % 2) * 8 + matRow;
        ldmatrixX4Trans(b, vTile + tileOffset<D>(key, n + mat / 2));
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          Mma<T>::run(acc[mt][n], a[mt], b);
          Mma<T>::run(acc[mt][n + 1], a[mt], b + 2);
        }
      }
    }
    __syncthreads(); // every warp is done with the V tile
  }
  cpAsyncWait<0>();

  // O / l; rows with no visible key are 0.
  T *o = static_cast<T *>(p.o) + batch * p.o_batch_stride +
         head * p.o_head_stride;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float l = rowSum[mt][r];
      l += __shfl_xor_sync(0xffffffff, l, 1);
      l += __shfl_xor_sync(0xffffffff, l, 2);
      int row = rowStart + warpRow + mt * 16 + g + r * 8;
      float inv = l > 0.f ? 1.f / l : 0.f;
      if (p.lse && t4 == 0 && row < p.seq_q)
        p.lse[((int64_t)batch * p.num_heads + head) * p.seq_q + row] =
            l > 0.f ? rowMax[mt][r] * p.scale + logf(l) : -INFINITY;
      if (row >= p.seq_q)
        continue;
      T *out = o + (int64_t)row * p.o_row_stride;
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        uint32_t packed = Mma<T>::pack(acc[mt][n][2 * r] * inv,
                                       acc[mt][n][2 * r + 1] * inv);
        *reinterpret_cast<uint32_t *>(out + n * 8 + t4 * 2) = packed;
      }
    }
}

template <int D, bool Causal, bool Window, typename T>
cudaError_t launch(const TesselFlashParams &p, cudaStream_t stream) {
  auto kernel = flashForward<D, Causal, Window, T>;
  const int smemBytes = (kBlockM + 2 * blockN<D>()) * D * 2;
  static bool configured = false;
  if (!configured) {
    cudaError_t e = cudaFuncSetAttribute(
        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smemBytes);
    if (e != cudaSuccess)
      return e;
    configured = true;
  }
  dim3 grid((p.seq_q + kBlockM - 1) / kBlockM, p.num_heads, p.batch);
  kernel<<<grid, kThreads, smemBytes, stream>>>(p);
  return cudaGetLastError();
}

template <int D, typename T>
cudaError_t dispatchMask(const TesselFlashParams &p, cudaStream_t stream) {
  bool window = p.window_left >= 0;
  if (p.causal)
    return window ? launch<D, true, true, T>(p, stream)
                  : launch<D, true, false, T>(p, stream);
  return window ? launch<D, false, true, T>(p, stream)
                : launch<D, false, false, T>(p, stream);
}

template <typename T>
cudaError_t dispatchDim(const TesselFlashParams &p, cudaStream_t stream) {
  switch (p.head_dim) {
  case 64:
    return dispatchMask<64, T>(p, stream);
  case 128:
    return dispatchMask<128, T>(p, stream);
  default:
    return cudaErrorInvalidValue;
  }
}

} // namespace

extern "C" int tessel_flash_attention_fwd(const TesselFlashParams *p,
                                          cudaStream_t stream) {
  if (!p || p->batch <= 0 || p->num_heads <= 0 || p->num_kv_heads <= 0 ||
      p->num_heads % p->num_kv_heads != 0 || p->seq_q <= 0 || p->seq_kv < 0)
    return cudaErrorInvalidValue;
  if (p->window_left >= 0 && !p->causal)
    return cudaErrorInvalidValue; // a window without causal: not yet
  return p->dtype == 1 ? dispatchDim<__nv_bfloat16>(*p, stream)
                       : dispatchDim<__half>(*p, stream);
}
