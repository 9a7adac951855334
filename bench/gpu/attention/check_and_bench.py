#!/usr/bin/env python3
"""Checks and times tessel's tensor-core attention kernel (flash_fwd.cu).

    python3 bench/gpu/attention/check_and_bench.py --lib libtessel_flash.so \
        --out DIR [--quick]

1. Correctness: fresh random inputs for every supported head dim, fp16 and
   bf16, MHA / GQA / MQA, no mask / causal / causal + sliding window, equal and
   unequal query/key lengths, ragged per-batch key lengths, [B,H,S,D] and
   [B,S,H,D] layouts; output poisoned with NaN before each call; compared with
   a float64 reference by relative L2 error (fp16 <= 5e-3, bf16 <= 1e-2), no
   NaN, rows without a visible key exactly 0.
2. Benchmark, in the same run: PyTorch SDPA with the flash backend
   (FlashAttention-2) and the cuDNN backend, fp16/bf16, head dim 64/128,
   seq 1k-16k (batch * seq = 16k tokens), 32 heads, MHA and GQA 32/8, causal
   and not: TFLOP/s (4 * B * H * visible query-key pairs * D) and ratios.
   Ceilings measured alongside: device-to-device copy bandwidth and a cuBLAS
   fp16 GEMM.
Writes DIR/flash-check.json, DIR/flash-bench.json and DIR/flash-bench.md.
"""

import argparse
import ctypes
import datetime
import json
import math
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

from gpu_timing import copy_bandwidth_tb_s, time_ms


class Params(ctypes.Structure):
    _fields_ = [
        ("q", ctypes.c_void_p), ("k", ctypes.c_void_p), ("v", ctypes.c_void_p),
        ("o", ctypes.c_void_p), ("lse", ctypes.c_void_p),
        ("seqlens_k", ctypes.c_void_p), ("dtype", ctypes.c_int),
        ("batch", ctypes.c_int), ("num_heads", ctypes.c_int),
        ("num_kv_heads", ctypes.c_int), ("seq_q", ctypes.c_int),
        ("seq_kv", ctypes.c_int), ("head_dim", ctypes.c_int),
        ("q_batch_stride", ctypes.c_int64), ("q_head_stride", ctypes.c_int64),
        ("q_row_stride", ctypes.c_int64),
        ("k_batch_stride", ctypes.c_int64), ("k_head_stride", ctypes.c_int64),
        ("k_row_stride", ctypes.c_int64),
        ("v_batch_stride", ctypes.c_int64), ("v_head_stride", ctypes.c_int64),
        ("v_row_stride", ctypes.c_int64),
        ("o_batch_stride", ctypes.c_int64), ("o_head_stride", ctypes.c_int64),
        ("o_row_stride", ctypes.c_int64),
        ("scale", ctypes.c_float), ("causal", ctypes.c_int),
        ("window_left", ctypes.c_int),
    ]


class Flash:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.tessel_flash_attention_fwd.argtypes = [
            ctypes.POINTER(Params), ctypes.c_void_p]
        self.lib.tessel_flash_attention_fwd.restype = ctypes.c_int

    def params(self, q, k, v, o, layout, causal, window, seqlens=None):
        """q/k/v/o as [B,H,S,D] (layout 'bhsd') or [B,S,H,D] ('bshd')."""
        p = Params()
        p.q, p.k, p.v, p.o = q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr()
        p.lse = None
        p.seqlens_k = seqlens.data_ptr() if seqlens is not None else None
        p.dtype = 1 if q.dtype == torch.bfloat16 else 0
        if layout == "bhsd":
            b, h, sq, d = q.shape
            hkv, skv = k.shape[1], k.shape[2]
            idx = (0, 1, 2)
        else:
            b, sq, h, d = q.shape
            skv, hkv = k.shape[1], k.shape[2]
            idx = (0, 2, 1)
        p.batch, p.num_heads, p.num_kv_heads = b, h, hkv
        p.seq_q, p.seq_kv, p.head_dim = sq, skv, d
        for name, t in (("q", q), ("k", k), ("v", v), ("o", o)):
            st = t.stride()
            setattr(p, name + "_batch_stride", st[idx[0]])
            setattr(p, name + "_head_stride", st[idx[1]])
            setattr(p, name + "_row_stride", st[idx[2]])
        p.scale = 1.0 / math.sqrt(d)
        p.causal = int(causal)
        p.window_left = window
        return p

    def run(self, p):
        stream = torch.cuda.current_stream().cuda_stream
        rc = self.lib.tessel_flash_attention_fwd(ctypes.byref(p), stream)
        if rc != 0:
            raise RuntimeError("tessel_flash_attention_fwd returned %d" % rc)


def reference(q, k, v, causal, window, seqlens):
    """float64 attention over [B,H,S,D]; rows with no visible key give 0."""
    q, k, v = q.double(), k.double(), v.double()
    b, h, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    k = k.repeat_interleave(h // hkv, dim=1)
    v = v.repeat_interleave(h // hkv, dim=1)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(d)
    i = torch.arange(sq, device=q.device)[:, None] + (skv - sq)
    j = torch.arange(skv, device=q.device)[None, :]
    visible = torch.ones(sq, skv, dtype=torch.bool, device=q.device)
    if causal:
        visible &= j <= i
    if window >= 0:
        visible &= j >= i - window
    visible = visible[None, None].expand(b, h, sq, skv).clone()
    if seqlens is not None:
        for bi in range(b):
            visible[bi, :, :, int(seqlens[bi]):] = False
    s = s.masked_fill(~visible, float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)
    return p @ v, visible.any(-1)


def check(flash, quick):
    cases = []
    dims = [64, 128]
    shapes = [(2, 128, 128), (1, 333, 333), (2, 17, 1000), (1, 100, 300),
              (3, 64, 200), (1, 1, 77), (1, 300, 100), (1, 1000, 1000)]
    if quick:
        shapes = shapes[:3]
    heads = [(8, 8), (8, 2), (8, 1)]
    masks = [(False, -1), (True, -1), (True, 37)]
    failures = 0
    gen = torch.Generator(device="cuda")
    gen.manual_seed(int.from_bytes(os.urandom(4), "little"))
    for dtype in (torch.float16, torch.bfloat16):
        for d in dims:
            for (b, sq, skv) in shapes:
                for (h, hkv) in heads:
                    for causal, window in masks:
                        for layout in ("bhsd", "bshd"):
                            ragged = (b, sq, skv) == (3, 64, 200)
                            seqlens = (torch.tensor([200, 77, 1][:b], dtype=torch.int32,
                                                    device="cuda") if ragged else None)
                            shp = lambda hh, s: ((b, hh, s, d) if layout == "bhsd"
                                                 else (b, s, hh, d))
                            q = torch.randn(shp(h, sq), device="cuda", generator=gen).to(dtype)
                            k = torch.randn(shp(hkv, skv), device="cuda", generator=gen).to(dtype)
                            v = torch.randn(shp(hkv, skv), device="cuda", generator=gen).to(dtype)
                            o = torch.full_like(q, float("nan"))
                            flash.run(flash.params(q, k, v, o, layout, causal, window, seqlens))
                            torch.cuda.synchronize()
                            tr = (lambda t: t) if layout == "bhsd" else (lambda t: t.transpose(1, 2))
                            ref, has_key = reference(tr(q), tr(k), tr(v), causal, window, seqlens)
                            out = tr(o).double()
                            nan = bool(torch.isnan(out).any())
                            empty_rows_zero = bool((out[~has_key] == 0).all()) if (~has_key).any() else True
                            err = float((out - ref).norm() / ref.norm().clamp_min(1e-30))
                            limit = 1e-2 if dtype == torch.bfloat16 else 5e-3
                            ok = (not nan) and empty_rows_zero and err <= limit
                            failures += not ok
                            cases.append(dict(dtype=str(dtype).split(".")[-1], head_dim=d, batch=b,
                                              seq_q=sq, seq_kv=skv, heads=h, kv_heads=hkv,
                                              causal=causal, window=window, layout=layout,
                                              ragged=ragged, rel_l2=err, nan=nan,
                                              empty_rows_zero=empty_rows_zero, ok=ok))
                            if not ok:
                                print("FAIL", cases[-1], flush=True)
    print("correctness: %d cases, %d failures" % (len(cases), failures), flush=True)
    return cases, failures


def visible_pairs(sq, skv, causal):
    if not causal:
        return sq * skv
    return sum(min(skv, i + 1 + skv - sq) for i in range(sq))


def bench(flash, quick):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    rows = []
    seqs = [1024, 2048, 4096, 8192, 16384]
    if quick:
        seqs = [1024, 4096]
    for dtype in (torch.float16, torch.bfloat16):
        for d in (64, 128):
            for hkv in (32, 8):
                for causal in (False, True):
                    for s in seqs:
                        b, h = max(1, 16384 // s), 32
                        sets = []
                        for _ in range(3):
                            q = torch.randn(b, h, s, d, device="cuda", dtype=dtype)
                            k = torch.randn(b, hkv, s, d, device="cuda", dtype=dtype)
                            v = torch.randn(b, hkv, s, d, device="cuda", dtype=dtype)
                            sets.append((q, k, v, torch.empty_like(q)))
                        params = [flash.params(q, k, v, o, "bhsd", causal, -1) for q, k, v, o in sets]
                        ours = time_ms(flash.run, params, 20)
                        flops = 4.0 * b * h * visible_pairs(s, s, causal) * d
                        row = dict(dtype=str(dtype).split(".")[-1], head_dim=d, seq=s, batch=b,
                                   heads=h, kv_heads=hkv, causal=causal,
                                   ours_ms=ours, ours_tflops=flops / ours / 1e9)
                        for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                                              ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                            def sdpa(t, backend=backend, gqa=True):
                                q, k, v, _ = t
                                with sdpa_kernel(backend):
                                    if hkv != h and not gqa:
                                        k = k.repeat_interleave(h // hkv, 1)
                                        v = v.repeat_interleave(h // hkv, 1)
                                        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                                    return F.scaled_dot_product_attention(
                                        q, k, v, is_causal=causal, enable_gqa=hkv != h)
                            note = ""
                            try:
                                ms = time_ms(sdpa, sets, 20)
                            except RuntimeError:
                                try:
                                    ms = time_ms(lambda t: sdpa(t, gqa=False), sets, 20)
                                    note = "k/v repeated (no native GQA)"
                                except RuntimeError as e:
                                    ms, note = None, "unavailable: %s" % str(e).splitlines()[0][:80]
                            row[name + "_ms"] = ms
                            row[name + "_tflops"] = flops / ms / 1e9 if ms else None
                            row[name + "_note"] = note
                            row["ours_vs_" + name] = ms / ours if ms else None
                        rows.append(row)
                        print("%s d%d h%d/%d %s s%d: ours %.1f, flash %s, cudnn %s TFLOP/s" % (
                            row["dtype"], d, h, hkv, "causal" if causal else "full", s,
                            row["ours_tflops"],
                            "%.1f" % row["flash_tflops"] if row["flash_tflops"] else "-",
                            "%.1f" % row["cudnn_tflops"] if row["cudnn_tflops"] else "-"),
                            flush=True)
                        del sets, params
    return rows


def ceilings():
    copy = copy_bandwidth_tb_s()
    m = 8192
    x = torch.randn(m, m, device="cuda", dtype=torch.float16)
    y = torch.randn(m, m, device="cuda", dtype=torch.float16)
    ms = time_ms(lambda t: x @ y, [0], 10)
    return dict(copy_tb_s=copy, gemm_fp16_tflops=2 * m ** 3 / ms / 1e9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    flash = Flash(args.lib)
    props = torch.cuda.get_device_properties(0)
    try:
        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        driver = "?"
    meta = dict(date=datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), gpu=props.name,
                driver=driver, torch=torch.__version__, cudnn=torch.backends.cudnn.version())
    print(meta, flush=True)
    cases, failures = check(flash, args.quick)
    json.dump(dict(meta=meta, cases=cases), open(os.path.join(args.out, "flash-check.json"), "w"),
              indent=1)
    ceil = ceilings()
    print("ceilings:", ceil, flush=True)
    rows = bench(flash, args.quick)
    json.dump(dict(meta=meta, ceilings=ceil, rows=rows),
              open(os.path.join(args.out, "flash-bench.json"), "w"), indent=1)
    lines = ["# tessel attention kernel vs PyTorch SDPA (%s, %s, driver %s, torch %s, cuDNN %s)" % (
                 meta["date"], meta["gpu"], meta["driver"], meta["torch"], meta["cudnn"]),
             "",
             "Correctness: %d cases (fresh random inputs, float64 reference), %d failures." % (
                 len(cases), failures),
             "Ceilings measured in this run: copy %.2f TB/s (read + write), cuBLAS fp16 GEMM "
             "%.0f TFLOP/s." % (ceil["copy_tb_s"], ceil["gemm_fp16_tflops"]),
             "",
             "| dtype | d | heads/kv | mask | seq | batch | ours TFLOP/s | flash | cuDNN | ours/flash | ours/cuDNN |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    fmt = lambda x: "%.1f" % x if x else "-"
    fmtr = lambda x: "%.2f" % x if x else "-"
    for r in rows:
        lines.append("| %s | %d | %d/%d | %s | %d | %d | %s | %s | %s | %s | %s |" % (
            r["dtype"], r["head_dim"], r["heads"], r["kv_heads"],
            "causal" if r["causal"] else "none", r["seq"], r["batch"], fmt(r["ours_tflops"]),
            fmt(r["flash_tflops"]), fmt(r["cudnn_tflops"]), fmtr(r["ours_vs_flash"]),
            fmtr(r["ours_vs_cudnn"])))
    notes = sorted({r[n + "_note"] for r in rows for n in ("flash", "cudnn") if r[n + "_note"]})
    if notes:
        lines += ["", "Notes: " + "; ".join(notes)]
    text = "\n".join(lines) + "\n"
    open(os.path.join(args.out, "flash-bench.md"), "w").write(text)
    print(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
