#!/usr/bin/env python3
"""Builds, checks and times tessel's FlashAttention-2-class forward kernel
(runtime/cuda/FlashAttention.cu) in one command:

    python3 bench/gpu/flash/check_and_bench.py --out DIR [--quick] [--lib SO]

1. Build: nvcc -O3 for sm_80 + sm_90 into DIR (ptxas resource report in
   DIR/ptxas.txt), unless --lib names a prebuilt libtessel_flash.so.
2. Correctness: every head dim (64, 80, 96, 128, 256) x fp16/bf16 x MHA / GQA
   (8 heads / 2 kv) / MQA x {none, causal, causal + window 37, window 37
   without causal} x shapes (seq_q 1..333, seq_kv 1..1000, seq_q != seq_kv,
   ragged per-batch key lengths) x [B,H,S,D] / [B,S,H,D] layouts. Fresh
   torch.randn inputs per case, output and lse poisoned with NaN, compared
   with a float64 reference: rel L2 ||o - ref|| / ||ref|| <= 5e-3 (fp16) or
   1e-2 (bf16), no NaN, rows with no visible key exactly 0 (lse -inf), lse
   within 1e-3 abs. A few invalid-argument calls must be refused.
3. Benchmark: fp16/bf16, d 64/128, seq 1k..16k (batch * seq = 16k tokens),
   32 heads, MHA 32/32 and GQA 32/8, causal and not: ours vs PyTorch SDPA
   (flash backend = FlashAttention-2, cuDNN backend), CUDA events, median of
   >= 20 runs rotating 3 input sets. FLOPs = 4 * B * H * visible pairs * D.
   Ceilings: device-to-device copy (bytes read + written), cuBLAS fp16 GEMM.
Writes DIR/flash-check.json, DIR/flash-bench.json, DIR/flash-bench.md; prints
the benchmark table last. Exit status 1 if any check failed.
"""

import argparse
import ctypes
import datetime
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
HEAD_DIMS = (64, 80, 96, 128, 256)


# ----------------------------------------------------------------------------
# Build and bindings
def build(out_dir):
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    lib = os.path.join(out_dir, "libtessel_flash.so")
    cmd = [nvcc, "-O3", "-std=c++17", "-shared", "-Xcompiler", "-fPIC",
           "-Xcompiler", "-fvisibility=hidden", "-Xlinker", "--exclude-libs,ALL",
           "--threads", "0",
           "-gencode", "arch=compute_80,code=sm_80",
           "-gencode", "arch=compute_90,code=sm_90",
           "-Xptxas", "-v", "-o", lib, os.path.join(HERE, "..", "..", "..", "runtime", "cuda", "FlashAttention.cu")]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    with open(os.path.join(out_dir, "ptxas.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n" + r.stdout + r.stderr)
    if r.returncode != 0:
        sys.exit("nvcc failed:\n" + r.stderr[-4000:])
    print(f"built {lib} in {time.time() - t0:.1f} s")
    summary = []
    import re
    for m in re.finditer(
            r"Compiling entry function '\S*flash_fwd_kernelILi(\d+)ELb(\d)ELb(\d)\S*' "
            r"for '(sm_\d+)'\s*\n.*?(\d+) bytes stack frame, (\d+) bytes spill stores, "
            r"(\d+) bytes spill loads\s*\n.*?Used (\d+) registers", r.stderr, re.S):
        d, bf, ca, arch, st, ss, sl, regs = m.groups()
        summary.append(f"{arch} d={d} {'bf16' if bf == '1' else 'fp16'} "
                       f"{'causal' if ca == '1' else 'full'}: {regs} regs, "
                       f"stack {st}, spill {ss}/{sl}")
    print("ptxas: " + "; ".join(s for s in summary if "sm_90" in s))
    return lib, summary


class Params(ctypes.Structure):
    _fields_ = [
        ("q", ctypes.c_void_p), ("k", ctypes.c_void_p), ("v", ctypes.c_void_p),
        ("o", ctypes.c_void_p), ("lse", ctypes.c_void_p),
        ("seqlens_k", ctypes.c_void_p),
        ("dtype", ctypes.c_int), ("batch", ctypes.c_int),
        ("num_heads", ctypes.c_int), ("num_kv_heads", ctypes.c_int),
        ("seq_q", ctypes.c_int), ("seq_kv", ctypes.c_int),
        ("head_dim", ctypes.c_int),
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


def bhs_strides(t, layout):
    """(batch, head, row) element strides of a [B,H,S,D] / [B,S,H,D] tensor."""
    s = t.stride()
    return (s[0], s[1], s[2]) if layout == "bhsd" else (s[0], s[2], s[1])


class Flash:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.tessel_flash_attention_fwd.argtypes = [
            ctypes.POINTER(Params), ctypes.c_void_p]
        self.lib.tessel_flash_attention_fwd.restype = ctypes.c_int

    @staticmethod
    def params(q, k, v, o, layout, causal=False, window=-1, seqlens=None,
               lse=None, scale=None):
        p = Params()
        p.q, p.k, p.v, p.o = q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr()
        p.lse = lse.data_ptr() if lse is not None else None
        p.seqlens_k = seqlens.data_ptr() if seqlens is not None else None
        p.dtype = 1 if q.dtype == torch.bfloat16 else 0
        if layout == "bhsd":
            p.batch, p.num_heads, p.seq_q, p.head_dim = q.shape
            p.num_kv_heads, p.seq_kv = k.shape[1], k.shape[2]
        else:
            p.batch, p.seq_q, p.num_heads, p.head_dim = q.shape
            p.seq_kv, p.num_kv_heads = k.shape[1], k.shape[2]
        for name, t in (("q", q), ("k", k), ("v", v), ("o", o)):
            sb, sh, sr = bhs_strides(t, layout)
            setattr(p, name + "_batch_stride", sb)
            setattr(p, name + "_head_stride", sh)
            setattr(p, name + "_row_stride", sr)
        p.scale = scale if scale is not None else 1.0 / math.sqrt(p.head_dim)
        p.causal = 1 if causal else 0
        p.window_left = window
        return p

    def __call__(self, p):
        stream = torch.cuda.current_stream().cuda_stream
        return self.lib.tessel_flash_attention_fwd(ctypes.byref(p),
                                                   ctypes.c_void_p(stream))


# ----------------------------------------------------------------------------
# Reference and visibility
def visible_mask(b, sq, skv, causal, window, seqlens, device):
    """[B, Sq, Skv] bool: key j visible from query i (the header's rule)."""
    i = torch.arange(sq, device=device).view(1, sq, 1)
    j = torch.arange(skv, device=device).view(1, 1, skv)
    off = skv - sq
    vis = torch.ones(b, sq, skv, dtype=torch.bool, device=device)
    if seqlens is not None:
        vis &= j < seqlens.view(b, 1, 1).long().clamp(0, skv)
    if causal:
        vis &= j <= i + off
    if window >= 0:
        vis &= j >= i + off - window
    return vis


def reference(q, k, v, layout, causal, window, seqlens, scale):
    """float64 o [B,H,Sq,D] and natural-log lse [B,H,Sq] (-inf: no key)."""
    if layout == "bshd":
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    q, k, v = (t.double() for t in (q, k, v))
    b, h, sq, _ = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    k = k.repeat_interleave(h // hkv, dim=1)
    v = v.repeat_interleave(h // hkv, dim=1)
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    vis = visible_mask(b, sq, skv, causal, window, seqlens, q.device)[:, None]
    s = s.masked_fill(~vis, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    pr = torch.softmax(s, dim=-1).nan_to_num(0.0)
    o = torch.matmul(pr, v)
    empty = ~vis.any(-1)  # [B,1,Sq]
    return o, lse, empty.expand(b, h, sq)


# ----------------------------------------------------------------------------
# Correctness
SHAPES_FULL = [  # (batch, seq_q, seq_kv, ragged)
    (1, 1, 1, False),
    (2, 17, 64, False),
    (2, 128, 128, False),
    (1, 333, 1000, False),
    (2, 1, 129, False),
    (2, 333, 129, False),
    (3, 128, 129, True),
    (2, 17, 1000, True),
]
SHAPES_QUICK = [(2, 17, 64, False), (1, 333, 1000, False),
                (3, 128, 129, True), (2, 333, 129, False)]
MASKS = {"none": (False, -1), "causal": (True, -1), "causal+w37": (True, 37),
         "w37": (False, 37)}


def check(flash, quick, out_dir):
    dev = "cuda"
    cases, fails = [], []
    dims = (64, 128, 256) if quick else HEAD_DIMS
    shapes = SHAPES_QUICK if quick else SHAPES_FULL
    gen = torch.Generator(device=dev)
    gen.manual_seed(1234)
    t0 = time.time()
    for d in dims:
        for dtype in (torch.float16, torch.bfloat16):
            tol = 5e-3 if dtype == torch.float16 else 1e-2
            for hname, (h, hkv) in (("MHA", (8, 8)), ("GQA4", (8, 2)), ("MQA", (8, 1))):
                for mname, (causal, window) in MASKS.items():
                    if mname == "w37" and hname != "MHA":
                        continue  # non-causal window: MHA only
                    for si, (b, sq, skv, ragged) in enumerate(shapes):
                        for layout in ("bhsd", "bshd"):
                            if quick and (si + (layout == "bshd")) % 2:
                                continue
                            rec = run_case(flash, dev, gen, d, dtype, tol, h, hkv,
                                           causal, window, b, sq, skv, ragged, layout)
                            rec.update(head_dim=d, heads=hname, mask=mname)
                            cases.append(rec)
                            if not rec["pass"]:
                                fails.append(rec)
    api = api_checks(flash)
    ok_api = all(a["pass"] for a in api)
    with open(os.path.join(out_dir, "flash-check.json"), "w") as f:
        json.dump({"cases": cases, "api": api}, f, indent=1)
    # compact table: one row per (d, dtype), worst error and counts
    print(f"\ncorrectness: {len(cases)} cases in {time.time() - t0:.1f} s")
    print("| d | dtype | cases | fail | worst rel L2 | worst lse err | tol |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for d in dims:
        for dt in ("float16", "bfloat16"):
            cs = [c for c in cases if c["head_dim"] == d and c["dtype"] == dt]
            nf = sum(not c["pass"] for c in cs)
            print(f"| {d} | {dt} | {len(cs)} | {nf}{' FAIL' if nf else ''} | "
                  f"{max(c['rel_l2'] for c in cs):.2e} | "
                  f"{max(c['lse_err'] for c in cs):.2e} | {cs[0]['tol']:.0e} |")
    for a in api:
        print(f"api: {a['what']}: returned {a['rc']} -> {'PASS' if a['pass'] else 'FAIL'}")
    for r in fails[:20]:
        print("FAIL", json.dumps(r))
    n_fail = len(fails) + (not ok_api)
    print(f"correctness: {len(cases) - len(fails)} passed, {len(fails)} failed"
          + ("" if ok_api else "; API checks FAILED"))
    return n_fail == 0, len(cases), len(fails)


def run_case(flash, dev, gen, d, dtype, tol, h, hkv, causal, window, b, sq, skv,
             ragged, layout):
    def rnd(heads, s):
        shape = (b, heads, s, d) if layout == "bhsd" else (b, s, heads, d)
        return torch.randn(shape, generator=gen, device=dev, dtype=torch.float32).to(dtype)

    q, k, v = rnd(h, sq), rnd(hkv, skv), rnd(hkv, skv)
    o = torch.full_like(q, float("nan"))
    lse = torch.full((b, h, sq), float("nan"), device=dev, dtype=torch.float32)
    seqlens = None
    if ragged:
        sl = torch.randint(0, skv + 1, (b,), generator=gen, device=dev)
        sl[0] = skv // 2 + 1
        if b > 2:
            sl[-1] = 0  # a batch with no keys at all
        seqlens = sl.to(torch.int32)
    scale = 1.0 / math.sqrt(d)
    p = flash.params(q, k, v, o, layout, causal, window, seqlens, lse, scale)
    rc = flash(p)
    torch.cuda.synchronize()
    ref, ref_lse, empty = reference(q, k, v, layout, causal, window, seqlens, scale)
    out = o if layout == "bhsd" else o.transpose(1, 2)
    out = out.double()
    has_nan = bool(torch.isnan(out).any()) or bool(torch.isnan(lse).any())
    ref_norm = float(ref.norm())
    err = float((out.nan_to_num(1e9) - ref).norm())
    rel = err / ref_norm if ref_norm > 0 else err
    empty_ok = bool((out[empty] == 0).all()) if empty.any() else True
    lse_empty_ok = bool(torch.isneginf(lse[empty]).all()) if empty.any() else True
    full = ~empty
    lse_err = float((lse.double()[full] - ref_lse[full]).abs().max()) if full.any() else 0.0
    ok = (rc == 0 and not has_nan and rel <= tol and empty_ok and lse_empty_ok
          and lse_err <= 1e-3)
    return {"dtype": str(dtype).split(".")[-1], "b": b, "sq": sq, "skv": skv,
            "h": h, "hkv": hkv, "ragged": ragged, "layout": layout,
            "causal": causal, "window": window, "rc": rc, "rel_l2": rel,
            "tol": tol, "nan": has_nan, "empty_rows": int(empty.sum()),
            "empty_ok": empty_ok and lse_empty_ok, "lse_err": lse_err, "pass": ok}


def api_checks(flash):
    dev = "cuda"
    q = torch.randn(1, 2, 16, 64, device=dev, dtype=torch.float16)
    o = torch.empty_like(q)
    res = []

    def expect(what, p, want_ok):
        rc = flash(p)
        res.append({"what": what, "rc": rc, "pass": (rc == 0) == want_ok})

    expect("valid call", flash.params(q, q, q, o, "bhsd"), True)
    p = flash.params(q, q, q, o, "bhsd"); p.head_dim = 72
    expect("head_dim 72 refused", p, False)
    p = flash.params(q, q, q, o, "bhsd"); p.q_row_stride = 68
    expect("row stride not multiple of 8 refused", p, False)
    p = flash.params(q, q, q, o, "bhsd"); p.num_kv_heads = 3
    expect("num_heads % num_kv_heads != 0 refused", p, False)
    p = flash.params(q, q, q, o, "bhsd"); p.q = p.q + 2
    expect("misaligned q refused", p, False)
    p = flash.params(q, q, q, o, "bhsd"); p.scale = -1.0
    expect("negative scale refused", p, False)
    p = flash.params(q, q, q, o, "bhsd"); p.dtype = 2
    expect("dtype 2 refused", p, False)
    torch.cuda.synchronize()
    return res


# ----------------------------------------------------------------------------
# Benchmark
def time_ms(fn, nsets, reps, warmup=3):
    """Median ms of fn(i), i cycling over nsets input sets, CUDA events."""
    for i in range(warmup):
        fn(i % nsets)
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for r in range(reps):
        starts[r].record()
        fn(r % nsets)
        ends[r].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def visible_pairs(sq, skv, causal, window=-1):
    total = 0
    off = skv - sq
    if not causal and window < 0:
        return sq * skv
    for i in range(sq):
        hi = min(skv - 1, i + off) if causal else skv - 1
        lo = max(0, i + off - window) if window >= 0 else 0
        total += max(0, hi - lo + 1)
    return total


def bench(flash, quick, reps):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    F = torch.nn.functional
    dev = "cuda"
    rows = []
    seqs = (4096, 16384) if quick else (1024, 2048, 4096, 8192, 16384)
    dims = (128,) if quick else (64, 128)
    dtypes = (torch.float16, torch.bfloat16)
    tokens, h = 16384, 32
    for dtype in dtypes:
        for d in dims:
            for hkv in (32, 8):
                for causal in (False, True):
                    for s in seqs:
                        b = max(1, tokens // s)
                        sets = [(torch.randn(b, h, s, d, device=dev, dtype=dtype),
                                 torch.randn(b, hkv, s, d, device=dev, dtype=dtype),
                                 torch.randn(b, hkv, s, d, device=dev, dtype=dtype),
                                 torch.empty(b, h, s, d, device=dev, dtype=dtype))
                                for _ in range(3)]
                        ps = [flash.params(q, k, v, o, "bhsd", causal) for q, k, v, o in sets]
                        flops = 4.0 * b * h * visible_pairs(s, s, causal) * d
                        row = {"dtype": str(dtype).split(".")[-1], "d": d, "h": h,
                               "hkv": hkv, "causal": causal, "seq": s, "batch": b,
                               "flops": flops}
                        rc = flash(ps[0])
                        if rc != 0:
                            row["ours_error"] = f"rc={rc}"
                        else:
                            ms = time_ms(lambda i: flash(ps[i]), len(sets), reps)
                            row["ours_ms"] = ms
                            row["ours_tflops"] = flops / ms / 1e9
                        for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                                              ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                            def sdpa(st, backend=backend, gqa=True):
                                q, k, v = st[:3]
                                with sdpa_kernel(backend):
                                    if hkv != h and gqa:
                                        return F.scaled_dot_product_attention(
                                            q, k, v, is_causal=causal, enable_gqa=True)
                                    return F.scaled_dot_product_attention(
                                        q, k, v, is_causal=causal)
                            try:
                                try:
                                    ref_o = sdpa(sets[0])
                                    fn = lambda i, f=sdpa: f(sets[i])
                                    note = "enable_gqa" if hkv != h else ""
                                except RuntimeError:
                                    if hkv == h:
                                        raise
                                    rsets = [(q, k.repeat_interleave(h // hkv, 1),
                                              v.repeat_interleave(h // hkv, 1))
                                             for q, k, v, _ in sets]
                                    ref_o = sdpa(rsets[0], gqa=False)
                                    fn = lambda i, f=sdpa, rs=rsets: f(rs[i], gqa=False)
                                    note = "GQA as k/v repeat_interleave (copy untimed)"
                                ms = time_ms(fn, len(sets), reps)
                                row[name + "_ms"] = ms
                                row[name + "_tflops"] = flops / ms / 1e9
                                if note:
                                    row[name + "_note"] = note
                                if "ours_ms" in row and name == "flash":
                                    flash(ps[0])
                                    o0 = sets[0][3].float()
                                    row["diff_vs_flash"] = float(
                                        (o0 - ref_o.float()).norm() / ref_o.float().norm())
                            except Exception as e:  # backend unavailable
                                row[name + "_error"] = str(e).split("\n")[0][:160]
                        for name in ("flash", "cudnn"):
                            if "ours_tflops" in row and name + "_tflops" in row:
                                row["ours/" + name] = row["ours_tflops"] / row[name + "_tflops"]
                        rows.append(row)
                        print(fmt_row(row), flush=True)
                        del sets, ps
                        torch.cuda.empty_cache()
    return rows


def fmt_row(r):
    def f(key, spec=".1f"):
        return format(r[key], spec) if key in r else "n/a"
    return (f"| {r['dtype']} | {r['d']} | {r['h']}/{r['hkv']} | "
            f"{'causal' if r['causal'] else 'none'} | {r['seq']} | {r['batch']} | "
            f"{f('ours_tflops')} | {f('flash_tflops')} | {f('cudnn_tflops')} | "
            f"{f('ours/flash', '.2f')} | {f('ours/cudnn', '.2f')} |")


TABLE_HEAD = ("| dtype | d | heads/kv | mask | seq | batch | ours TFLOP/s | "
              "SDPA flash | SDPA cuDNN | ours/flash | ours/cuDNN |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def ceilings():
    dev = "cuda"
    n = 1 << 30  # 1 GiB each way
    a = torch.empty(n, dtype=torch.uint8, device=dev)
    a.random_()
    bb = torch.empty_like(a)
    ms = time_ms(lambda _: bb.copy_(a), 1, 10)
    copy_tbs = 2 * n / ms / 1e9
    del a, bb
    m = 8192
    res = {"copy_TBps": copy_tbs}
    for dt in (torch.float16, torch.bfloat16):
        x = torch.randn(m, m, device=dev, dtype=dt)
        y = torch.randn(m, m, device=dev, dtype=dt)
        ms = time_ms(lambda _: torch.matmul(x, y), 1, 10)
        res[f"gemm_{str(dt).split('.')[-1]}_TFLOPs"] = 2 * m ** 3 / ms / 1e9
        del x, y
    torch.cuda.empty_cache()
    return res


# ----------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--lib", help="prebuilt libtessel_flash.so (skip nvcc)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--skip-bench", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()

    props = torch.cuda.get_device_properties(0)
    try:
        drv = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                              "--format=csv,noheader"], capture_output=True,
                             text=True).stdout.strip()
    except OSError:
        drv = "?"
    env = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "device": props.name, "sms": props.multi_processor_count,
           "driver": drv, "torch": torch.__version__,
           "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version()}
    print("env:", json.dumps(env))

    if args.lib:
        lib, ptxas = args.lib, []
    else:
        lib, ptxas = build(args.out)
    flash = Flash(lib)

    ok, n_cases, n_fail = True, 0, 0
    if not args.skip_check:
        ok, n_cases, n_fail = check(flash, args.quick, args.out)

    rows, ceil = [], {}
    if not args.skip_bench:
        ceil = ceilings()
        print("ceilings:", json.dumps({k: round(v, 2) for k, v in ceil.items()}))
        print(TABLE_HEAD)
        rows = bench(flash, args.quick, args.reps)

    with open(os.path.join(args.out, "flash-bench.json"), "w") as f:
        json.dump({"env": env, "ceilings": ceil, "ptxas": ptxas, "rows": rows,
                   "check": {"cases": n_cases, "failed": n_fail}}, f, indent=1)
    md = [f"# tessel flash_attn vs PyTorch SDPA ({env['date']}, {env['device']}, "
          f"driver {env['driver']}, torch {env['torch']}, cuDNN {env['cudnn']})", "",
          f"Correctness: {n_cases} cases (fresh random inputs, float64 reference), "
          f"{n_fail} failures.",
          "Ceilings measured in this run: " + ", ".join(
              f"{k} {v:.2f}" for k, v in ceil.items()) + ".", "",
          "FLOPs = 4 * batch * heads * visible (query, key) pairs * d; median of "
          f"{args.reps} runs rotating 3 input sets; 'flash' = SDPBackend.FLASH_ATTENTION "
          "(FlashAttention-2), 'cuDNN' = SDPBackend.CUDNN_ATTENTION.", ""]
    notes = sorted({f"{k}: {r[k]}" for r in rows for k in r if k.endswith(("_note", "_error"))})
    if notes:
        md += ["Notes: " + "; ".join(notes), ""]
    if rows:
        md += [TABLE_HEAD] + [fmt_row(r) for r in rows]
    with open(os.path.join(args.out, "flash-bench.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"\ntotal {time.time() - t_start:.0f} s; correctness "
          f"{'PASS' if ok else 'FAIL'} ({n_cases - n_fail}/{n_cases})")
    if rows:
        print("\n".join(md[-len(rows) - 2:]))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
