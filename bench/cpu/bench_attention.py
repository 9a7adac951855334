#!/usr/bin/env python3
"""Fused tiled attention vs the unfused graph on the CPU, side by side.

For each sequence length (batch 1, 8 heads, head dim 64, self-attention):

  fused            one ONNX `Attention` node (opset 23), tesselc -O2: the
                   tessel.attention op goes through tessel-tile-attention and
                   convert-tessel-attention-to-loops (tile products: OpenBLAS)
  fused, loops     the same with --blas=false (tile products as loops)
  unfused 3-D -O0  Transpose(k), MatMul(q, k^T), Mul(scale), Softmax,
                   MatMul(p, v) spelled out in ONNX on [heads, seq, dim]
                   tensors, tesselc -O0 (no graph passes, hence no fusion;
                   LLVM -O1 as for every -O0 build); the products are
                   linalg.batch_matmul, i.e. OpenBLAS
  unfused 3-D -O2  the same graph with the scale as a graph input, which keeps
                   tessel-fuse-attention from firing (checked with
                   --emit=tessel), compiled at -O2 like the fused one
  unfused 4-D -O0  the graph on [1, heads, seq, dim] as exporters write it
                   (its batch_matmuls stay named ops since
                   tessel-fuse-elementwise replaced upstream's fusion, which
                   folded the reshapes into them and lost OpenBLAS)

each without and with a causal mask (fused: is_causal = 1; unfused: a
[seq, seq] bool mask input and Where). Every model is timed by
`tessel-run --bench` (median of N runs after 3 warm-up runs) in its own
process, whose peak RSS is recorded too (test/lib/peak_rss.py). A variant
that fails (e.g. out of memory) is reported as such. Writes a Markdown table
and JSON, with date and machine, to the results folder.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
from peak_rss import run_with_peak_rss  # noqa: E402
HEADS, HEAD_DIM = 8, 64


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def fused_model(seq, causal):
    shape = [1, HEADS, seq, HEAD_DIM]
    attrs = {"is_causal": 1} if causal else {}
    node = helper.make_node("Attention", ["q", "k", "v"], ["y"], name="y",
                            **attrs)
    graph = helper.make_graph(
        [node], "fused", [vi(n, TensorProto.FLOAT, shape) for n in "qkv"],
        [vi("y", TensorProto.FLOAT, shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)],
                             ir_version=10)


def unfused_model(seq, causal, scale_input, rank=4):
    """softmax(q x k^T * scale [masked]) x v as separate ONNX ops, on
    [1, heads, seq, dim] (rank 4) or [heads, seq, dim] (rank 3) tensors."""
    shape = [1, HEADS, seq, HEAD_DIM][4 - rank:]
    inputs = [vi(n, TensorProto.FLOAT, shape) for n in "qkv"]
    inits = []
    perm = [0, 1, 3, 2] if rank == 4 else [0, 2, 1]
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=perm),
             helper.make_node("MatMul", ["q", "kt"], ["qk"])]
    if scale_input:
        inputs.append(vi("scale", TensorProto.FLOAT, []))
    else:
        inits.append(numpy_helper.from_array(
            np.array(1 / np.sqrt(HEAD_DIM), np.float32), "scale"))
    nodes.append(helper.make_node("Mul", ["qk", "scale"], ["s"]))
    scores = "s"
    if causal:
        inputs.append(vi("causal", TensorProto.BOOL, [seq, seq]))
        inits.append(numpy_helper.from_array(
            np.array(-np.inf, np.float32), "ninf"))
        nodes.append(helper.make_node("Where", ["causal", "s", "ninf"],
                                      ["sm"]))
        scores = "sm"
    nodes += [helper.make_node("Softmax", [scores], ["p"], axis=-1),
              helper.make_node("MatMul", ["p", "v"], ["y"])]
    graph = helper.make_graph(nodes, "unfused", inputs,
                              [vi("y", TensorProto.FLOAT, shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)],
                             ir_version=10)


def run_measured(cmd, env):
    """Runs `cmd`; returns (returncode, output, peak RSS in MiB)."""
    code, out, peak = run_with_peak_rss(cmd, env)
    return code, out, peak / 2.0**20


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--seqs", default="512,2048,8192")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="OPENBLAS_NUM_THREADS")
    p.add_argument("--loops-max-seq", type=int, default=2048,
                   help="longest sequence timed for the variants whose "
                        "products are loops (fused --blas=false, unfused 4-D)")
    args = p.parse_args()

    tesselc = os.path.join(args.build, "bin", "tesselc")
    tessel_run = os.path.join(args.build, "bin", "tessel-run")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    rng = np.random.default_rng(0)
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as workdir:
        for seq in [int(s) for s in args.seqs.split(",")]:
            runs = 10 if seq <= 512 else (5 if seq <= 2048 else 3)
            shape = (1, HEADS, seq, HEAD_DIM)
            feeds = {n: rng.standard_normal(shape).astype(np.float32)
                     for n in "qkv"}
            feeds["scale"] = np.array(1 / np.sqrt(HEAD_DIM), np.float32)
            for causal in (False, True):
                if causal:
                    feeds["causal"] = np.tril(np.ones((seq, seq), bool))
                # One file per input set, holding only the model's inputs
                # (tessel-run reads every array of the file).
                def npz(name, rank, extra=()):
                    path = os.path.join(workdir, name + ".npz")
                    arrays = {n: (feeds[n] if rank == 4 else feeds[n][0])
                              for n in "qkv"}
                    arrays.update({n: feeds[n] for n in extra})
                    np.savez(path, **arrays)
                    return path

                extra = ("causal",) if causal else ()
                inputs_fused = npz("fused", 4)
                inputs_o0 = {3: npz("u3", 3, extra), 4: npz("u4", 4, extra)}
                inputs_o2 = npz("u3s", 3, extra + ("scale",))
                variants = [
                    ("fused", fused_model(seq, causal), ["-O2"],
                     inputs_fused),
                    ("fused, loops", fused_model(seq, causal),
                     ["-O2", "--blas=false"], inputs_fused),
                    ("unfused 3-D -O0", unfused_model(seq, causal, False, 3),
                     ["-O0"], inputs_o0[3]),
                    ("unfused 3-D -O2", unfused_model(seq, causal, True, 3),
                     ["-O2"], inputs_o2),
                    ("unfused 4-D -O0", unfused_model(seq, causal, False, 4),
                     ["-O0"], inputs_o0[4]),
                ]
                for name, model, flags, inputs in variants:
                    row = dict(seq=seq, causal=causal, variant=name,
                               runs=runs)
                    rows.append(row)
                    if "loops" in name and seq > args.loops_max_seq:
                        row["status"] = "not run (seq > --loops-max-seq)"
                        continue
                    path = os.path.join(workdir, "m.onnx")
                    with open(path, "wb") as f:
                        f.write(model.SerializeToString())
                    lib = os.path.join(workdir, "m.so")
                    if "-O2" in name:
                        tessel = subprocess.run(
                            [tesselc, path, "-O2", "--emit=tessel", "-o", "-"],
                            capture_output=True, text=True).stdout
                        row["fused_by_O2"] = "tessel.attention" in tessel
                    rc = subprocess.run([tesselc, path, *flags, "-o", lib],
                                        capture_output=True, text=True)
                    if rc.returncode != 0:
                        row["status"] = "compile failed: " + \
                            rc.stderr.strip()[-300:]
                        continue
                    code, out, rss = run_measured(
                        [tessel_run, lib, "--inputs", inputs, "--bench",
                         str(runs)], env)
                    row["peak_rss_mib"] = rss
                    if code != 0:
                        row["status"] = "run failed (exit %d): %s" % (
                            code, out.strip()[-300:])
                    else:
                        row["median_ms"] = float(re.search(
                            r"median[^0-9]*([0-9.]+)", out).group(1))
                        row["min_ms"] = float(re.search(
                            r"min[^0-9]*([0-9.]+)", out).group(1))
                        row["status"] = "ok"
                    print("seq %5d %-7s %-13s %s" % (
                        seq, "causal" if causal else "full", name,
                        {k: v for k, v in row.items()
                         if k in ("median_ms", "min_ms", "peak_rss_mib",
                                  "status", "fused_by_O2")}),
                        flush=True)

    stamp = datetime.datetime.now(datetime.timezone.utc)
    machine = "%s, %d cores, %.0f GiB" % (
        cpu_name(), os.cpu_count(),
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    meta = dict(date=stamp.isoformat(timespec="seconds"), machine=machine,
                threads=args.threads, load_avg_before=load_before,
                load_avg_after=os.getloadavg(), heads=HEADS, head_dim=HEAD_DIM,
                batch=1, rows=rows)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, "cpu-attention-%s-t%d" % (
        stamp.strftime("%Y-%m-%d"), args.threads))
    with open(base + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write("# Fused tiled attention vs the unfused graph (CPU)\n\n")
        f.write("%s, %s; OPENBLAS_NUM_THREADS=%d; batch 1, %d heads, head "
                "dim %d, f32, self-attention; tessel-run --bench: median "
                "(min) of N runs after 3 warm-up runs; peak RSS of the "
                "tessel-run process (inputs and output included); 1-minute "
                "load average %.1f before, %.1f after (other work on the "
                "machine).\n\n" % (
                    meta["date"], machine, args.threads, HEADS, HEAD_DIM,
                    load_before[0], meta["load_avg_after"][0]))
        f.write("| seq | mask | variant | ms median (min) | peak RSS MiB | "
                "vs fused |\n| --- | --- | --- | --- | --- | --- |\n")
        fused = {(r["seq"], r["causal"]): r.get("median_ms") for r in rows
                 if r["variant"] == "fused"}
        for r in rows:
            if r["status"] == "ok":
                t = "%.1f (%.1f)" % (r["median_ms"], r["min_ms"])
                base_t = fused.get((r["seq"], r["causal"]))
                ratio = "%.2fx" % (r["median_ms"] / base_t) if base_t else ""
            else:
                t, ratio = r["status"], ""
            rss = "%.0f" % r["peak_rss_mib"] if "peak_rss_mib" in r else ""
            name = r["variant"]
            if r.get("fused_by_O2"):
                name += " (fused by -O2!)"
            f.write("| %d | %s | %s | %s | %s | %s |\n" % (
                r["seq"], "causal" if r["causal"] else "none", name, t, rss,
                ratio))
        f.write("\n`vs fused`: the variant's median over the fused one's "
                "(> 1: the fused one is faster).\n")
    print("wrote", base + ".md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
