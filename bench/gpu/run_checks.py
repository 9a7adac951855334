#!/usr/bin/env python3
"""The GPU checks, on a machine with an NVIDIA GPU and a bundle made by
bench/gpu/make_bundle.sh (no LLVM needed there).

For every model of test/models compiled with --target=cuda at -O0 and -O2:
tessel-run compares its outputs with `out` of the model's .npz (ONNX
Runtime's result; tinylm_bytes: the CPU target's) at --rtol/--atol 1e-3, and
times it (--bench). Models compiled with --precision=fp16|bf16
(NAME.O2.fp16.so) must be within a relative L2 error of 1e-2 of the same
float32 reference. The bundle also holds two attention blocks at head dims
64 and 128 (test/lib/attention_model.py), whose f16/bf16 builds run the
runtime's FlashAttention kernel. Writes a Markdown table and JSON, with date
and GPU, to the output folder; exits non-zero if any model does not match.

    python3 bench/gpu/run_checks.py --bundle .gpu-bundle --out $OUT
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def gpu_name():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                              "--format=csv,noheader"],
                             stdout=subprocess.PIPE, universal_newlines=True,
                             timeout=60).stdout.strip()
        return out or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def onnxruntime_ms(onnx_path, npz, runs):
    """Median ms of ONNX Runtime (CPU) on the same inputs, or None."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        return None
    import time
    session = ort.InferenceSession(onnx_path,
                                   providers=["CPUExecutionProvider"])
    with np.load(npz) as data:
        feeds = {i.name: data[i.name] for i in session.get_inputs()}
    for _ in range(3):
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bundle", default=os.path.join(ROOT, ".gpu-bundle"))
    p.add_argument("--out", required=True)
    p.add_argument("--bench", type=int, default=20)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(args.bundle, "lib") + (
        ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    run = os.path.join(args.bundle, "bin", "tessel-run")
    rows, failed = [], 0
    for so in sorted(f for f in os.listdir(os.path.join(args.bundle, "models"))
                     if f.endswith(".so")):
        name, opt, precision = re.match(
            r"(.+)\.O(\d)(?:\.(fp16|bf16))?\.so$", so).groups()
        precision = precision or "fp32"
        npz = os.path.join(ROOT, "test", "models", name + ".npz")
        if not os.path.exists(npz):
            npz = os.path.join(args.bundle, "models", name + ".npz")
        lib = os.path.join(args.bundle, "models", so)
        if precision == "fp32":
            cmd = [run, lib, "--inputs", npz, "--compare", npz, "--rtol",
                   "1e-3", "--atol", "1e-3", "--bench", str(args.bench)]
        else:
            outputs = os.path.join(args.out, so[:-3] + ".out.npz")
            cmd = [run, lib, "--inputs", npz, "--outputs", outputs,
                   "--bench", str(args.bench)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True,
                           env=env, timeout=600)
        err = re.search(r"max_abs_err=(\S+)", r.stdout)
        median = re.search(r"median[ =:]+([0-9.]+) ?ms", r.stdout)
        row = {"model": name, "opt": int(opt), "precision": precision,
               "rc": r.returncode,
               "max_abs_err": float(err.group(1)) if err else None,
               "median_ms": float(median.group(1)) if median else None}
        if precision != "fp32" and r.returncode == 0:
            import numpy as np
            with np.load(outputs) as got, np.load(npz) as ref:
                errors = [float(np.linalg.norm(got[k].astype(np.float64) -
                                               ref[k].astype(np.float64)) /
                                np.linalg.norm(ref[k].astype(np.float64)))
                          for k in got.files if k in ref.files]
            row["rel_l2"] = max(errors) if errors else None
            if not errors or row["rel_l2"] > 1e-2 or not all(
                    e == e for e in errors):
                row["rc"] = 1
            os.remove(outputs)
        if row["rc"] != 0:
            failed += 1
            row["output"] = r.stdout[-2000:]
        onnx_path = os.path.join(ROOT, "test", "models", name + ".onnx")
        if opt == "2" and precision == "fp32" and os.path.exists(onnx_path):
            row["onnxruntime_cpu_ms"] = onnxruntime_ms(onnx_path, npz,
                                                       args.bench)
        rows.append(row)
        print("%-24s -O%s %s rc=%d rel_l2=%s %s" % (
            name, opt, precision, row["rc"], row.get("rel_l2"),
            r.stdout.strip().splitlines()[-3:]), flush=True)
    when = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    gpu = gpu_name()
    result = {"date": when, "gpu": gpu, "rows": rows, "failed": failed}
    with open(os.path.join(args.out, "gpu-checks.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(args.out, "gpu-checks.md"), "w") as f:
        f.write("# GPU end-to-end checks (--target=cuda)\n\n%s, %s\n\n" % (
            when, gpu))
        f.write("Each model runs on its `.npz` inputs (batch 2 x seq 16; "
                "tinylm_bytes 2 x 256). `median ms`: tessel-run --bench on "
                "the GPU; `ORT CPU ms`: ONNX Runtime on this machine's "
                "CPU, same inputs, same run (-O2 rows).\n\n")
        f.write("fp32 rows must match `out` at --rtol/--atol 1e-3 (`max abs "
                "err`); fp16/bf16 rows (--precision) within a relative L2 "
                "error of 1e-2 of the same float32 reference (`rel L2`).\n\n")
        f.write("| model | opt | precision | matches | max abs err | rel L2 | "
                "median ms | ORT CPU ms |\n"
                "| --- | --- | --- | --- | --- | --- | --- | --- |\n")
        for row in rows:
            ort_ms = row.get("onnxruntime_cpu_ms")
            rel = row.get("rel_l2")
            f.write("| %s | -O%d | %s | %s | %s | %s | %s | %s |\n" % (
                row["model"], row["opt"], row["precision"],
                "yes" if row["rc"] == 0 else "NO",
                row["max_abs_err"] if row["max_abs_err"] is not None else "",
                "%.2e" % rel if rel is not None else "", row["median_ms"],
                "%.3f" % ort_ms if ort_ms is not None else ""))
    print("%d of %d failed" % (failed, len(rows)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
