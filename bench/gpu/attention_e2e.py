#!/usr/bin/env python3
"""Times a compiled attention block (test/lib/attention_model.py, head dim
128, 2 heads) at a long sequence through tessel-run --bench: the f32 build
(generic tiled attention kernels) against the f16/bf16 builds (the runtime's
FlashAttention kernel), and checks the f16/bf16 outputs against the f32
build's (relative L2 <= 1e-2). Whole-model times: projections and transfers
included.

    attention_e2e.py --bundle .gpu-bundle --seq 4096 --out DIR
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--bench", type=int, default=10)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(a.bundle, "lib"))
    x = np.random.default_rng(0).standard_normal((1, a.seq, 256)).astype(np.float32)
    inputs = os.path.join(a.out, "x.npz")
    np.savez(inputs, x=x)
    results, ref = {}, None
    for precision in ("", ".fp16", ".bf16"):
        lib = os.path.join(a.bundle, "models", "attn_d128.O2%s.so" % precision)
        out = os.path.join(a.out, "out%s.npz" % precision)
        r = subprocess.run([os.path.join(a.bundle, "bin", "tessel-run"), lib,
                            "--inputs", inputs, "--outputs", out, "--bench",
                            str(a.bench)], capture_output=True, text=True,
                           env=env, timeout=500)
        if r.returncode != 0:
            sys.exit(r.stdout + r.stderr)
        median = float(re.search(r"median ([0-9.]+) ms", r.stdout).group(1))
        with np.load(out) as o:
            y = o["out"].astype(np.float64)
        if ref is None:
            ref = y
            err = 0.0
        else:
            err = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
        results[precision or "fp32"] = (median, err)
        print("attn_d128 seq %d %-5s median %.3f ms  rel L2 vs fp32 %.2e" % (
            a.seq, precision.strip(".") or "fp32", median, err), flush=True)
    bad = [k for k, (_, e) in results.items() if not e <= 1e-2]
    sys.exit("rel L2 above 1e-2: %s" % bad if bad else 0)


if __name__ == "__main__":
    main()
