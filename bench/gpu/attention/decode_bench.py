#!/usr/bin/env python3
"""Checks and times the paged decode attention kernel (decode_paged.cu).

    python3 bench/gpu/attention/decode_bench.py --lib libtessel_decode.so --out DIR

Correctness: fresh random fp16/bf16 caches in 16-token blocks placed by a
random block table, ragged context lengths, MHA and GQA, head dim 64/128;
output poisoned with NaN first; relative L2 error against a float64
reference (fp16 <= 5e-3, bf16 <= 1e-2).

Each case runs twice: fused (the chunk count of
tessel_paged_decode_num_chunks, the chunks combined inside the kernel through
the counters, which must be back at zero after the call) and two-kernel
(ceil(context / 128) chunks, counters NULL, a second kernel combines).

Benchmark (fp16, head dim 128, 32 query heads, 32 and 8 kv heads, batch
1/16/64, context 1k-32k): bandwidth = bytes of k and v read / time, against
the device-to-device copy bandwidth measured in the same run (bytes read +
written) and against PyTorch SDPA on the same keys/values stored densely
([batch, kv_heads, context, head_dim], enable_gqa). Inputs rotate over
enough copies that the L2 cache cannot hold them. Configurations whose
cache exceeds 12 GiB are skipped (listed). Times are device times (the call
is enqueued behind a spin kernel, gpu_timing.time_ms); the columns "incl.
launch" time the same calls from an idle GPU, the host's cost of issuing
them included (the method of the tables before 2026-11-22 v2).
--quick: batch 1 at 8k-32k, batch 16 at 8k/32k, batch 64 at 8k only.
--lib twice or more: the later libraries are timed on the same inputs
(extra columns). --chunk-scales 0.5,2: batch-1 rows also time the policy's
chunk count times each factor.
Writes DIR/decode-check.json, DIR/decode-bench.json, DIR/decode-bench.md.
"""

import argparse
import ctypes
import datetime
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from gpu_timing import copy_bandwidth_tb_s, time_ms


class Params(ctypes.Structure):
    _fields_ = [(n, ctypes.c_void_p) for n in (
        "q", "k_cache", "v_cache", "out", "block_tables", "context_lens",
        "partial_out", "partial_max", "partial_sum")] + [
        (n, ctypes.c_int) for n in (
            "dtype", "batch", "num_heads", "num_kv_heads", "head_dim",
            "block_tokens", "max_blocks", "num_chunks")] + [
        ("scale", ctypes.c_float), ("counters", ctypes.c_void_p),
        # 0: a per-layer pool (the layout this benchmark allocates).
        ("block_stride", ctypes.c_int64)]


class Decode:
    def __init__(self, path):
        self.path = path
        self.lib = ctypes.CDLL(path)
        self.lib.tessel_paged_decode_attention.argtypes = [ctypes.POINTER(Params), ctypes.c_void_p]
        self.chunk = self.lib.tessel_paged_decode_chunk_tokens()
        try:  # older libraries have no chunk policy
            self.policy = self.lib.tessel_paged_decode_num_chunks
            self.policy.argtypes = [ctypes.POINTER(Params), ctypes.c_int]
        except AttributeError:
            self.policy = None

    def prepare(self, q, kc, vc, tables, lens, max_len, out, chunks=None, fused=True,
                scale_chunks=1.0):
        """Params and scratch; chunks None: the library's policy (legacy
        ceil(max_len / chunk_tokens) without one); fused: counters given."""
        b, h, d = q.shape
        hkv, bt = kc.shape[1], kc.shape[2]
        p = Params(q.data_ptr(), kc.data_ptr(), vc.data_ptr(), out.data_ptr(),
                   tables.data_ptr(), lens.data_ptr(), None, None, None,
                   1 if q.dtype == torch.bfloat16 else 0, b, h, hkv, d, bt,
                   tables.shape[1], 1, 1.0 / math.sqrt(d), None)
        if chunks is None:
            chunks = self.policy(ctypes.byref(p), max_len) if self.policy else 0
            if chunks <= 0:
                chunks = max(1, math.ceil(max_len / self.chunk))
            chunks = max(1, min(1024, round(chunks * scale_chunks)))
        counters = torch.zeros(b * hkv, dtype=torch.int32, device="cuda")
        scratch = (torch.empty(b, h, chunks, d, device="cuda"),
                   torch.empty(b, h, chunks, device="cuda"),
                   torch.empty(b, h, chunks, device="cuda"), counters)
        p.partial_out, p.partial_max, p.partial_sum = (t.data_ptr() for t in scratch[:3])
        p.num_chunks = chunks
        p.counters = counters.data_ptr() if fused else None
        return p, scratch

    def run(self, p):
        rc = self.lib.tessel_paged_decode_attention(ctypes.byref(p),
                                                    torch.cuda.current_stream().cuda_stream)
        if rc != 0:
            raise RuntimeError("tessel_paged_decode_attention returned %d" % rc)


def make_cache(b, hkv, d, lens, bt, dtype, extra_blocks=3):
    """Random paged cache; returns (k_cache, v_cache, tables, dense k, dense v)."""
    per_seq = [math.ceil(l / bt) for l in lens]
    max_blocks = max(1, max(per_seq))
    total = sum(per_seq) + extra_blocks
    perm = torch.randperm(total, device="cuda").int()
    tables = torch.zeros(b, max_blocks, dtype=torch.int32, device="cuda")
    at = 0
    for i, n in enumerate(per_seq):
        tables[i, :n] = perm[at:at + n]
        at += n
    kc = torch.randn(total, hkv, bt, d, device="cuda").to(dtype)
    vc = torch.randn(total, hkv, bt, d, device="cuda").to(dtype)
    return kc, vc, tables, max_blocks


def dense(cache, tables, lens, bt):
    """[b, hkv, max_len, d] from the paged cache (zeros past each length)."""
    b = tables.shape[0]
    max_len = max(lens)
    hkv, d = cache.shape[1], cache.shape[3]
    out = torch.zeros(b, hkv, max(max_len, 1), d, dtype=cache.dtype, device="cuda")
    for i in range(b):
        n = math.ceil(lens[i] / bt)
        if n == 0:
            continue
        blocks = cache[tables[i, :n].long()]                  # [n, hkv, bt, d]
        seq = blocks.permute(1, 0, 2, 3).reshape(hkv, n * bt, d)
        out[i, :, :lens[i]] = seq[:, :lens[i]]
    return out


def check(dec):
    cases, failures = [], 0
    for dtype in (torch.float16, torch.bfloat16):
        for d in (64, 128):
            for h, hkv in ((32, 32), (32, 8), (8, 2), (8, 1)):
                if d == 64 and h // hkv > 4:
                    continue
                for lens in ([1], [17, 300], [1000, 5, 129, 64], [4096]):
                    b = len(lens)
                    kc, vc, tables, _ = make_cache(b, hkv, d, lens, 16, dtype)
                    q = torch.randn(b, h, d, device="cuda").to(dtype)
                    out = torch.full_like(q, float("nan"))
                    lens_t = torch.tensor(lens, dtype=torch.int32, device="cuda")
                    k = dense(kc, tables, lens, 16).double().repeat_interleave(h // hkv, 1)
                    v = dense(vc, tables, lens, 16).double().repeat_interleave(h // hkv, 1)
                    s = torch.einsum("bhd,bhsd->bhs", q.double(), k) / math.sqrt(d)
                    mask = torch.arange(s.shape[-1], device="cuda")[None, :] >= lens_t[:, None]
                    s = s.masked_fill(mask[:, None, :], float("-inf"))
                    ref = torch.einsum("bhs,bhsd->bhd", torch.softmax(s, -1), v)
                    for variant in ("fused", "two-kernel"):
                        out.fill_(float("nan"))
                        if variant == "fused":
                            p, scratch = dec.prepare(q, kc, vc, tables, lens_t, max(lens), out)
                        else:
                            p, scratch = dec.prepare(q, kc, vc, tables, lens_t, max(lens), out,
                                                     chunks=math.ceil(max(lens) / 128), fused=False)
                        dec.run(p)
                        torch.cuda.synchronize()
                        got = out.double()
                        err = float((got - ref).norm() / ref.norm())
                        nan = bool(torch.isnan(got).any())
                        counters_left = int(scratch[3].abs().sum())
                        ok = (not nan and counters_left == 0 and
                              err <= (1e-2 if dtype == torch.bfloat16 else 5e-3))
                        failures += not ok
                        cases.append(dict(dtype=str(dtype).split(".")[-1], head_dim=d, heads=h,
                                          kv_heads=hkv, lens=lens, variant=variant,
                                          num_chunks=p.num_chunks, rel_l2=err, nan=nan,
                                          counters_left=counters_left, ok=ok))
                        if not ok:
                            print("FAIL", cases[-1], flush=True)
    worst = {}
    for c in cases:
        worst[c["dtype"]] = max(worst.get(c["dtype"], 0.0), c["rel_l2"])
    print("correctness: %d cases, %d failures; worst rel L2 %s" % (
        len(cases), failures, ", ".join("%s %.2e" % kv for kv in sorted(worst.items()))),
        flush=True)
    return cases, failures


QUICK = {(1, 8192), (1, 16384), (1, 32768), (16, 8192), (16, 32768), (64, 8192)}


def bench(decs, copy_tb, quick=False, chunk_scales=()):
    """decs[0] is ours; later libraries are timed on the same inputs."""
    dec = decs[0]
    rows, skipped = [], []
    d, h, bt, dtype = 128, 32, 16, torch.float16
    for hkv in (32, 8):
        for b in (1, 16, 64):
            for ctx in (1024, 2048, 4096, 8192, 16384, 32768):
                if quick and (b, ctx) not in QUICK:
                    continue
                kv_bytes = 2 * b * ctx * hkv * d * 2
                if kv_bytes > 12 * 2 ** 30:
                    skipped.append("batch %d, context %d, %d kv heads (%.0f GiB)" % (
                        b, ctx, hkv, kv_bytes / 2 ** 30))
                    continue
                n_sets = max(1, min(32, math.ceil(256e6 / kv_bytes)))
                lens = [ctx] * b
                sets = []
                for _ in range(n_sets):
                    kc, vc, tables, _ = make_cache(b, hkv, d, lens, bt, dtype, extra_blocks=0)
                    q = torch.randn(b, h, d, device="cuda", dtype=dtype)
                    out = torch.empty_like(q)
                    lens_t = torch.tensor(lens, dtype=torch.int32, device="cuda")
                    p, scratch = dec.prepare(q, kc, vc, tables, lens_t, ctx, out)
                    sets.append((p, scratch, kc, vc, tables, q, out, lens_t))
                run = lambda s: dec.run(s[0])
                ms = time_ms(run, sets)
                host_ms = time_ms(run, sets, queued=False)
                ours = kv_bytes / ms / 1e9
                row = dict(batch=b, context=ctx, heads=h, kv_heads=hkv, head_dim=d,
                           kv_bytes=kv_bytes, num_chunks=sets[0][0].num_chunks, ours_ms=ms,
                           ours_tb_s=ours, ours_vs_copy=ours / copy_tb, ours_host_ms=host_ms,
                           ours_host_tb_s=kv_bytes / host_ms / 1e9)
                alts = []
                for other in decs[1:]:
                    osets = [other.prepare(s[5], s[2], s[3], s[4], s[7], ctx, s[6])
                             for s in sets]
                    oms = time_ms(lambda s: other.run(s[0]), osets)
                    alts.append(dict(lib=other.path, ms=oms, tb_s=kv_bytes / oms / 1e9,
                                     num_chunks=osets[0][0].num_chunks))
                    del osets
                row["alts"] = alts
                sweep = []
                for f in (chunk_scales if b == 1 else ()):
                    ssets = [dec.prepare(s[5], s[2], s[3], s[4], s[7], ctx, s[6], scale_chunks=f)
                             for s in sets]
                    sms_ = time_ms(lambda s: dec.run(s[0]), ssets)
                    sweep.append(dict(scale=f, num_chunks=ssets[0][0].num_chunks, ms=sms_,
                                      tb_s=kv_bytes / sms_ / 1e9))
                    del ssets
                row["sweep"] = sweep
                # SDPA on dense copies of the same data (one set at a time to
                # bound memory).
                dense_sets = []
                for s in sets[:max(1, min(n_sets, 8))]:
                    kd = dense(s[2], s[4], lens, bt)
                    vd = dense(s[3], s[4], lens, bt)
                    dense_sets.append((s[5].unsqueeze(2), kd, vd))
                del sets
                torch.cuda.empty_cache()
                sdpa = lambda t: F.scaled_dot_product_attention(t[0], t[1], t[2],
                                                                 enable_gqa=hkv != h)
                try:
                    sms = time_ms(sdpa, dense_sets)
                    sdpa_host = time_ms(sdpa, dense_sets, queued=False)
                    sdpa_tb, sdpa_host_tb = kv_bytes / sms / 1e9, kv_bytes / sdpa_host / 1e9
                except RuntimeError as e:
                    sms, sdpa_tb, sdpa_host, sdpa_host_tb = None, None, None, None
                del dense_sets
                torch.cuda.empty_cache()
                row.update(sdpa_ms=sms, sdpa_tb_s=sdpa_tb, ours_vs_sdpa=(sdpa_tb and ours / sdpa_tb),
                           sdpa_host_ms=sdpa_host, sdpa_host_tb_s=sdpa_host_tb)
                rows.append(row)
                extra = "".join(", alt %.2f (%.0f%%, %d chunks)" % (
                    a["tb_s"], 100 * a["tb_s"] / copy_tb, a["num_chunks"]) for a in alts)
                extra += "".join(", x%g=%d chunks %.2f (%.0f%%)" % (
                    w["scale"], w["num_chunks"], w["tb_s"], 100 * w["tb_s"] / copy_tb)
                    for w in sweep)
                print("b%d ctx%d kv%d: ours %.2f TB/s (%.0f%% of copy, %d chunks; incl. launch "
                      "%.2f), sdpa %s (incl. launch %s)%s" % (
                          b, ctx, hkv, ours, 100 * ours / copy_tb, row["num_chunks"],
                          row["ours_host_tb_s"], "%.2f" % sdpa_tb if sdpa_tb else "-",
                          "%.2f" % sdpa_host_tb if sdpa_host_tb else "-", extra), flush=True)
    return rows, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True, action="append",
                    help="library; repeat to time others on the same inputs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-check", action="store_true", help="benchmark only")
    ap.add_argument("--no-bench", action="store_true", help="check only")
    ap.add_argument("--quick", action="store_true", help="a few batch 1/16/64 rows")
    ap.add_argument("--chunk-scales", default="",
                    help="comma-separated factors on the chunk count (batch-1 rows)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    decs = [Decode(path) for path in args.lib]
    dec = decs[0]
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                gpu=torch.cuda.get_device_properties(0).name, torch=torch.__version__)
    cases, failures = ([], 0) if args.no_check else check(dec)
    json.dump(dict(meta=meta, cases=cases), open(os.path.join(args.out, "decode-check.json"), "w"), indent=1)
    if args.no_bench:
        sys.exit(1 if failures else 0)
    copy_tb = copy_bandwidth_tb_s()
    scales = [float(x) for x in args.chunk_scales.split(",") if x]
    rows, skipped = bench(decs, copy_tb, args.quick, scales)
    json.dump(dict(meta=meta, copy_tb_s=copy_tb, rows=rows, skipped=skipped),
              open(os.path.join(args.out, "decode-bench.json"), "w"), indent=1)
    alt_cols = "".join(" alt %d TB/s |" % (i + 1) for i in range(len(decs) - 1))
    lines = ["# Paged decode attention (split-KV) vs copy bandwidth and PyTorch SDPA "
             "(%s, %s, torch %s)" % (meta["date"], meta["gpu"], meta["torch"]), "",
             "fp16, head dim 128, 32 query heads, 16-token blocks placed by a random block table. "
             "Correctness: %d cases vs float64, %d failures. Copy bandwidth in this run: %.2f TB/s "
             "(read + write). Bandwidth = k + v bytes / time. Device time: each call is "
             "enqueued behind a spin kernel, so the events bracket the GPU work alone; the "
             "'incl. launch' columns time the same calls from an idle GPU (the host's Python, "
             "ctypes and launch cost included, the method of the earlier tables)."
             % (len(cases), failures, copy_tb), "",
             "| kv heads | batch | context | ours TB/s | of copy | SDPA TB/s | ours/SDPA |"
             " ours incl. launch | SDPA incl. launch | chunks |" + alt_cols,
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |" +
             " --- |" * (len(decs) - 1)]
    for r in rows:
        lines.append("| %d | %d | %d | %.2f | %.0f%% | %s | %s | %.2f | %s | %d |%s" % (
            r["kv_heads"], r["batch"], r["context"], r["ours_tb_s"], 100 * r["ours_vs_copy"],
            "%.2f" % r["sdpa_tb_s"] if r["sdpa_tb_s"] else "-",
            "%.2f" % r["ours_vs_sdpa"] if r["ours_vs_sdpa"] else "-",
            r["ours_host_tb_s"], "%.2f" % r["sdpa_host_tb_s"] if r["sdpa_host_tb_s"] else "-",
            r["num_chunks"], "".join(" %.2f |" % a["tb_s"] for a in r["alts"])))
    if skipped:
        lines += ["", "Skipped (cache over 12 GiB): " + "; ".join(skipped)]
    text = "\n".join(lines) + "\n"
    open(os.path.join(args.out, "decode-bench.md"), "w").write(text)
    print(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
