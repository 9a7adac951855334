# Randomised numerics of convert-tessel-attention-to-loops for what ONNX
# Attention cannot say: window_left / window_right, fully_masked_rows =
# "zero" / "uniform", and odd tile sizes (1, 3, 5, ...) given as tile_q / tile_kv. Each
# case is an MLIR function with the inputs as constants; tessel-opt lowers it
# to the LLVM dialect with the CPU pipeline's passes and mlir-cpu-runner runs
# it (OpenBLAS for the tile products), printing the result, which is compared
# with the float64 reference (test/lib/attention_ref.py). The same op without
# tile sizes (lowered by tessel-expand-composite-ops instead) must match the
# reference too, NaN / zero rows included. The seed is printed;
# ATTENTION_TEST_SEED=<n> reproduces a run.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t --cases 12

import argparse
import concurrent.futures
import ctypes.util
import os
import re
import shutil
import sys

import numpy as np

from attention_ref import compare, reference, run_checked

PASSES = ["-convert-tessel-attention-to-loops", "-tessel-expand-composite-ops",
          "-convert-tessel-to-linalg", "-canonicalize", "-cse",
          "-tessel-cpu-llvm"]


def find_tool(name, llvm_dirs=("/usr/lib/llvm-19/bin",)):
    path = shutil.which(name)
    if path:
        return path
    for d in llvm_dirs:
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise RuntimeError("%s not found" % name)


def shared_libs(runner):
    """The runtime libraries mlir-cpu-runner needs: printMemrefF32 and
    cblas_sgemm."""
    lib = os.path.join(os.path.dirname(os.path.dirname(runner)), "lib")
    libs = [os.path.join(lib, "libmlir_c_runner_utils.so"),
            os.path.join(lib, "libmlir_runner_utils.so")]
    blas = ctypes.util.find_library("openblas")
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
              "/usr/lib"):
        if os.path.exists(os.path.join(d, "libopenblas.so")):
            blas = os.path.join(d, "libopenblas.so")
            break
    libs.append(blas)
    return ",".join(libs)


def tensor_type(shape, elem):
    return "tensor<%sx%s>" % ("x".join("?" if d is None else str(d)
                                       for d in shape), elem)


def constant(name, array):
    """An arith.constant holding `array` (f32 as hex, bool as literals)."""
    if array.dtype == np.bool_:
        def lit(a):
            if a.ndim == 0:
                return "true" if a else "false"
            return "[" + ", ".join(lit(x) for x in a) + "]"
        value = lit(array)
        elem = "i1"
    else:
        value = '"0x%s"' % array.astype("<f4").tobytes().hex().upper()
        elem = "f32"
    t = tensor_type(array.shape, elem)
    return "  %%%s = arith.constant dense<%s> : %s\n" % (name, value, t), t


def case_mlir(feeds, attrs, dynamic):
    """The test function: y = tessel.attention(...), printed."""
    body, types, names = "", [], []
    for name, array in feeds.items():
        text, t = constant(name, array)
        body += text
        if dynamic and array.ndim >= 3:
            # Batch and sequence dims dynamic.
            shape = list(array.shape)
            seq = 1 if array.ndim == 3 else 2
            if name != "m":
                shape[0] = None
                shape[seq] = None
            dt = tensor_type(shape, "i1" if array.dtype == np.bool_ else "f32")
            body += "  %%%s_d = tensor.cast %%%s : %s to %s\n" % (
                name, name, t, dt)
            t = dt
            name = name + "_d"
        types.append(t)
        names.append("%" + name)
    q = feeds["q"]
    out_shape = list(q.shape)
    v = feeds["v"]
    if q.ndim == 4:
        out_shape[3] = v.shape[3]
    else:
        out_shape[2] = attrs["q_num_heads"] * v.shape[2] // attrs["kv_num_heads"]
    y_type = tensor_type(out_shape, "f32")
    if dynamic:
        dyn = list(out_shape)
        dyn[0] = None
        dyn[1 if q.ndim == 3 else 2] = None
        y_dyn = tensor_type(dyn, "f32")
    else:
        y_dyn = y_type
    attr_text = ", ".join(
        '%s = "%s"' % (k, v) if isinstance(v, str) else
        ("%s = %r : f32" % (k, v) if isinstance(v, float) else
         "%s = %d : i64" % (k, v))
        for k, v in attrs.items())
    body += "  %%y = tessel.attention %s {%s} : (%s) -> %s\n" % (
        ", ".join(names), attr_text, ", ".join(types), y_dyn)
    y = "%y"
    if dynamic:
        body += "  %%ys = tensor.cast %%y : %s to %s\n" % (y_dyn, y_type)
        y = "%ys"
    mem = y_type.replace("tensor", "memref")
    body += "  %%ym = bufferization.to_memref %s : %s\n" % (y, mem)
    body += "  %%u = memref.cast %%ym : %s to memref<*xf32>\n" % mem
    body += "  call @printMemrefF32(%u) : (memref<*xf32>) -> ()\n"
    return ("func.func private @printMemrefF32(memref<*xf32>) "
            "attributes {llvm.emit_c_interface}\n"
            "func.func @test() {\n" + body + "  return\n}\n")


def parse_printed(text, shape):
    data = text.split("data =", 1)[1]
    values = re.findall(r"-?nan|-?inf|[-+0-9.eE]+", data)
    out = np.array([float(x) for x in values], np.float64)
    return out.reshape(shape)


def random_case(rng, index):
    d = int(rng.choice([16, 32, 64, 80, 128]))
    dv = d if rng.random() < 0.7 else int(rng.choice([8, 48]))
    group = int(rng.choice([1, 2, 4, 8]))
    kv_heads = int(rng.choice([1, 2]))
    q_heads = kv_heads * group
    batch = int(rng.choice([1, 2]))
    while True:
        sq = int(rng.integers(1, 300))
        r = rng.random()
        skv = sq if r < 0.5 else int(rng.integers(1, 400))
        if batch * q_heads * sq * dv <= 40000 and \
                batch * q_heads * sq * skv * d <= 6e7:
            break
    attrs = {}
    kw = {}
    if rng.random() < 0.5:
        attrs["is_causal"] = 1
        kw["is_causal"] = True
    # Windows: sometimes 0 (only the diagonal), sometimes wider than the
    # sequence.
    for side in ("window_left", "window_right"):
        if rng.random() < 0.6:
            w = int(rng.choice([0, rng.integers(1, 8), rng.integers(8, 64),
                                rng.integers(64, 500)]))
            attrs[side] = w
            kw[side] = w
    rows = rng.choice(["nan", "zero", "uniform"])
    if rows != "nan":
        attrs["fully_masked_rows"] = kw["fully_masked_rows"] = str(rows)
    if rng.random() < 0.2:
        attrs["softcap"] = kw["softcap"] = float(np.float32(
            rng.uniform(2, 30)))
    attrs["tile_q"] = int(rng.choice([1, 3, 8, 16, 32, 64, 128]))
    attrs["tile_kv"] = int(rng.choice([1, 5, 16, 64, 128, 512]))

    q = rng.standard_normal((batch, q_heads, sq, d)).astype(np.float32) * 1.5
    k = rng.standard_normal((batch, kv_heads, skv, d)).astype(np.float32)
    v = rng.standard_normal((batch, kv_heads, skv, dv)).astype(np.float32)
    mask = None
    kind = rng.choice(["none", "bool", "float", "rows", "keys", "lowest"])
    if kind == "lowest" and rows != "uniform":
        # float32 lowest is -inf-like only for "uniform" (the float64
        # reference would otherwise see through lowest + score).
        kind = "float"
    if kind == "bool":
        mask = rng.random((batch, 1, sq, skv)) > 0.3
    elif kind == "float":
        mask = rng.standard_normal((1, q_heads, sq, skv)).astype(np.float32)
        mask[rng.random(mask.shape) < 0.1] = -np.inf
    elif kind == "rows":
        mask = rng.random((sq, skv)) > 0.3
        mask[rng.random(sq) < 0.3, :] = False
    elif kind == "keys":
        # Key padding as fused from exported graphs: [batch, 1, 1, skv],
        # left-padded, some batch rows entirely padding.
        mask = np.ones((batch, 1, 1, skv), bool)
        for b_ in range(batch):
            mask[b_, ..., :int(rng.integers(0, skv + 1))] = False
    elif kind == "lowest":
        # An additive mask with float32 lowest as its fill.
        lowest = np.finfo(np.float32).min
        mask = np.where(rng.random((batch, 1, sq, skv)) > 0.3, 0.0,
                        lowest).astype(np.float32)
        mask[:, :, rng.random(sq) < 0.3, :] = lowest
    ref = reference(q, k, v, mask, **kw)
    feeds = {"q": q, "k": k, "v": v}
    if rng.random() < 0.2:
        # 3-D operands.
        attrs["q_num_heads"], attrs["kv_num_heads"] = q_heads, kv_heads
        for name in ("q", "k", "v"):
            x = feeds[name]
            feeds[name] = x.transpose(0, 2, 1, 3).reshape(x.shape[0],
                                                          x.shape[2], -1)
        ref = ref.transpose(0, 2, 1, 3).reshape(batch, sq, -1)
    if mask is not None:
        feeds["m"] = mask
    dynamic = bool(rng.random() < 0.4)
    desc = "b%d hq%d hkv%d sq%d skv%d d%d dv%d mask=%s %s%s" % (
        batch, q_heads, kv_heads, sq, skv, d, dv, kind,
        " ".join("%s=%s" % (k_, v_) for k_, v_ in attrs.items()),
        " dyn" if dynamic else "")
    # The same op without tiles goes through the composite expansion: both
    # must agree with the reference (NaN / zero / uniform rows included).
    untiled = {k_: v_ for k_, v_ in attrs.items() if not k_.startswith("tile")}
    return ("case%02d" % index, desc, case_mlir(feeds, attrs, dynamic),
            case_mlir(feeds, untiled, dynamic), ref)


def lower_and_run(text, path, tools, shape):
    """Lowers the MLIR `text` (saved at `path`) and runs it: the result."""
    lowered = path.replace(".mlir", ".llvm.mlir")
    with open(path, "w") as f:
        f.write(text)
    run_checked([tools["opt"], path, *PASSES, "-o", lowered])
    out = run_checked([tools["runner"], lowered, "-e", "test",
                       "-entry-point-result=void", "-O3",
                       "-shared-libs=" + tools["libs"]])
    return parse_printed(out, shape)


def run_case(case, workdir, tools):
    name, desc, tiled, untiled, ref = case
    results = []
    for kind, text in (("tiled", tiled), ("expanded", untiled)):
        try:
            y = lower_and_run(text, os.path.join(
                workdir, "%s.%s.mlir" % (name, kind)), tools, ref.shape)
        except Exception as e:
            return False, "%s [%s] %s: %s" % (name, desc, kind,
                                               str(e)[-3000:])
        # printMemrefF32 prints 6 significant digits.
        ok, msg = compare(y, ref, 1e-4, 1e-5)
        results.append((ok, "%s: %s" % (kind, msg)))
    return all(ok for ok, _ in results), "%s [%s]: %s" % (
        name, desc, "; ".join(m for _, m in results))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir")
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seed = int(os.environ.get("ATTENTION_TEST_SEED",
                              np.random.SeedSequence().entropy % (1 << 32)))
    print("seed %d (ATTENTION_TEST_SEED=%d reproduces this run)" % (seed, seed))
    runner = find_tool("mlir-cpu-runner")
    tools = {"opt": find_tool("tessel-opt"), "runner": runner,
             "libs": shared_libs(runner)}
    rng = np.random.default_rng(seed)
    cases = [random_case(rng, i) for i in range(args.cases)]
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for ok, msg in pool.map(lambda c: run_case(c, args.workdir, tools),
                                cases):
            print(("ok   " if ok else "FAIL ") + msg)
            failures += not ok
    if failures:
        print("%d of %d cases failed (seed %d)" % (failures, len(cases), seed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
