#!/usr/bin/env python3
"""A/B timing of one build of flash_attn.cu against SDPA's flash backend
(tuning helper; run once per build, in separate processes).

    python3 bench/gpu/flash/ab.py --lib path/libtessel_flash.so --name NAME

Per configuration (32 heads, batch * seq = 16k tokens): TFLOP/s of the build
and of SDPA flash timed alternately (3 rounds each, median of --reps runs per
round, 3 rotating input sets), their ratio, and the build's output difference
vs SDPA."""
import argparse
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_and_bench import Flash, time_ms, visible_pairs  # noqa: E402

CONFIGS = [  # (dtype, d, hkv, causal, seq)
    (torch.float16, 128, 32, False, 4096), (torch.float16, 128, 32, True, 4096),
    (torch.bfloat16, 128, 8, False, 8192), (torch.float16, 128, 32, False, 16384),
    (torch.bfloat16, 128, 32, True, 16384), (torch.float16, 128, 32, False, 1024),
    (torch.float16, 64, 32, False, 4096), (torch.float16, 64, 32, True, 16384),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--name", default="ours")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    fl = Flash(args.lib)
    from torch.nn.attention import SDPBackend, sdpa_kernel
    F = torch.nn.functional
    for dtype, d, hkv, causal, s in CONFIGS:
        h, b = 32, max(1, 16384 // s)
        sets = [(torch.randn(b, h, s, d, device="cuda", dtype=dtype),
                 torch.randn(b, hkv, s, d, device="cuda", dtype=dtype),
                 torch.randn(b, hkv, s, d, device="cuda", dtype=dtype),
                 torch.empty(b, h, s, d, device="cuda", dtype=dtype)) for _ in range(3)]
        flops = 4.0 * b * h * visible_pairs(s, s, causal) * d
        ps = [fl.params(q, k, v, o, "bhsd", causal) for q, k, v, o in sets]
        rc = fl(ps[0])
        if rc != 0:
            print(f"{args.name}: rc={rc} for {dtype} d={d}")
            continue

        def sd(i):
            q, k, v, _ = sets[i]
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                                      enable_gqa=hkv != h)
        ref = sd(0).float()
        torch.cuda.synchronize()
        diff = float((sets[0][3].float() - ref).norm() / ref.norm())
        ours, fa2 = [], []
        for _ in range(3):
            ours.append(flops / time_ms(lambda i: fl(ps[i]), 3, args.reps) / 1e9)
            fa2.append(flops / time_ms(sd, 3, args.reps) / 1e9)
        o, f = statistics.median(ours), statistics.median(fa2)
        print(f"| {args.name} | {str(dtype)[6:]} | {d} | {h}/{hkv} | "
              f"{'causal' if causal else 'none'} | {s} | {o:.1f} ({min(ours):.0f}-{max(ours):.0f}) | "
              f"{f:.1f} ({min(fa2):.0f}-{max(fa2):.0f}) | {o / f:.3f} | {diff:.1e} |", flush=True)
        del sets, ps
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
