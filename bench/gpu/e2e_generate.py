#!/usr/bin/env python3
"""End-to-end generation benchmark (issue 6): a Llama with SmolLM2-1.7B's
shape (hidden 2048, 24 layers, 32 heads, 32 kv heads, intermediate 8192,
vocab 49152, tied embeddings) and random weights, exported to ONNX here,
compiled with `tesselc --kv-cache --target=cuda --precision=bf16`, and run
with `tessel-run --generate --bench` beside HF `generate` (bf16, its own
cache) in the same run:
  - batch 1: 300 greedy tokens from a 5-token prompt;
  - batch 32: 128 prompt + 128 new tokens per sequence.
Also the roofline of batch 1 (weight bytes / the measured device-to-device
copy bandwidth) and whether tessel's and HF's greedy tokens agree.

    python3 bench/gpu/e2e_generate.py --tesselc PATH --tessel-run PATH \
        --work DIR --out DIR [--layers 24] [--skip-export]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

import torch


def copy_bandwidth_tb_s():
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(True), torch.cuda.Event(True)
    start.record()
    for _ in range(10):
        b.copy_(a)
    end.record()
    torch.cuda.synchronize()
    ms = start.elapsed_time(end) / 10
    return 2 * n / (ms * 1e-3) / 1e12


def make_model(layers):
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(hidden_size=2048, num_hidden_layers=layers,
                         num_attention_heads=32, num_key_value_heads=32,
                         intermediate_size=8192, vocab_size=49152,
                         tie_word_embeddings=True, max_position_embeddings=8192,
                         rope_theta=130000.0, rms_norm_eps=1e-5)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    # Random weights of a trained model's scale: logits with clear maxima.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.02)
    return model.eval()


class Wrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          use_cache=False).logits


def export(model, path):
    ids = torch.ones(1, 8, dtype=torch.int64)
    mask = torch.ones(1, 8, dtype=torch.int64)
    torch.onnx.export(Wrapper(model), (ids, mask), path,
                      input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], opset_version=17,
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                    "attention_mask": {0: "batch", 1: "seq"},
                                    "logits": {0: "batch", 1: "seq"}},
                      dynamo=False)


def hf_generate(model, prompts, new_tokens, runs):
    ids = torch.tensor(prompts, dtype=torch.int64, device="cuda")
    mask = torch.ones_like(ids)
    times, out = [], None
    for _ in range(runs + 1):  # the first run warms up
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = model.generate(input_ids=ids, attention_mask=mask,
                             max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=0)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    seconds = sorted(times[1:])[len(times[1:]) // 2]
    tokens = out[:, ids.shape[1]:].tolist()
    return len(prompts) * new_tokens / seconds, tokens


def tessel_generate(run, lib, prompts, new_tokens, runs):
    spec = ";".join(",".join(str(t) for t in p) for p in prompts)
    p = subprocess.run([run, lib, "--generate", "--prompt-ids", spec,
                        "--max-new-tokens", str(new_tokens), "--bench",
                        str(runs)], capture_output=True, text=True,
                       timeout=900)
    if p.returncode != 0:
        raise RuntimeError("tessel-run failed:\n" + p.stdout + p.stderr)
    rate, tokens = None, []
    for line in p.stdout.splitlines():
        if line.startswith("benchmark:"):
            rate = float(line.split("median")[1].split()[0])
        elif line.strip() and line.split()[0].lstrip("-").isdigit():
            tokens.append([int(t) for t in line.split()])
    return rate, tokens, p.stdout


def profile(args, lib, prompts, result):
    """Each kernel of prefill + 2 decode steps under ncu (its own clocks
    left alone), and the sums of the last decode step by kernel name."""
    spec = ";".join(",".join(str(t) for t in p) for p in prompts)
    p = subprocess.run(["ncu", "--clock-control", "none", "--csv",
                        "--metrics", "gpu__time_duration.sum",
                        args.tessel_run, lib, "--generate", "--prompt-ids",
                        spec, "--max-new-tokens", "3"],
                       capture_output=True, text=True, timeout=900)
    with open(os.path.join(args.out, "e2e-profile.csv"), "w") as f:
        f.write(p.stdout)
    if p.returncode != 0:
        print("ncu failed:", p.stderr[-2000:], flush=True)
        return
    import csv
    rows = [r for r in csv.reader(
        l for l in p.stdout.splitlines() if l.startswith('"'))]
    head, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(head)}
    kernels = [(r[col["Kernel Name"]], float(r[col["Metric Value"]].replace(",", "")),
                r[col["Metric Unit"]]) for r in body
               if r[col["Metric Name"]] == "gpu__time_duration.sum"]
    scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "ns": 1e-3,
             "us": 1.0, "ms": 1e3}
    us = [(name, v * scale.get(unit, 1.0)) for name, v, unit in kernels]
    result["profile_kernels"] = len(us)
    result["profile_total_us"] = sum(t for _, t in us)
    by_name = {}
    for name, t in us:
        n, total = by_name.get(name[:60], (0, 0.0))
        by_name[name[:60]] = (n + 1, total + t)
    top = sorted(by_name.items(), key=lambda kv: -kv[1][1])[:25]
    result["profile_top"] = [dict(kernel=k, launches=n, us=t)
                             for k, (n, t) in top]
    print("profile: %d kernels, %.0f us in all" % (len(us), sum(t for _, t in us)))
    for k, (n, t) in top:
        print("  %-60s %5d launches %10.1f us" % (k, n, t))


def agree(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tesselc", required=True)
    ap.add_argument("--tessel-run", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sync-baseline", action="store_true",
                    help="also time batch 1 with a build whose launches wait "
                         "(--cuda-async-launches=false)")
    ap.add_argument("--profile", action="store_true",
                    help="also run Nsight Compute over a 5-token prompt and "
                         "3 new tokens at batch 1 (prefill + 2 decode "
                         "steps): every kernel's duration in launch order, "
                         "to e2e-profile.csv")
    args = ap.parse_args()
    t0 = time.time()

    def log(what):
        print("[%6.1f s] %s" % (time.time() - t0, what), flush=True)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    result = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "gpu": torch.cuda.get_device_name(), "layers": args.layers,
              "torch": torch.__version__}
    copy = copy_bandwidth_tb_s()
    result["copy_tb_s"] = copy

    log("copy %.2f TB/s" % copy)
    model = make_model(args.layers)
    log("model built")
    onnx_path = os.path.join(args.work, "smollm.onnx")
    t = time.time()
    export(model, onnx_path)
    result["export_s"] = time.time() - t
    log("exported")
    lib = os.path.join(args.work, "smollm.so")
    t = time.time()
    subprocess.run([args.tesselc, onnx_path, "--kv-cache", "--target=cuda",
                    "--precision=bf16", "-o", lib], check=True)
    result["compile_s"] = time.time() - t
    log("compiled")
    if args.sync_baseline:
        subprocess.run([args.tesselc, onnx_path, "--kv-cache", "--target=cuda",
                        "--precision=bf16", "--cuda-async-launches=false",
                        "-o", os.path.join(args.work, "smollm_sync.so")],
                       check=True)
        log("compiled the sync baseline")
    for f in os.listdir(args.work):  # the export is not needed any more
        if not f.startswith(("smollm.", "smollm_sync.")) or f.endswith(".onnx") \
                or f.endswith(".data"):
            os.remove(os.path.join(args.work, f))

    model = model.to(torch.bfloat16).cuda()
    weight_bytes = sum(p.numel() * p.element_size()
                       for p in model.parameters())
    result["weight_bytes"] = weight_bytes
    roofline = copy * 1e12 / weight_bytes  # tokens/s at batch 1
    result["roofline_tokens_s"] = roofline

    g = torch.Generator().manual_seed(1)
    cases = [("batch 1, 5 + 300", [[int(x) for x in torch.randint(
                  1, 49152, (5,), generator=g)]], 300),
             ("batch 32, 128 + 128", torch.randint(
                  1, 49152, (32, 128), generator=g).tolist(), 128)]
    rows = []
    for name, prompts, new in cases:
        hf_rate, hf_tokens = hf_generate(model, prompts, new, args.runs)
        ts_rate, ts_tokens, _ = tessel_generate(args.tessel_run, lib,
                                                   prompts, new, args.runs)
        same = [agree(a, b) for a, b in zip(ts_tokens, hf_tokens)]
        rows.append(dict(case=name, tessel_tokens_s=ts_rate,
                         hf_tokens_s=hf_rate, vs_hf=ts_rate / hf_rate,
                         vs_roofline=(ts_rate / roofline
                                      if len(prompts) == 1 else None),
                         tokens_agreeing_with_hf=same[:4],
                         min_agreeing=min(same) if same else 0))
        if args.sync_baseline and len(prompts) == 1:
            sync_rate, _, _ = tessel_generate(
                args.tessel_run, os.path.join(args.work, "smollm_sync.so"),
                prompts, new, args.runs)
            rows[-1]["tessel_sync_launches_tokens_s"] = sync_rate
        log(rows[-1])
    result["rows"] = rows
    if args.profile:
        profile(args, lib, cases[0][1], result)
        log("profiled")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    with open(os.path.join(args.out, "e2e-generate.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = ["# End-to-end generation, SmolLM2-1.7B shape (%d layers), bf16"
             % args.layers, "",
             "%s, %s, torch %s. Copy bandwidth %.2f TB/s; weights %.2f GB; "
             "batch-1 roofline %.0f tokens/s. Export %.0f s, tesselc %.0f s."
             % (result["date"], result["gpu"], result["torch"], copy,
                weight_bytes / 1e9, roofline, result["export_s"],
                result["compile_s"]), "",
             "| case | tessel tokens/s | tessel, a wait per launch | "
             "HF generate tokens/s | vs HF | vs roofline | greedy tokens "
             "equal to HF's (first rows) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        sync = r.get("tessel_sync_launches_tokens_s")
        lines.append("| %s | %.1f | %s | %.1f | %.2fx | %s | %s |" % (
            r["case"], r["tessel_tokens_s"],
            "%.1f" % sync if sync else "-", r["hf_tokens_s"], r["vs_hf"],
            "%.1f%%" % (100 * r["vs_roofline"]) if r["vs_roofline"] else "-",
            ", ".join(str(x) for x in r["tokens_agreeing_with_hf"])))
    with open(os.path.join(args.out, "e2e-generate.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
