# The tiled attention lowering needs memory linear in the sequence, not
# quadratic: one-head (D = 64) self-attention at seq 2048, 4096 and 8192,
# compiled by tesselc and run by tessel-run, whose peak RSS is measured
# (test/lib/peak_rss.py). One [8192, 8192] f32 score matrix alone would be
# 256 MiB; the whole process must stay under a quarter of that, and the
# growth from 4096 to 8192 must be about twice that from 2048 to 4096 (a
# quadratic footprint grows 4x). The 8192 output is also checked against the
# float64 reference on a sample of rows.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t

import os
import sys

import numpy as np

from attention_ref import attention_model, reference, run_checked
from peak_rss import run_with_peak_rss

SEQS = (2048, 4096, 8192)
D = 64


def main():
    workdir = sys.argv[1]
    rng = np.random.default_rng(0)
    shape = ["b", 1, "s", D]
    model = attention_model(shape, shape, shape)
    path = os.path.join(workdir, "attn.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    lib = os.path.join(workdir, "attn.so")
    run_checked(["tesselc", path, "-o", lib])

    peaks = {}
    for seq in SEQS:
        feeds = {n: rng.standard_normal((1, 1, seq, D)).astype(np.float32)
                 for n in "qkv"}
        inputs = os.path.join(workdir, "in%d.npz" % seq)
        outputs = os.path.join(workdir, "out%d.npz" % seq)
        np.savez(inputs, **feeds)
        code, out, peak = run_with_peak_rss(
            ["tessel-run", lib, "--inputs", inputs, "--outputs", outputs],
            env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        if code != 0:
            print(out)
            print("FAIL: tessel-run exited with %d at seq %d" % (code, seq))
            return 1
        peaks[seq] = peak
        print("seq %5d: peak RSS %.1f MiB" % (seq, peak / 2**20))
        if seq == SEQS[-1]:
            rows = np.sort(rng.choice(seq, 64, replace=False))
            with np.load(outputs) as o:
                y = o["y"][:, :, rows]
            ref = reference(feeds["q"][:, :, rows], feeds["k"], feeds["v"])
            err = np.abs(y - ref).max()
            print("seq %d: max abs err on %d sampled rows %.3g" % (
                seq, len(rows), err))
            if not np.allclose(y, ref, rtol=1e-4, atol=1e-5):
                print("FAIL: output differs from the reference")
                return 1

    scores = SEQS[-1] ** 2 * 4
    limit = scores / 4
    small, mid, large = (peaks[s] for s in SEQS)
    growth = (large - mid) / max(mid - small, 1)
    print("score matrix at %d: %.0f MiB; limit %.0f MiB; growth ratio "
          "(8192-4096)/(4096-2048) = %.2f" % (
              SEQS[-1], scores / 2**20, limit / 2**20, growth))
    failed = False
    if large >= limit:
        print("FAIL: peak RSS at %d is %.1f MiB >= %.0f MiB" % (
            SEQS[-1], large / 2**20, limit / 2**20))
        failed = True
    # Linear growth doubles; quadratic would quadruple.
    if growth >= 3.0:
        print("FAIL: memory grows faster than linearly (ratio %.2f)" % growth)
        failed = True
    if not failed:
        print("PASS: peak memory grows linearly with the sequence")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
