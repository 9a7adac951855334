#!/usr/bin/env python3
"""Where a small decode step's time goes (batch 1): event-timed device time
of the decode libraries against read-only and copy kernels moving the same
bytes, and the floor of the timing itself (an empty kernel).

    python3 decode_probe.py --lib A.so [--lib B.so ...]
    ncu --profile-from-start off --clock-control none \\
        --metrics gpu__time_duration.sum,dram__bytes_read.sum \\
        python3 decode_probe.py --lib A.so --ncu

--trace: the first library is a -DDECODE_TRACE build; prints its per-CTA
timeline (globaltimer at entry, length read, loads issued, first stage
landed, loop done, partial written, counter returned, done), in us from
the first CTA's start: median / max over CTAs, after an L2 flush.
--ncu: no event timing; each kernel runs three times inside a profiler
range (cudaProfilerStart/Stop) so ncu reports kernel durations alone.
"""

import argparse
import math

import torch

from decode_bench import Decode, make_cache
from gpu_timing import copy_bandwidth_tb_s, time_ms

CONFIGS = ((8, 1024), (8, 8192), (8, 16384), (8, 32768), (32, 2048), (32, 8192))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", action="append", required=True)
    ap.add_argument("--ncu", action="store_true")
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    decs = [Decode(path) for path in args.lib]
    d, h, bt, dtype = 128, 32, 16, torch.float16
    copy_tb = None if args.ncu else copy_bandwidth_tb_s()
    if copy_tb:
        empty = time_ms(lambda _: torch.cuda._sleep(1), [0], 50)
        print("copy %.2f TB/s; empty kernel %.1f us" % (copy_tb, 1e3 * empty), flush=True)
    work = []
    for hkv, ctx in CONFIGS:
        kv_bytes = 2 * ctx * hkv * d * 2
        n_sets = 1 if args.ncu else max(1, min(32, math.ceil(256e6 / kv_bytes)))
        sets = []
        for _ in range(n_sets):
            kc, vc, tables, _ = make_cache(1, hkv, d, [ctx], bt, dtype, extra_blocks=0)
            q = torch.randn(1, h, d, device="cuda", dtype=dtype)
            out = torch.empty_like(q)
            lens = torch.tensor([ctx], dtype=torch.int32, device="cuda")
            per_lib = [dec.prepare(q, kc, vc, tables, lens, ctx, out) for dec in decs]
            flat = torch.randn(kv_bytes // 2, device="cuda").to(dtype)
            half = torch.empty(kv_bytes // 4, device="cuda", dtype=dtype)
            sets.append((per_lib, kc, vc, flat, half, q, out, tables, lens))  # keep alive
        work.append((hkv, ctx, kv_bytes, sets))
    torch.cuda.synchronize()
    if args.trace:
        trace(decs[0], work)
        return
    if args.ncu:
        torch.cuda.cudart().cudaProfilerStart()
    for hkv, ctx, kv_bytes, sets in work:
        cols = []
        for i, dec in enumerate(decs):
            fn = lambda s: dec.run(s[0][i][0])
            if args.ncu:
                for _ in range(3):
                    fn(sets[0])
            else:
                ms = time_ms(fn, sets, reps=30)
                cols.append("lib%d %.1f us (%.0f%%)" % (i, 1e3 * ms, 100 * kv_bytes / ms / 1e9 / copy_tb))
        refs = (("sum", lambda s: s[3].sum(dtype=torch.float32)),
                ("copy", lambda s: s[4].copy_(s[3][:kv_bytes // 4])))
        for name, fn in refs:
            if args.ncu:
                for _ in range(3):
                    fn(sets[0])
            else:
                ms = time_ms(fn, sets, reps=30)
                cols.append("%s %.1f us (%.0f%%)" % (name, 1e3 * ms, 100 * kv_bytes / ms / 1e9 / copy_tb))
        if not args.ncu:
            print("kv%d ctx%d (%.1f MB): %s" % (hkv, ctx, kv_bytes / 1e6, ", ".join(cols)), flush=True)
    torch.cuda.synchronize()
    if args.ncu:
        torch.cuda.cudart().cudaProfilerStop()


def trace(dec, work):
    import ctypes
    fn = dec.lib.tessel_decode_trace
    n = 8192
    buf = (ctypes.c_ulonglong * (n * 8))()
    flush = torch.empty(1 << 26, device="cuda")
    names = ("len", "issued", "stage0", "loop", "partial", "ticket", "done")
    for hkv, ctx, kv_bytes, sets in work:
        for rep in range(3):
            flush.zero_()
            torch.cuda.synchronize()
            fn(buf, n)  # clear
            dec.run(sets[rep % len(sets)][0][0][0])
            torch.cuda.synchronize()
            assert fn(buf, n) == 0
        t = torch.tensor(list(buf), dtype=torch.float64).view(n, 8)
        t = t[t[:, 0] > 0]
        t0 = t[:, 0].min()
        rel = (t - t0) / 1e3
        cols = []
        for i, name in enumerate(names, 1):
            v = rel[:, i][t[:, i] > 0]
            if len(v):
                cols.append("%s %.1f/%.1f" % (name, v.median(), v.max()))
        starts = rel[:, 0]
        print("kv%d ctx%d (%d CTAs traced): start med/max %.1f/%.1f, %s" % (
            hkv, ctx, len(t), starts.median(), starts.max(), ", ".join(cols)), flush=True)


if __name__ == "__main__":
    main()
