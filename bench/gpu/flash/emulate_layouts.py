#!/usr/bin/env python3
"""CPU desk-check of flash_attn.cu's shared-memory layout and fragment
mapping (numpy only, no GPU):

1. For every head dim config, every lane's ldmatrix address computed the
   kernel's way (Tr::lane_base / Tr::frag + compile-time row offsets) equals
   Tr::off(row, chunk) of the (row, chunk) that lane must supply, and each
   8-lane ldmatrix phase hits 8 distinct 16-byte bank groups.
2. A warp-level emulation of one key tile: tiles are written into a byte
   image of shared memory through Tr::off (as cp.async does), fragments are
   read back with emulated ldmatrix / ldmatrix.trans (PTX semantics), S = Q K^T
   and O += P V are formed with an emulated mma.m16n8k16 (PTX fragment
   layouts), P taken straight from the S accumulators as the kernel does; the
   result must equal numpy's Q K^T and P V.

    python3 bench/gpu/flash/emulate_layouts.py
"""
import numpy as np

CONFIGS = {64: (2, 128, 4), 80: (2, 64, 4), 96: (2, 64, 4), 128: (2, 64, 4), 256: (1, 32, 8)}


class Tr:
    def __init__(self, d):
        self.D = d
        self.MT, self.BN, self.WARPS = CONFIGS[d]
        self.CH = d // 8
        self.SWZ = self.CH % 8 == 0
        self.ROWB = (d if self.SWZ else d + 8) * 2

    def off(self, r, ch):
        return r * self.ROWB + (((ch ^ (r & 7)) if self.SWZ else ch) << 4)

    def lane_base(self, row, hi, r7):
        return row * self.ROWB + (((hi ^ r7) if self.SWZ else hi) << 4)

    def frag(self, base, c0):
        return base ^ (c0 << 4) if self.SWZ else base + (c0 << 4)


def store_tile(smem, base, tile, t):  # rows x D halves -> smem via off()
    for r in range(tile.shape[0]):
        for ch in range(t.CH):
            a = (base + t.off(r, ch)) // 2
            smem[a:a + 8] = tile[r, ch * 8:(ch + 1) * 8]


def ldmatrix_x4(smem, addrs, trans=False):
    """addrs[32] byte addresses -> 4 registers x 32 lanes x 2 values."""
    out = np.zeros((4, 32, 2))
    for i in range(4):
        m = np.stack([smem[addrs[8 * i + j] // 2: addrs[8 * i + j] // 2 + 8] for j in range(8)])
        if trans:
            m = m.T
        for t in range(32):
            out[i, t] = m[t // 4, 2 * (t % 4): 2 * (t % 4) + 2]
    return out


def mma(acc, a, b):
    """acc[32,4] += A(16x16) B(16x8); a: 4 regs x 32 x 2, b: 2 regs x 32 x 2."""
    A, B, C = np.zeros((16, 16)), np.zeros((16, 8)), np.zeros((16, 8))
    for t in range(32):
        g, c = t // 4, t % 4
        for e in range(2):
            A[g, 2 * c + e], A[g + 8, 2 * c + e] = a[0, t, e], a[1, t, e]
            A[g, 2 * c + 8 + e], A[g + 8, 2 * c + 8 + e] = a[2, t, e], a[3, t, e]
            B[2 * c + e, g], B[2 * c + 8 + e, g] = b[0, t, e], b[1, t, e]
            C[g, 2 * c + e], C[g + 8, 2 * c + e] = acc[t, e], acc[t, 2 + e]
    D = A @ B + C
    for t in range(32):
        g, c = t // 4, t % 4
        acc[t] = [D[g, 2 * c], D[g, 2 * c + 1], D[g + 8, 2 * c], D[g + 8, 2 * c + 1]]


def emulate_warp(d, warp, rng):
    t = Tr(d)
    MT, BN, BM = t.MT, t.BN, t.WARPS * t.MT * 16
    q = rng.standard_normal((BM, d)).round(2)
    k = rng.standard_normal((BN, d)).round(2)
    v = rng.standard_normal((BN, d)).round(2)
    sQ, sK, sV = 0, BM * t.ROWB, BM * t.ROWB + BN * t.ROWB
    smem = np.full((sV + BN * t.ROWB) // 2, np.nan)
    store_tile(smem, sQ, q, t); store_tile(smem, sK, k, t); store_tile(smem, sV, v, t)
    lanes = np.arange(32)
    r7 = lanes & 7
    q_base = [t.lane_base(warp * MT * 16 + (l & 15), l >> 4, l & 7) for l in lanes]
    k_base = [t.lane_base(((l >> 4) & 1) * 8 + (l & 7), (l >> 3) & 1, l & 7) for l in lanes]
    v_base = [t.lane_base(((l >> 3) & 1) * 8 + (l & 7), l >> 4, l & 7) for l in lanes]
    del r7
    s = np.zeros((MT, BN // 8, 32, 4))
    for kk in range(d // 16):
        qa = [ldmatrix_x4(smem, [sQ + t.frag(b, 2 * kk) + mt * 16 * t.ROWB for b in q_base])
              for mt in range(MT)]
        for nb in range(BN // 16):
            kb = ldmatrix_x4(smem, [sK + t.frag(b, 2 * kk) + nb * 16 * t.ROWB for b in k_base])
            for mt in range(MT):
                mma(s[mt, 2 * nb], qa[mt], kb[0:2])
                mma(s[mt, 2 * nb + 1], qa[mt], kb[2:4])
    # gather S back to a matrix and compare
    rows = slice(warp * MT * 16, (warp + 1) * MT * 16)
    S = np.zeros((MT * 16, BN))
    for mt in range(MT):
        for n in range(BN // 8):
            for l in lanes:
                g, c = l // 4, l % 4
                S[mt * 16 + g, n * 8 + 2 * c: n * 8 + 2 * c + 2] = s[mt, n, l, 0:2]
                S[mt * 16 + g + 8, n * 8 + 2 * c: n * 8 + 2 * c + 2] = s[mt, n, l, 2:4]
    err_s = np.abs(S - q[rows] @ k.T).max()
    # P = S (any values will do) used directly as the A operand of P V
    o = np.zeros((MT, d // 8, 32, 4))
    for kk in range(BN // 16):
        pa = []
        for mt in range(MT):
            a = np.zeros((4, 32, 2))
            a[0], a[1] = s[mt, 2 * kk][:, 0:2], s[mt, 2 * kk][:, 2:4]
            a[2], a[3] = s[mt, 2 * kk + 1][:, 0:2], s[mt, 2 * kk + 1][:, 2:4]
            pa.append(a)
        for dn in range(d // 16):
            vb = ldmatrix_x4(smem, [sV + t.frag(b, 2 * dn) + kk * 16 * t.ROWB for b in v_base],
                             trans=True)
            for mt in range(MT):
                mma(o[mt, 2 * dn], pa[mt], vb[0:2])
                mma(o[mt, 2 * dn + 1], pa[mt], vb[2:4])
    O = np.zeros((MT * 16, d))
    for mt in range(MT):
        for n in range(d // 8):
            for l in lanes:
                g, c = l // 4, l % 4
                O[mt * 16 + g, n * 8 + 2 * c: n * 8 + 2 * c + 2] = o[mt, n, l, 0:2]
                O[mt * 16 + g + 8, n * 8 + 2 * c: n * 8 + 2 * c + 2] = o[mt, n, l, 2:4]
    err_o = np.abs(O - S @ v).max() / np.abs(S @ v).max()
    return err_s, err_o


def address_check():
    bad = 0
    for d in CONFIGS:
        t = Tr(d)
        for warp in range(t.WARPS):
            for lane in range(32):
                i = lane >> 3
                qb = t.lane_base(warp * t.MT * 16 + (lane & 15), lane >> 4, lane & 7)
                kb = t.lane_base(((lane >> 4) & 1) * 8 + (lane & 7), (lane >> 3) & 1, lane & 7)
                vb = t.lane_base(((lane >> 3) & 1) * 8 + (lane & 7), lane >> 4, lane & 7)
                for kk in range(d // 16):
                    for mt in range(t.MT):
                        bad += t.off(warp * t.MT * 16 + mt * 16 + (i & 1) * 8 + (lane & 7),
                                     2 * kk + (i >> 1)) != t.frag(qb, 2 * kk) + mt * 16 * t.ROWB
                    for nb in range(t.BN // 16):
                        bad += t.off(nb * 16 + (i >> 1) * 8 + (lane & 7), 2 * kk + (i & 1)) \
                            != t.frag(kb, 2 * kk) + nb * 16 * t.ROWB
                for kk in range(t.BN // 16):
                    for dn in range(d // 16):
                        bad += t.off(kk * 16 + (i & 1) * 8 + (lane & 7), 2 * dn + (i >> 1)) \
                            != t.frag(vb, 2 * dn) + kk * 16 * t.ROWB
        for r0 in range(0, 64, 8):  # one ldmatrix phase: 8 rows, same chunk
            for ch in range(t.CH):
                bad += len({(t.off(r0 + j, ch) // 16) % 8 for j in range(8)}) != 8
        print(f"d={d}: {'XOR swizzle' if t.SWZ else 'padded rows'}, row {t.ROWB} B: "
              f"{'addresses ok, conflict-free' if bad == 0 else f'{bad} BAD'}")
    return bad == 0


if __name__ == "__main__":
    ok = address_check()
    rng = np.random.default_rng(0)
    for d in CONFIGS:
        es, eo = emulate_warp(d, warp=CONFIGS[d][2] - 1, rng=rng)
        good = es < 1e-9 and eo < 1e-12
        ok &= good
        print(f"d={d}: emulated S = Q K^T max err {es:.1e}, O = P V rel err {eo:.1e} "
              f"{'ok' if good else 'BAD'}")
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)
