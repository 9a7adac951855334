# --precision=fp16|bf16 on the CPU target: every model in test/models with a
# reference (.npz), compiled at -O2 (and gpt2/llama at -O0 too), and two
# attention blocks at head dims 64 (causal GQA) and 128 (MHA, not causal)
# made by test/lib/attention_model.py, must stay within a relative L2 error
# of 1e-2 of ONNX Runtime's float32 output. Inputs and outputs stay f32.
# (The CPU computes f16/bf16 through conversions and loops, not BLAS: the
# trained tinylm's accuracy in bf16 is checked on the GPU, by
# bench/gpu/run_checks.py.)
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %models %testlib %t

import concurrent.futures
import os
import subprocess
import sys

import numpy as np

models_dir, testlib, work = sys.argv[1:4]
BOUND = 1e-2


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode,
                                                      p.stdout, p.stderr))
    return p.stdout


def rel_l2(got, want):
    got = got.astype(np.float64)
    want = want.astype(np.float64)
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


# The attention blocks (random weights, ONNX Runtime's output).
for name, args in (("attn_d64_gqa", ["--head-dim", "64", "--heads", "4",
                                     "--kv-heads", "2", "--causal", "1"]),
                   ("attn_d128", ["--head-dim", "128", "--heads", "2",
                                  "--kv-heads", "2", "--causal", "0"])):
    run([sys.executable, os.path.join(testlib, "attention_model.py"),
         os.path.join(work, name)] + args)

cases = []
for f in sorted(os.listdir(models_dir)):
    if f.endswith(".npz"):
        name = f[:-4]
        opts = ["0", "2"] if name.endswith("_sdpa_dynamo") else ["2"]
        cases += [(os.path.join(models_dir, name), o) for o in opts]
cases += [(os.path.join(work, n), "2") for n in ("attn_d64_gqa", "attn_d128")]
assert len(cases) >= 16, cases


def check(case, precision):
    prefix, opt = case
    name = os.path.basename(prefix)
    lib = os.path.join(work, "%s.O%s.%s.so" % (name, opt, precision))
    run(["tesselc", prefix + ".onnx", "-O" + opt, "--precision=" + precision,
         "-o", lib])
    out = lib[:-3] + ".out.npz"
    run(["tessel-run", lib, "--inputs", prefix + ".npz", "--outputs", out])
    with np.load(out) as got, np.load(prefix + ".npz") as ref:
        errors = {k: rel_l2(got[k], ref[k]) for k in got.files if k in ref.files}
    assert errors, (name, "no output compared")
    return name, opt, precision, errors


failures = []
jobs = [(c, p) for c in cases for p in ("fp16", "bf16")]
with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    for name, opt, precision, errors in pool.map(lambda j: check(*j), jobs):
        for k, e in errors.items():
            ok = e <= BOUND
            print("%-26s -O%s %-4s %s: relative L2 error %.2e %s" %
                  (name, opt, precision, k, e, "OK" if ok else "FAIL"))
            if not ok:
                failures.append((name, opt, precision, k, e))

if failures:
    sys.exit("relative L2 error above %g: %s" % (BOUND, failures))
print("%d compilations within %g" % (len(jobs), BOUND))
