#!/usr/bin/env python3
"""tessel CPU vs ONNX Runtime CPU, side by side in one run.

For each model: compile with tesselc (-O2), then time the same inputs through
`tessel-run --bench` and through onnxruntime's InferenceSession (CPU provider,
same thread count), median of N runs after warm-up. Writes a Markdown table
and a JSON file to the results folder, with the date and machine.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def time_ort(model, inputs, runs, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    for _ in range(3):
        sess.run(None, inputs)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, inputs)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), min(times)


def time_tessel(tessel_run, lib, inputs, runs, workdir, threads):
    path = os.path.join(workdir, "in.npz")
    np.savez(path, **inputs)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([tessel_run, lib, "--inputs", path, "--bench",
                          str(runs)], check=True, capture_output=True,
                         text=True, env=env).stdout
    median = float(re.search(r"median[^0-9]*([0-9.]+)", out).group(1))
    best = float(re.search(r"min[^0-9]*([0-9.]+)", out).group(1))
    return median, best


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--models", default=os.path.join(ROOT, "test", "models"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()

    tesselc = os.path.join(args.build, "bin", "tesselc")
    tessel_run = os.path.join(args.build, "bin", "tessel-run")
    rng = np.random.default_rng(0)
    cases = [
        ("tinylm_bytes_eager_ts", 1, 256),
        ("tinylm_bytes_eager_ts", 8, 256),
        ("gpt2_eager_ts", 2, 16),
        ("gpt2_eager_ts", 8, 128),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        built = {}
        for name, batch, seq in cases:
            onnx_path = os.path.join(args.models, name + ".onnx")
            if name not in built:
                lib = os.path.join(workdir, name + ".so")
                subprocess.run([tesselc, onnx_path, "-O2", "-o", lib], check=True)
                built[name] = lib
            ids = rng.integers(0, 256, size=(batch, seq), dtype=np.int64)
            inputs = {"input_ids": ids,
                      "attention_mask": np.ones((batch, seq), np.int64)}
            tm, tb = time_tessel(tessel_run, built[name], inputs, args.runs,
                                 workdir, args.threads)
            om, ob = time_ort(onnx_path, inputs, args.runs, args.threads)
            rows.append(dict(model=name, batch=batch, seq=seq,
                             tessel_median_ms=tm, tessel_min_ms=tb,
                             ort_median_ms=om, ort_min_ms=ob,
                             speedup=om / tm))
            print(f"{name} {batch}x{seq}: tessel {tm:.2f} ms, "
                  f"onnxruntime {om:.2f} ms, ratio (ort/tessel) {om / tm:.2f}")

    stamp = datetime.datetime.now(datetime.timezone.utc)
    machine = f"{cpu_name()}, {os.cpu_count()} cores"
    meta = dict(date=stamp.isoformat(timespec="seconds"), machine=machine,
                threads=args.threads, runs=args.runs,
                onnxruntime=ort.__version__, rows=rows)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"cpu-vs-onnxruntime-{stamp:%Y-%m-%d}")
    json.dump(meta, open(base + ".json", "w"), indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"# tessel CPU vs ONNX Runtime CPU\n\n{meta['date']}, {machine}; "
                f"{args.threads} threads each (OpenBLAS / ORT intra-op); "
                f"onnxruntime {ort.__version__}; median of {args.runs} runs "
                f"after 3 warm-up runs, same inputs, same process model "
                f"(tessel via tessel-run, ORT via its Python API).\n\n")
        f.write("| model | batch x seq | tessel ms | ORT ms | ORT/tessel |\n")
        f.write("| --- | --- | --- | --- | --- |\n")
        for r in rows:
            f.write(f"| {r['model']} | {r['batch']}x{r['seq']} | "
                    f"{r['tessel_median_ms']:.2f} | {r['ort_median_ms']:.2f} | "
                    f"{r['speedup']:.2f} |\n")
    print("wrote", base + ".md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
