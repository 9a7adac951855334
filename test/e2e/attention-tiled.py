# Randomised numerics of the tiled attention lowering (tessel-tile-attention
# + convert-tessel-attention-to-loops) end to end: one-node ONNX Attention
# models (opset 23) with fresh random shapes, options and inputs each run,
# compiled by tesselc, run by tessel-run and compared with the float64
# reference of the unfused definition (test/lib/attention_ref.py). Sequences
# are mostly not multiples of the tiles; head dims 32/64/80/128, GQA groups
# 1/2/4/8, causal on/off, bool/float/short/padding masks, fully masked rows,
# 3-D operands, dynamic dims, softcap, f16. Windows and
# fully_masked_rows = "zero" (not expressible in ONNX) are covered by
# attention-windows.py. The seed is printed; ATTENTION_TEST_SEED=<n>
# reproduces a run.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t --cases 14

import argparse
import concurrent.futures
import os
import sys
import time

import numpy as np
from onnx import TensorProto

from attention_ref import attention_model, compare, compile_and_run, reference

# Multiply-adds of q x k^T per case, to keep a run under a minute on 2 cores.
MAX_WORK = 6e8


def random_seq(rng):
    """1..2048, mostly not a multiple of 64."""
    kind = rng.integers(0, 4)
    if kind == 0:
        return int(rng.integers(1, 17))
    if kind == 1:
        return int(rng.integers(17, 300))
    if kind == 2:
        return int(rng.integers(300, 1100))
    return int(rng.integers(1100, 2049))


def random_case(rng, index):
    """A random problem: (name, model, feeds, reference kwargs, tolerances)."""
    while True:
        d = int(rng.choice([32, 64, 80, 128]))
        group = int(rng.choice([1, 2, 4, 8]))
        kv_heads = int(rng.choice([1, 2]))
        q_heads = kv_heads * group
        batch = int(rng.choice([1, 1, 2]))
        sq = random_seq(rng)
        # Self-attention, a cache (fewer queries than keys), or the reverse.
        r = rng.random()
        skv = sq if r < 0.4 else (random_seq(rng) if r < 0.9 else
                                  max(1, sq - int(rng.integers(1, 50))))
        if batch * q_heads * sq * skv * d <= MAX_WORK:
            break
    dv = d if rng.random() < 0.8 else int(rng.choice([32, 48, 64]))
    f16 = rng.random() < 0.1
    three_d = rng.random() < 0.2
    dynamic = rng.random() < 0.4
    causal = bool(rng.random() < 0.5)
    attrs = {}
    ref_kw = {"is_causal": causal}
    if causal:
        attrs["is_causal"] = 1
    if rng.random() < 0.3:
        # Around the default 1/sqrt(d): scores of a few tens at most, whose
        # f32 rounding (amplified by exp) stays within the tolerance.
        ref_kw["scale"] = attrs["scale"] = float(rng.uniform(0.3, 2.0) /
                                                 np.sqrt(d))
    if rng.random() < 0.2:
        ref_kw["softcap"] = attrs["softcap"] = float(rng.uniform(1.0, 20.0))

    dtype = np.float16 if f16 else np.float32
    elem = TensorProto.FLOAT16 if f16 else TensorProto.FLOAT
    # Spread-out scores make the online max change from tile to tile.
    q = (rng.standard_normal((batch, q_heads, sq, d)) * 1.5).astype(dtype)
    k = rng.standard_normal((batch, kv_heads, skv, d)).astype(dtype)
    v = rng.standard_normal((batch, kv_heads, skv, dv)).astype(dtype)

    # The mask, broadcastable to [B, Hq, Sq, Skv].
    mask = None
    mask_kind = rng.choice(["none", "none", "bool_full", "bool_keys",
                            "float_2d", "float_4d", "short", "masked_rows"])
    if mask_kind == "bool_full":
        shape = (int(rng.choice([1, batch])), int(rng.choice([1, q_heads])),
                 sq, skv)
        mask = rng.random(shape) > 0.3
    elif mask_kind == "bool_keys":
        # Key padding per batch entry: [B, 1, 1, Skv]; never all keys.
        lengths = rng.integers(max(1, skv // 2), skv + 1, batch)
        mask = np.arange(skv)[None, :] < lengths[:, None]
        mask = mask[:, None, None, :]
    elif mask_kind == "float_2d":
        mask = rng.standard_normal((sq, skv)).astype(dtype)
    elif mask_kind == "float_4d":
        mask = rng.standard_normal((batch, 1, sq, skv)).astype(dtype)
        mask[rng.random(mask.shape) < 0.2] = -np.inf
    elif mask_kind == "short" and skv >= 3:
        # Shorter than the keys: the rest is masked.
        mask = rng.random((sq, int(rng.integers(2, skv)))) > 0.2
    elif mask_kind == "masked_rows":
        # Some query rows see no key at all: NaN rows.
        mask = rng.random((batch, 1, sq, skv)) > 0.4
        mask[:, :, rng.random(sq) < 0.3, :] = False
    if mask is not None and mask.dtype != np.bool_:
        mask = mask.astype(dtype)

    ref = reference(q, k, v, mask, **ref_kw)
    feeds = {"q": q, "k": k, "v": v}
    b_, s_, t_ = ("b", "s", "t") if dynamic else (batch, sq, skv)
    if three_d:
        attrs["q_num_heads"], attrs["kv_num_heads"] = q_heads, kv_heads
        feeds = {"q": q.transpose(0, 2, 1, 3).reshape(batch, sq, -1),
                 "k": k.transpose(0, 2, 1, 3).reshape(batch, skv, -1),
                 "v": v.transpose(0, 2, 1, 3).reshape(batch, skv, -1)}
        shapes = ([b_, s_, q_heads * d], [b_, t_, kv_heads * d],
                  [b_, t_, kv_heads * dv])
        ref = ref.transpose(0, 2, 1, 3).reshape(batch, sq, -1)
    else:
        shapes = ([b_, q_heads, s_, d], [b_, kv_heads, t_, d],
                  [b_, kv_heads, t_, dv])
    mask_shape = None
    mask_type = TensorProto.BOOL
    if mask is not None:
        feeds["m"] = mask
        mask_shape = list(mask.shape)
        if dynamic:
            # Dynamic mask dims where the full dim is; broadcast 1s stay.
            full = [batch, q_heads, sq, skv][4 - mask.ndim:]
            names = ["b", "h", "s", "t"][4 - mask.ndim:]
            mask_shape = [n if m == f and m != 1 and n != "h" else m
                          for m, f, n in zip(mask.shape, full, names)]
        if mask.dtype != np.bool_:
            mask_type = elem
    model = attention_model(*shapes, mask_shape=mask_shape,
                            mask_type=mask_type, elem=elem, **attrs)
    desc = ("b%d hq%d hkv%d sq%d skv%d d%d dv%d %s%s%s mask=%s%s%s%s" % (
        batch, q_heads, kv_heads, sq, skv, d, dv,
        "f16" if f16 else "f32", " 3d" if three_d else "",
        " dyn" if dynamic else "", mask_kind if mask is not None else "none",
        " causal" if causal else "",
        " scale=%.3g" % attrs["scale"] if "scale" in attrs else "",
        " softcap=%.3g" % attrs["softcap"] if "softcap" in attrs else ""))
    # f16 inputs: the output is rounded to f16 (about 1e-3 relative). f32:
    # a score's rounding error is about eps * scale * sum_d |q_d k_d|, and
    # exp turns it into the same relative error of the weights; the
    # absolute tolerance follows that bound (large at d 128 with spread-out
    # q), times the largest |v|.
    scale = attrs.get("scale", 1.0 / np.sqrt(d))
    group = q_heads // kv_heads
    condition = scale * np.einsum(
        "bhid,bhjd->bhij", np.abs(q.astype(np.float64)),
        np.repeat(np.abs(k.astype(np.float64)), group, axis=1)).max()
    rounding = 8 * 2.0 ** -24 * condition * float(np.abs(v).max())
    tol = (2e-3, 2e-3) if f16 else (1e-4, max(1e-5, rounding))
    return "case%02d" % index, desc, model, feeds, ref, tol


def run_case(case, workdir):
    name, desc, model, feeds, ref, (rtol, atol) = case
    start = time.time()
    try:
        y = compile_and_run(model, feeds, workdir, name)
    except Exception as e:  # compile or run failure: report it as a mismatch
        return False, "%s [%s]: %s" % (name, desc, e)
    ok, msg = compare(y, ref, rtol, atol)
    return ok, "%s [%s]: %s (%.1fs)" % (name, desc, msg, time.time() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir")
    parser.add_argument("--cases", type=int, default=14)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seed = int(os.environ.get("ATTENTION_TEST_SEED",
                              np.random.SeedSequence().entropy % (1 << 32)))
    print("seed %d (ATTENTION_TEST_SEED=%d reproduces this run)" % (seed, seed))
    rng = np.random.default_rng(seed)
    cases = [random_case(rng, i) for i in range(args.cases)]
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for ok, msg in pool.map(lambda c: run_case(c, args.workdir), cases):
            print(("ok   " if ok else "FAIL ") + msg)
            failures += not ok
    sys.stdout.flush()
    if failures:
        print("%d of %d cases failed (seed %d)" % (failures, len(cases), seed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
