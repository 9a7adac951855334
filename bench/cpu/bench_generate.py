#!/usr/bin/env python3
"""Greedy generation on the CPU: tessel's paged KV cache vs ONNX Runtime.

tinylm_bytes (test/models) compiled with `tesselc --kv-cache` generates with
`tessel-run --generate --bench N` (prefill each prompt, then one decode step
per token over all sequences; median tokens/s of N generations, prefill
included). The peer is what ONNX Runtime can do with the stateless export
(the method greedy.json was made with): run the whole sequence again at
every step. Both produce the same tokens (checked). Writes a Markdown table
and JSON with date and machine to the results folder.

    python3 bench/cpu/bench_generate.py --build build --out bench/results
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ort_generate(session, prompts, new_tokens):
    """Greedy generation by recomputation; returns (tokens, seconds)."""
    seqs = [list(p) for p in prompts]
    start = time.perf_counter()
    for _ in range(new_tokens):
        ids = np.array(seqs, dtype=np.int64)  # equal-length prompts
        logits = session.run(None, {"input_ids": ids,
                                    "attention_mask": np.ones_like(ids)})[0]
        for s, row in zip(seqs, logits[:, -1, :]):
            s.append(int(row.argmax()))
    seconds = time.perf_counter() - start
    return [s[len(p):] for s, p in zip(seqs, prompts)], seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    onnx = os.path.join(ROOT, "test", "models", "tinylm_bytes_eager_ts.onnx")
    work = tempfile.mkdtemp(prefix="tessel-gen-")
    lib = os.path.join(work, "lm.so")
    subprocess.run([os.path.join(args.build, "bin", "tesselc"), onnx, "--kv-cache",
                    "-o", lib], check=True)
    opts = ort.SessionOptions()
    session = ort.InferenceSession(onnx, opts, providers=["CPUExecutionProvider"])
    text = open(os.path.join(ROOT, "README.md"), "rb").read()
    cases = [(1, 15, 128), (8, 15, 64)]
    rows = []
    for batch, prompt_len, new in cases:
        prompts = [list(text[i * 40:i * 40 + prompt_len]) for i in range(batch)]
        spec = ";".join(",".join(str(t) for t in p) for p in prompts)
        out = subprocess.run([os.path.join(args.build, "bin", "tessel-run"), lib, "--generate",
                              "--prompt-ids", spec, "--max-new-tokens", str(new),
                              "--bench", str(args.runs)],
                             check=True, capture_output=True, text=True).stdout
        lines = [l for l in out.splitlines() if l and l[0].isdigit()]
        ours_tokens = [[int(t) for t in l.split()] for l in lines]
        rate = float(out.split("median ")[1].split(" tokens/s")[0])
        ort_times = []
        for _ in range(args.runs):
            ort_tokens, seconds = ort_generate(session, prompts, new)
            ort_times.append(seconds)
        ort_rate = batch * new / sorted(ort_times)[len(ort_times) // 2]
        rows.append(dict(batch=batch, prompt=prompt_len, new_tokens=new,
                         tessel_tokens_s=rate, ort_tokens_s=ort_rate,
                         same_tokens=ours_tokens == ort_tokens))
        print(rows[-1], flush=True)
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=platform.processor() or platform.machine(), cpus=os.cpu_count(),
                load=os.getloadavg()[0], onnxruntime=ort.__version__)
    stamp = meta["date"][:10]
    os.makedirs(args.out, exist_ok=True)
    json.dump(dict(meta=meta, rows=rows),
              open(os.path.join(args.out, "cpu-generate-%s.json" % stamp), "w"), indent=1)
    lines = ["# Greedy generation on the CPU, tinylm_bytes (%s, %d CPUs, 1-min load %.1f, "
             "ONNX Runtime %s)" % (meta["date"], meta["cpus"], meta["load"], meta["onnxruntime"]),
             "",
             "tessel: `tesselc --kv-cache`, `tessel-run --generate` (paged KV cache, prefill "
             "included). ONNX Runtime: the stateless graph on the whole sequence at every step.",
             "",
             "| batch | prompt | new tokens | tessel tokens/s | ORT tokens/s | tessel/ORT | same tokens |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append("| %d | %d | %d | %.0f | %.0f | %.1fx | %s |" % (
            r["batch"], r["prompt"], r["new_tokens"], r["tessel_tokens_s"], r["ort_tokens_s"],
            r["tessel_tokens_s"] / r["ort_tokens_s"], "yes" if r["same_tokens"] else "NO"))
    text = "\n".join(lines) + "\n"
    open(os.path.join(args.out, "cpu-generate-%s.md" % stamp), "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
