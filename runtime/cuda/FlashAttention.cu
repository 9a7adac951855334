// FlashAttention.cu - FlashAttention-2-class forward attention on tensor
// cores (mma.sync m16n8k16, fp16/bf16 in, fp32 accumulate) for sm_80 / sm_90.
//
// One source, two builds:
//   - libtessel_rt embeds this file's device code as a fatbin (nvcc -fatbin
//     -DTESSEL_FLASH_DEVICE_ONLY) and launches the extern "C" kernels
//     tessel_flash_fwd_d<D>_<f16|bf16>_<causal|full> through the driver
//     (runtime/CudaKernels.cpp), for compiled models' tessel.attention;
//   - bench/gpu/flash builds it as libtessel_flash.so, whose entry point
//     (tessel_flash_attention_fwd, CUDA runtime launches) the random-input
//     checks and the benchmark against PyTorch call.
// Both launch the same kernels with the same launch shape
// (tessel_flash_launch_shape in FlashAttention.h).
//
// One CTA owns BM = WARPS * MT * 16 query rows of one (batch, head); each warp
// owns MT row tiles of 16 rows (so every K/V fragment read from shared memory
// feeds MT MMAs). The CTA walks the visible key tiles of BN keys:
//   S = Q K^T      A = Q (ldmatrix from smem), B = K (ldmatrix, no trans)
//   online softmax in fp32 registers, exp2 with scale * log2(e) folded in
//   O += P V       A = P straight from the S accumulators (packed to 16 bit),
//                  B = V (ldmatrix.trans)
// K/V tiles are double-buffered in shared memory and filled with 16-byte
// cp.async copies one tile ahead, so one __syncthreads per key tile suffices.
// Shared rows of 64/128/256 elements use an XOR swizzle of the 16-byte chunk
// index (chunk ^ (row & 7)); 80/96-element rows are padded by one chunk
// instead (an odd chunk stride is conflict-free for ldmatrix too).
//
// Fragment layouts (g = lane / 4, c = lane % 4), m16n8k16:
//   A 16x16 (4 regs): a0 (g, 2c..2c+1)   a1 (g+8, 2c..)   a2 (g, 2c+8..)   a3 (g+8, 2c+8..)
//   B 16x8  (2 regs): b0 (k = 2c..2c+1, n = g)   b1 (k = 2c+8.., n = g)
//   C 16x8  (4 f32):  c0,c1 (g, 2c..2c+1)        c2,c3 (g+8, 2c..2c+1)
// ldmatrix.x4: lanes 8i..8i+7 give the row addresses of 8x8 matrix i; register
// i receives matrix i, lane t holding row t/4, elements 2(t%4), 2(t%4)+1
// (with .trans: elements [2(t%4)][t/4] and [2(t%4)+1][t/4]).

#include "FlashAttention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>

namespace tessel_flash {

// ---------------------------------------------------------------------------
// Per-head-dim configuration.
//   WARPS  warps per CTA; MT  16-row tiles per warp; BN keys per tile;
//   MINB   CTAs per SM for __launch_bounds__ (caps registers at 65536 /
//          (threads * MINB)).
template <int D> struct Cfg;
template <> struct Cfg<64> {
  static constexpr int WARPS = 4, MT = 2, BN = TESSEL_FLASH_D64_BN, MINB = 2;
  static constexpr bool SPIPE = true;
  // Eager rescale measured faster on H100; the sm_80 build needs the lazy
  // form's lower register pressure to stay spill-free (causal).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  static constexpr bool LAZY = true;
#else
  static constexpr bool LAZY = false;
#endif
};
template <> struct Cfg<80> {
  static constexpr int WARPS = 4, MT = 2, BN = 64, MINB = 2;
  static constexpr bool SPIPE = false;  // 5 d slices: not pairable
  static constexpr bool LAZY = true;
};
template <> struct Cfg<96> {
  static constexpr int WARPS = 4, MT = 2, BN = 64, MINB = 2;
  static constexpr bool SPIPE = true;
  static constexpr bool LAZY = true;
};
template <> struct Cfg<128> {
  static constexpr int WARPS = 4, MT = 2, BN = 64, MINB = 2;
  static constexpr bool SPIPE = true;
  static constexpr bool LAZY = true;
};
template <> struct Cfg<256> {
  static constexpr int WARPS = 8, MT = 1, BN = 32, MINB = 1;
  static constexpr bool SPIPE = true;
  static constexpr bool LAZY = true;
};

template <int D> struct Tr {
  static constexpr int WARPS = Cfg<D>::WARPS, MT = Cfg<D>::MT, BN = Cfg<D>::BN;
  static constexpr int MINB = Cfg<D>::MINB;
  static constexpr int NT = WARPS * 32;
  static constexpr int BM = WARPS * MT * 16;
  static constexpr int CH = D / 8;                // 16-byte chunks per row
  static constexpr bool SWZ = (CH % 8) == 0;      // XOR swizzle, else pad
  static constexpr int ROWB = (SWZ ? D : D + 8) * 2;  // bytes per smem row
  static constexpr int Q_BYTES = BM * ROWB;
  static constexpr int KV_BYTES = BN * ROWB;      // one K or V tile
  static constexpr int SMEM = Q_BYTES + 4 * KV_BYTES;  // Q + 2 stages x (K, V)
  static_assert(D % 16 == 0, "head dim must be a multiple of 16");
  static_assert(BN % 16 == 0, "BN must be a multiple of 16");
  static_assert((MT * 16 * CH) % 32 == 0, "store");

  // Byte offset of 16-byte chunk `ch` of row `r` in a tile.
  __device__ __forceinline__ static uint32_t off(int r, int ch) {
    return SWZ ? (uint32_t)(r * ROWB + ((ch ^ (r & 7)) << 4))
               : (uint32_t)(r * ROWB + (ch << 4));
  }
  // ldmatrix addressing. A lane addresses row (8j + r7) of a tile and 16-byte
  // chunk (c0 + hi), c0 even and compile-time, hi in {0,1}. Swizzled, the
  // physical chunk is (c0 + hi) ^ r7 == c0 ^ (hi ^ r7); and since ROWB is a
  // power of two > (c0 << 4), the whole byte offset is
  //   (row * ROWB + ((hi ^ r7) << 4)) ^ (c0 << 4).
  // So each operand needs one per-lane register, lane_base(row, hi, r7); a
  // fragment address is frag(base, c0) plus compile-time multiples of ROWB.
  __device__ __forceinline__ static uint32_t lane_base(uint32_t row, uint32_t hi,
                                                       uint32_t r7) {
    return SWZ ? row * ROWB + ((hi ^ r7) << 4) : row * ROWB + (hi << 4);
  }
  __device__ __forceinline__ static uint32_t frag(uint32_t base, int c0) {
    return SWZ ? (base ^ (uint32_t)(c0 << 4)) : base + (uint32_t)(c0 << 4);
  }
  static_assert(!SWZ || (ROWB & (ROWB - 1)) == 0, "swizzled rows: power of 2");
};

// ---------------------------------------------------------------------------
// PTX wrappers.
__device__ __forceinline__ uint32_t smem_u32(const void *p) {
  return (uint32_t)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src,
                                           int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(src), "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], uint32_t addr) {
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(addr));
}

template <bool BF16> struct Mma;
template <> struct Mma<false> {
  __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4],
                                             uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  // Two floats -> one register, `lo` in the low 16 bits (lower column).
  __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
    __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&h);
  }
};
template <> struct Mma<true> {
  __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4],
                                             uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&h);
  }
};

// threadIdx.x re-read where it is used: the volatile asm keeps the compiler
// from hoisting values derived from it out of the key loop, where they would
// occupy registers across the whole loop (and spill at d = 128).
__device__ __forceinline__ int tid_x() {
  int t;
  asm volatile("mov.u32 %0, %%tid.x;\n" : "=r"(t));
  return t;
}

__device__ __forceinline__ float ex2(float x) {  // 2^x, -inf -> +0
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Copies `ROWS` rows of D 16-bit elements (row r at g + r * stride) into a
// tile at shared address `s`; rows >= valid are zero-filled without reading.
// LPR lanes per row (CH rounded up to a power of two; lanes ch >= CH idle), so
// a thread always copies the same chunk of rows r0, r0 + STEP, ...: one smem
// offset and one global pointer per thread, and (STEP % 8 == 0) the same
// swizzle for all its rows.
template <int D, int ROWS>
__device__ __forceinline__ void load_tile(uint32_t s, const uint16_t *g,
                                          int stride, int valid, int tid) {
  using T = Tr<D>;
  constexpr int LPR = T::CH <= 8 ? 8 : T::CH <= 16 ? 16 : 32;
  constexpr int STEP = T::NT / LPR;
  static_assert(STEP % 8 == 0 && ROWS % STEP == 0, "loader shape");
  const int r0 = tid / LPR, ch = tid % LPR;
  if (ch < T::CH) {
    const uint32_t s0 = s + T::off(r0, ch);
    // g and stride are CTA-uniform (uniform registers); the per-thread part
    // is one 32-bit offset (row strides < 2^26 elements, checked on the host).
    const uint16_t *src = g + (r0 * stride + ch * 8);
#pragma unroll
    for (int i = 0; i < ROWS / STEP; ++i) {
      const bool ok = r0 + i * STEP < valid;
      cp_async16(s0 + i * STEP * T::ROWB,
                 ok ? src + (int64_t)(i * STEP) * stride : g, ok ? 16 : 0);
    }
  }
}

// ---------------------------------------------------------------------------
template <int D, bool BF16, bool CAUSAL>
__device__ __forceinline__ void flash_fwd_body(const TesselFlashParams &p) {
  using T = Tr<D>;
  using M = Mma<BF16>;
  constexpr int MT = T::MT, BN = T::BN, BM = T::BM, NT = T::NT;
  constexpr int NS = BN / 8;  // n8 tiles of S per row tile
  constexpr int NO = D / 8;   // n8 tiles of O per row tile
  constexpr float NEG_INF = -INFINITY;

  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t sQ = smem_u32(smem);
  const uint32_t sKV = sQ + T::Q_BYTES;  // stage s: K at sKV + s*2*KV, V after

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, c = lane & 3;
#ifndef TESSEL_FLASH_NO_REVERSE
  // Causal: the last query blocks see the most keys; start them first.
  const int mb = CAUSAL ? (int)(gridDim.x - 1 - blockIdx.x) : (int)blockIdx.x;
#else
  const int mb = (int)blockIdx.x;
#endif
  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (p.num_heads / p.num_kv_heads);
  const int m0 = mb * BM;
  const int seq_q = p.seq_q, seq_kv = p.seq_kv;
  const int off = seq_kv - seq_q;  // query i's diagonal key is i + off
  const int wl = p.window_left;
  int kv_len = seq_kv;
  if (p.seqlens_k) kv_len = max(0, min(kv_len, __ldg(p.seqlens_k + b)));

  // Keys [key_lo, key_hi) hold every key visible to some row of this CTA.
  int key_hi = kv_len;
  if (CAUSAL) key_hi = min(key_hi, min(m0 + BM, seq_q) + off);
  const int key_lo = wl >= 0 ? max(0, m0 + off - wl) : 0;
  const int t_begin = key_lo / BN;
  const int t_end = key_hi > 0 ? (key_hi + BN - 1) / BN : 0;

  const uint16_t *qg = (const uint16_t *)p.q + b * p.q_batch_stride +
                       h * p.q_head_stride + (int64_t)m0 * p.q_row_stride;
  const uint16_t *kg = (const uint16_t *)p.k + b * p.k_batch_stride +
                       hk * p.k_head_stride;
  const uint16_t *vg = (const uint16_t *)p.v + b * p.v_batch_stride +
                       hk * p.v_head_stride;
  uint16_t *og = (uint16_t *)p.o + b * p.o_batch_stride + h * p.o_head_stride +
                 (int64_t)m0 * p.o_row_stride;
  const int rows_here = min(BM, seq_q - m0);

  if (t_begin >= t_end) {  // no visible key for any row: o = 0, lse = -inf
    for (int idx = tid; idx < rows_here * T::CH; idx += NT) {
      const int r = idx / T::CH, ch = idx % T::CH;
      *reinterpret_cast<uint4 *>(og + (int64_t)r * p.o_row_stride + ch * 8) =
          make_uint4(0, 0, 0, 0);
    }
    if (p.lse)
      for (int r = tid; r < rows_here; r += NT)
        p.lse[((int64_t)b * p.num_heads + h) * seq_q + m0 + r] = NEG_INF;
    return;
  }

  // Prologue: Q and the first K/V tile in one cp.async group.
  load_tile<D, BM>(sQ, qg, (int)p.q_row_stride, seq_q - m0, tid);
  {
    const int n0 = t_begin * BN;
    load_tile<D, BN>(sKV, kg + (int64_t)n0 * p.k_row_stride,
                     (int)p.k_row_stride, kv_len - n0, tid);
    load_tile<D, BN>(sKV + T::KV_BYTES, vg + (int64_t)n0 * p.v_row_stride,
                     (int)p.v_row_stride, kv_len - n0, tid);
  }
  cp_async_commit();

  // Per-lane ldmatrix addressing (see the layout notes at the top); byte
  // offsets within the Q tile / a K or V tile.
  const uint32_t r7 = lane & 7;
  //  Q (A operand): matrix i = lane/8 -> rows +(i&1)*8, chunk +(i>>1)
  const uint32_t q_base =
      T::lane_base(warp * MT * 16 + (lane & 15), lane >> 4, r7);
  //  K (B operand, no trans): matrix i -> keys +(i>>1)*8, chunk +(i&1)
  const uint32_t k_base =
      T::lane_base(((lane >> 4) & 1) * 8 + r7, (lane >> 3) & 1, r7);
  //  V (B operand, trans): matrix i -> keys +(i&1)*8, chunk +(i>>1)
  const uint32_t v_base =
      T::lane_base(((lane >> 3) & 1) * 8 + r7, lane >> 4, r7);

  float o_acc[MT][NO][4];
  float m_s[MT][2], l_s[MT][2];  // running max (already * scale*log2e), sum
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int n = 0; n < NO; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) o_acc[mt][n][e] = 0.f;
    m_s[mt][0] = m_s[mt][1] = NEG_INF;
    l_s[mt][0] = l_s[mt][1] = 0.f;
  }
  const float sl2 = p.scale * 1.4426950408889634f;

  for (int t = t_begin; t < t_end; ++t) {
    const uint32_t stage = (uint32_t)((t - t_begin) & 1);
    cp_async_wait_all();
    __syncthreads();  // tile t visible to all; tile t-1's buffers free
    if (t + 1 < t_end) {
      const int n1 = (t + 1) * BN;
      const uint32_t s1 = sKV + (stage ^ 1u) * 2 * T::KV_BYTES;
      const int tl = tid_x();
      load_tile<D, BN>(s1, kg + (int64_t)n1 * p.k_row_stride,
                       (int)p.k_row_stride, kv_len - n1, tl);
      load_tile<D, BN>(s1 + T::KV_BYTES, vg + (int64_t)n1 * p.v_row_stride,
                       (int)p.v_row_stride, kv_len - n1, tl);
      cp_async_commit();
    }
    const uint32_t sK = sKV + stage * 2 * T::KV_BYTES;
    const uint32_t sV = sK + T::KV_BYTES;

    // ---- S = Q K^T -------------------------------------------------------
    float s[MT][NS][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int n = 0; n < NS; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[mt][n][e] = 0.f;
    if constexpr (Cfg<D>::SPIPE) {
      // Rolled loop over pairs of 16-wide d slices with the fragments of the
      // next MMA group loaded one group ahead (Q: one slice ahead, K: one
      // 16-key block ahead). ptxas does not pipeline across iterations of a
      // rolled loop, so at most two fragment sets are live: this is what
      // keeps d = 128 within 255 registers without spills.
      constexpr int KD = D / 16, NB = BN / 16;
      static_assert(KD % 2 == 0 && NB % 2 == 0, "SPIPE shape");
      uint32_t qf[2][MT][4], kf[2][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
        ldsm_x4(qf[0][mt], sQ + T::frag(q_base, 0) + mt * 16 * T::ROWB);
      ldsm_x4(kf[0], sK + T::frag(k_base, 0));
#pragma unroll 1
      for (int kk = 0; kk < KD; kk += 2) {
#pragma unroll
        for (int h2 = 0; h2 < 2; ++h2) {  // slice kk + h2, Q in qf[h2]
          const int c0 = 2 * (kk + h2);
#pragma unroll
          for (int nb = 0; nb < NB; ++nb) {
            if (nb + 1 < NB) {
              ldsm_x4(kf[(nb + 1) & 1],
                      sK + T::frag(k_base, c0) + (nb + 1) * 16 * T::ROWB);
            } else if (h2 == 0 || kk + 2 < KD) {  // next slice's first block
#pragma unroll
              for (int mt = 0; mt < MT; ++mt)
                ldsm_x4(qf[h2 ^ 1][mt],
                        sQ + T::frag(q_base, c0 + 2) + mt * 16 * T::ROWB);
              ldsm_x4(kf[0], sK + T::frag(k_base, c0 + 2));
            }
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
              M::run(s[mt][2 * nb], qf[h2][mt], kf[nb & 1][0], kf[nb & 1][1]);
              M::run(s[mt][2 * nb + 1], qf[h2][mt], kf[nb & 1][2],
                     kf[nb & 1][3]);
            }
          }
        }
      }
    } else {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t qa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
          ldsm_x4(qa[mt], sQ + T::frag(q_base, 2 * kk) + mt * 16 * T::ROWB);
#pragma unroll
        for (int nb = 0; nb < BN / 16; ++nb) {
          uint32_t kb[4];
          ldsm_x4(kb, sK + T::frag(k_base, 2 * kk) + nb * 16 * T::ROWB);
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            M::run(s[mt][2 * nb], qa[mt], kb[0], kb[1]);
            M::run(s[mt][2 * nb + 1], qa[mt], kb[2], kb[3]);
          }
        }
      }
    }

    // ---- masking, only on tiles that straddle a boundary -------------------
    const int n0 = t * BN;
    const bool need_mask = (n0 + BN > kv_len) ||
                           (CAUSAL && n0 + BN - 1 > m0 + off) ||
                           (wl >= 0 && n0 < m0 + BM - 1 + off - wl);
    if (need_mask) {
      const int tl = tid_x(), cl = tl & 3;
      const int row0 = m0 + (tl >> 5) * MT * 16 + ((tl & 31) >> 2);
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          const int i = row0 + mt * 16 + hh * 8;
          int hi = kv_len - 1;
          if (CAUSAL) hi = min(hi, i + off);
          const int lo = wl >= 0 ? i + off - wl : n0;
          const int lim_hi = hi - n0 - 2 * cl, lim_lo = lo - n0 - 2 * cl;
#pragma unroll
          for (int n = 0; n < NS; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int col = n * 8 + e;
              if (col > lim_hi || col < lim_lo) s[mt][n][2 * hh + e] = NEG_INF;
            }
        }
    }

    // ---- online softmax (fp32, base 2) ---------------------------------------
    uint32_t pk[MT][NS][2];  // P packed to 16 bit: [n8 tile][row g / g+8]
    float alphas[MT][2];  // LAZY only
    bool changed = false;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        float mx = NEG_INF;
#pragma unroll
        for (int n = 0; n < NS; ++n)
          mx = fmaxf(mx, fmaxf(s[mt][n][2 * hh], s[mt][n][2 * hh + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(m_s[mt][hh], mx * sl2);
        const float ms = m_new == NEG_INF ? 0.f : m_new;  // all masked so far
        const float m_old = m_s[mt][hh];
        const float alpha = ex2(m_old - ms);
        m_s[mt][hh] = m_new;
        float sum = 0.f;
#pragma unroll
        for (int n = 0; n < NS; ++n) {
          const float p0 = ex2(fmaf(s[mt][n][2 * hh], sl2, -ms));
          const float p1 = ex2(fmaf(s[mt][n][2 * hh + 1], sl2, -ms));
          sum += p0 + p1;
          pk[mt][n][hh] = M::pack(p0, p1);  // P as the A operand of P V
        }
        l_s[mt][hh] = l_s[mt][hh] * alpha + sum;  // per-lane partial sum
        if constexpr (!Cfg<D>::LAZY) {
#pragma unroll
          for (int n = 0; n < NO; ++n) {
            o_acc[mt][n][2 * hh] *= alpha;
            o_acc[mt][n][2 * hh + 1] *= alpha;
          }
        } else {
          alphas[mt][hh] = alpha;
          changed |= m_new != m_old;
        }
      }
    // LAZY: rescale O only when some row of the warp got a new maximum
    // (alpha == 1 for all its rows otherwise); after the first few key tiles
    // the running maxima rarely move, so most tiles skip the D/2 FMULs.
    if (Cfg<D>::LAZY && __any_sync(0xffffffffu, changed)) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int n = 0; n < NO; ++n) {
          o_acc[mt][n][0] *= alphas[mt][0];
          o_acc[mt][n][1] *= alphas[mt][0];
          o_acc[mt][n][2] *= alphas[mt][1];
          o_acc[mt][n][3] *= alphas[mt][1];
        }
    }

    // ---- O += P V --------------------------------------------------------------
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      // A fragment of P for keys 16kk..16kk+15: a0 (g, 2c..) and a1 (g+8, 2c..)
      // from n8 tile 2kk, a2 / a3 (same rows, keys +8) from tile 2kk+1.
      uint32_t pa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        pa[mt][0] = pk[mt][2 * kk][0];
        pa[mt][1] = pk[mt][2 * kk][1];
        pa[mt][2] = pk[mt][2 * kk + 1][0];
        pa[mt][3] = pk[mt][2 * kk + 1][1];
      }
#pragma unroll
      for (int dn = 0; dn < D / 16; ++dn) {
        uint32_t vb[4];
        ldsm_x4_t(vb, sV + T::frag(v_base, 2 * dn) + kk * 16 * T::ROWB);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          M::run(o_acc[mt][2 * dn], pa[mt], vb[0], vb[1]);
          M::run(o_acc[mt][2 * dn + 1], pa[mt], vb[2], vb[3]);
        }
      }
    }
  }

  // ---- epilogue: 1/l, stage through this warp's own Q rows, 16-byte stores --
  float inv[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float l = l_s[mt][hh];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      inv[mt][hh] = l > 0.f ? 1.f / l : 0.f;
      if (p.lse && c == 0) {
        const int i = m0 + warp * MT * 16 + g + mt * 16 + hh * 8;
        if (i < seq_q)
          p.lse[((int64_t)b * p.num_heads + h) * seq_q + i] =
              l > 0.f ? (m_s[mt][hh] + __log2f(l)) * 0.6931471805599453f
                      : NEG_INF;
      }
    }
  __syncwarp();  // every lane's last ldmatrix of its Q rows is done
  unsigned char *sOw = smem + warp * MT * 16 * T::ROWB;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int r = mt * 16 + hh * 8 + g;  // row within the warp; r & 7 == g
#pragma unroll
      for (int n = 0; n < NO; ++n) {
        const uint32_t v = M::pack(o_acc[mt][n][2 * hh] * inv[mt][hh],
                                   o_acc[mt][n][2 * hh + 1] * inv[mt][hh]);
        *reinterpret_cast<uint32_t *>(sOw + T::off(r, n) + 4 * c) = v;
      }
    }
  __syncwarp();
  const int wrow0 = warp * MT * 16;
#pragma unroll
  for (int i = 0; i < MT * 16 * T::CH / 32; ++i) {
    const int idx = lane + i * 32;
    const int r = idx / T::CH, ch = idx % T::CH;
    if (wrow0 + r < rows_here) {
      const uint4 v = *reinterpret_cast<const uint4 *>(sOw + T::off(r, ch));
      *reinterpret_cast<uint4 *>(og + (int64_t)(wrow0 + r) * p.o_row_stride +
                                 ch * 8) = v;
    }
  }
}

}  // namespace tessel_flash

// ---------------------------------------------------------------------------
// The kernels, one extern "C" name per (head dim, type, causal): the runtime
// finds them by name in the fatbin.
#define TESSEL_FLASH_KERNEL(D, BF16, CAUSAL, NAME)                            \
  extern "C" __global__ void __launch_bounds__(tessel_flash::Tr<D>::NT,      \
                                               tessel_flash::Tr<D>::MINB)    \
      NAME(const TesselFlashParams p) {                                        \
    tessel_flash::flash_fwd_body<D, BF16, CAUSAL>(p);                          \
  }
#define TESSEL_FLASH_KERNELS(D)                                                \
  TESSEL_FLASH_KERNEL(D, false, false, tessel_flash_fwd_d##D##_f16_full)       \
  TESSEL_FLASH_KERNEL(D, false, true, tessel_flash_fwd_d##D##_f16_causal)      \
  TESSEL_FLASH_KERNEL(D, true, false, tessel_flash_fwd_d##D##_bf16_full)       \
  TESSEL_FLASH_KERNEL(D, true, true, tessel_flash_fwd_d##D##_bf16_causal)
TESSEL_FLASH_KERNELS(64)
TESSEL_FLASH_KERNELS(80)
TESSEL_FLASH_KERNELS(96)
TESSEL_FLASH_KERNELS(128)
TESSEL_FLASH_KERNELS(256)

// The launch shapes must agree with the kernels' compile-time tiles.
static_assert(TESSEL_FLASH_BLOCK_M(64) == tessel_flash::Tr<64>::BM &&
                  TESSEL_FLASH_BLOCK_M(80) == tessel_flash::Tr<80>::BM &&
                  TESSEL_FLASH_BLOCK_M(96) == tessel_flash::Tr<96>::BM &&
                  TESSEL_FLASH_BLOCK_M(128) == tessel_flash::Tr<128>::BM &&
                  TESSEL_FLASH_BLOCK_M(256) == tessel_flash::Tr<256>::BM,
              "TESSEL_FLASH_BLOCK_M");
static_assert(TESSEL_FLASH_THREADS(64) == tessel_flash::Tr<64>::NT &&
                  TESSEL_FLASH_THREADS(80) == tessel_flash::Tr<80>::NT &&
                  TESSEL_FLASH_THREADS(96) == tessel_flash::Tr<96>::NT &&
                  TESSEL_FLASH_THREADS(128) == tessel_flash::Tr<128>::NT &&
                  TESSEL_FLASH_THREADS(256) == tessel_flash::Tr<256>::NT,
              "TESSEL_FLASH_THREADS");
static_assert(TESSEL_FLASH_SMEM(64) == tessel_flash::Tr<64>::SMEM &&
                  TESSEL_FLASH_SMEM(80) == tessel_flash::Tr<80>::SMEM &&
                  TESSEL_FLASH_SMEM(96) == tessel_flash::Tr<96>::SMEM &&
                  TESSEL_FLASH_SMEM(128) == tessel_flash::Tr<128>::SMEM &&
                  TESSEL_FLASH_SMEM(256) == tessel_flash::Tr<256>::SMEM,
              "TESSEL_FLASH_SMEM");

#ifndef TESSEL_FLASH_DEVICE_ONLY
// ---------------------------------------------------------------------------
// The standalone library's entry point (CUDA runtime launches).
#include <cuda_runtime.h>

namespace {

using Kernel = void (*)(TesselFlashParams);

Kernel kernelFor(int headDim, int dtype, int causal) {
#define TESSEL_FLASH_PICK(D)                                                   \
  case D:                                                                      \
    return dtype == 0 ? (causal ? tessel_flash_fwd_d##D##_f16_causal           \
                                : tessel_flash_fwd_d##D##_f16_full)            \
                      : (causal ? tessel_flash_fwd_d##D##_bf16_causal          \
                                : tessel_flash_fwd_d##D##_bf16_full);
  switch (headDim) {
    TESSEL_FLASH_PICK(64)
    TESSEL_FLASH_PICK(80)
    TESSEL_FLASH_PICK(96)
    TESSEL_FLASH_PICK(128)
    TESSEL_FLASH_PICK(256)
  }
#undef TESSEL_FLASH_PICK
  return nullptr;
}

} // namespace

extern "C" TESSEL_FLASH_API int tessel_flash_attention_smem_bytes(int head_dim) {
  return tessel_flash_smem_bytes(head_dim);
}

extern "C" TESSEL_FLASH_API int tessel_flash_attention_fwd(
    const TesselFlashParams *params, void *stream) {
  const int bad = (int)cudaErrorInvalidValue;
  if (!params) return bad;
  TesselFlashParams p = *params;
  TesselFlashLaunch shape;
  int check = tessel_flash_prepare(&p, &shape);
  if (check < 0) return bad;
  if (check == 0) return 0;  // nothing to compute
  Kernel kernel = kernelFor(p.head_dim, p.dtype, p.causal);
  int dev = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err != cudaSuccess) return (int)err;
  // The attribute is per device and kernel; setting it twice is harmless,
  // so a plain flag array (benign race) keeps the call off the hot path.
  static volatile bool attr_done[64][5][2][2] = {};
  const int di = p.head_dim == 64 ? 0 : p.head_dim == 80 ? 1
               : p.head_dim == 96 ? 2 : p.head_dim == 128 ? 3 : 4;
  volatile bool *done = dev < 64 ? &attr_done[dev][di][p.dtype][p.causal ? 1 : 0]
                                 : nullptr;
  if (!done || !*done) {
    err = cudaFuncSetAttribute(kernel,
                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                               shape.smem_bytes);
    if (err != cudaSuccess) return (int)err;
    if (done) *done = true;
  }
  kernel<<<dim3(shape.grid[0], shape.grid[1], shape.grid[2]), shape.threads,
           shape.smem_bytes, (cudaStream_t)stream>>>(p);
  return (int)cudaGetLastError();
}
#endif  // TESSEL_FLASH_DEVICE_ONLY
