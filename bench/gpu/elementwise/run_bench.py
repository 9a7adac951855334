#!/usr/bin/env python3
"""Element-wise / norm kernel benchmark on a GPU: the graphs of
make_models.py compiled for CUDA (f32) run on [rows, 4096] inputs under
Nsight Compute, which reports each generated kernel's duration and DRAM
traffic; each kernel's bandwidth (DRAM bytes / duration) is compared with
the device-to-device copy bandwidth measured by PyTorch in the same run
(read + write bytes / time of a 1 GiB copy). Only the last of the runs is
counted (the memory pool has the buffers on the device by then).

    run_bench.py --libs DIR --tessel-run PATH --out DIR [--rows 16384]
"""
import argparse
import datetime
import json
import os
import re
import subprocess

import numpy as np


def copy_bandwidth():
    import torch
    n = 1 << 28  # 1 GiB of f32
    a = torch.empty(n, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(True), torch.cuda.Event(True)
    times = []
    for _ in range(10):
        start.record()
        b.copy_(a)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    ms = sorted(times)[len(times) // 2]
    return 2 * 4 * n / ms / 1e9  # TB/s


def ncu_kernels(cmd, env, runs):
    r = subprocess.run(["ncu", "--clock-control", "none", "--metrics",
                        "gpu__time_duration.sum,dram__bytes_read.sum,"
                        "dram__bytes_write.sum"] + cmd,
                       capture_output=True, text=True, env=env, timeout=500)
    if r.returncode != 0:
        raise SystemExit(r.stdout[-3000:] + r.stderr[-3000:])
    kernels, cur = [], None
    scale = {"byte": 1, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9,
             "ns": 1e-9, "us": 1e-6, "usecond": 1e-6, "ms": 1e-3,
             "msecond": 1e-3, "nsecond": 1e-9}
    for line in r.stdout.splitlines():
        m = re.match(r"^  (\S+) \(([\d, ]+)\)x\(([\d, ]+)\)", line)
        if m:
            cur = {"kernel": m.group(1), "grid": m.group(2),
                   "block": m.group(3)}
            kernels.append(cur)
            continue
        m = re.match(r"^\s+(dram__bytes_read\.sum|dram__bytes_write\.sum|"
                     r"gpu__time_duration\.sum)\s+(\S+)\s+([\d.,]+)", line)
        if m and cur is not None:
            cur[m.group(1)] = float(m.group(3).replace(",", "")) * scale[m.group(2)]
    per_run = len(kernels) // runs
    return kernels[-per_run:] if per_run else kernels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--libs", required=True)
    ap.add_argument("--tessel-run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=16384)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ)
    copy = copy_bandwidth()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((a.rows, 4096)).astype(np.float32)
    y = rng.standard_normal((a.rows, 4096)).astype(np.float32)
    rows = []
    for name, inputs in (("ew_chain", {"x": x, "y": y}),
                         ("rms_norm", {"x": x}),
                         ("add_norm", {"x": x, "y": y})):
        npz = os.path.join(a.out, name + ".in.npz")
        np.savez(npz, **inputs)
        # tessel-run --bench 1: one run, 3 warm-up runs, 1 timed run.
        runs = 5
        kernels = ncu_kernels([a.tessel_run, os.path.join(a.libs, name + ".so"),
                               "--inputs", npz, "--bench", "1"], env, runs)
        ideal = (len(inputs) + 1) * x.nbytes
        total_t = sum(k.get("gpu__time_duration.sum", 0) for k in kernels)
        for k in kernels:
            t = k.get("gpu__time_duration.sum", 0)
            moved = k.get("dram__bytes_read.sum", 0) + k.get("dram__bytes_write.sum", 0)
            k["TBps"] = moved / t / 1e12 if t else 0
            k["of_copy"] = k["TBps"] / copy
        rows.append({"graph": name, "ideal_bytes": ideal,
                     "kernel_seconds": total_t,
                     "graph_TBps": ideal / total_t / 1e12 if total_t else 0,
                     "kernels": kernels})
        print("%-9s %d kernels, %.3f ms, ideal bytes / kernel time = %.2f TB/s "
              "(%.0f%% of copy %.2f TB/s)" % (
                  name, len(kernels), total_t * 1e3, rows[-1]["graph_TBps"],
                  100 * rows[-1]["graph_TBps"] / copy, copy), flush=True)
        for k in kernels:
            print("    %-32s grid %-14s block %-12s %8.1f us %7.1f MB  %.2f TB/s (%3.0f%%)" % (
                k["kernel"][:32], k["grid"], k["block"],
                k.get("gpu__time_duration.sum", 0) * 1e6,
                (k.get("dram__bytes_read.sum", 0) + k.get("dram__bytes_write.sum", 0)) / 1e6,
                k["TBps"], 100 * k["of_copy"]))
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    json.dump({"date": when, "copy_TBps": copy, "rows": rows},
              open(os.path.join(a.out, "elementwise.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
