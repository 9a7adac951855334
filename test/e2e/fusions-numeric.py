# Numerics of the graph fusions end to end: ONNX graphs that spell out what
# tessel-fuse-norms / -activations / -rotary fuse, in spellings the test
# models do not use (LayerNorm from ReduceMean/Sub/Pow/Sqrt/Div, an f16
# RMSNorm with f32 statistics, erf GELU with Mul by 1/sqrt2, SiLU, rotary
# embedding with Split halves and caches built from the input's sequence
# length), compiled at -O2 and compared with onnxruntime (or the ONNX
# reference evaluator). The IR at -O2 shows each was fused.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
#
# RUN: tesselc %t/ln.onnx --emit=tessel -o %t/ln.mlir
# RUN: FileCheck %s --check-prefix=LN < %t/ln.mlir
# LN: tessel.layer_normalization %arg0, %{{.+}}, %{{.+}} : (tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>)
# LN-NOT: tessel.reduce_mean
# RUN: tesselc %t/ln.onnx -o %t/ln.so
# RUN: tessel-run %t/ln.so --inputs %t/ln.in.npz --compare %t/ln.ref.npz --atol 1e-5 --rtol 1e-5
#
# RUN: tesselc %t/rms_f16.onnx --emit=tessel -o %t/rms_f16.mlir
# RUN: FileCheck %s --check-prefix=RMS < %t/rms_f16.mlir
# RMS: tessel.rms_normalization %arg0, %{{.+}} {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x32xf16>, tensor<32xf16>) -> tensor<?x?x32xf16>
# RMS-NOT: tessel.reduce_mean
# RUN: tesselc %t/rms_f16.onnx -o %t/rms_f16.so
# RUN: tessel-run %t/rms_f16.so --inputs %t/rms_f16.in.npz --compare %t/rms_f16.ref.npz --atol 4e-3 --rtol 4e-3
#
# RUN: tesselc %t/act.onnx --emit=tessel -o %t/act.mlir
# RUN: FileCheck %s --check-prefix=ACT < %t/act.mlir
# ACT-DAG: tessel.gelu %arg0 :
# ACT-DAG: tessel.gelu %arg0 {approximate = "tanh"}
# ACT-DAG: tessel.silu %arg0
# ACT-NOT: tessel.erf
# RUN: tesselc %t/act.onnx -o %t/act.so
# RUN: tessel-run %t/act.so --inputs %t/act.in.npz --compare %t/act.ref.npz --atol 1e-5 --rtol 1e-5
#
# RUN: tesselc %t/rope.onnx --emit=tessel -o %t/rope.mlir
# RUN: FileCheck %s --check-prefix=ROPE < %t/rope.mlir
# ROPE: tessel.rotary_embedding %arg0
# ROPE-NOT: tessel.unfused
# RUN: tesselc %t/rope.onnx -o %t/rope.so
# RUN: tessel-run %t/rope.so --inputs %t/rope.in.npz --compare %t/rope.ref.npz --atol 1e-5 --rtol 1e-5

import numpy as np
from onnx.reference import ReferenceEvaluator
from onnx_models import F16, F32, model, node, out_dir, save, tensor, value

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def reference(m, feeds):
    """onnxruntime's output, or the ONNX reference evaluator's."""
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(m.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        return session.run(["y"], feeds)[0]
    except Exception:  # not installed, or the model is outside its support
        return ReferenceEvaluator(m).run(["y"], feeds)[0]


def case(name, m, feeds):
    np.savez(out_dir(name + ".in.npz"), **feeds)
    np.savez(out_dir(name + ".ref.npz"), y=reference(m, feeds))
    save(m, out_dir(name + ".onnx"))


def scalar(name, v, dtype=np.float32):
    return tensor(name, np.array(v, dtype))


def i64s(name, v):
    return tensor(name, np.array(v, np.int64))


# LayerNorm spelled out (opset 17 ReduceMean takes axes as an attribute).
case("ln", model(
    [node("ReduceMean", ["x"], ["mean"], axes=[-1]),
     node("Sub", ["x", "mean"], ["d"]),
     node("Pow", ["d", "two"], ["d2"]),
     node("ReduceMean", ["d2"], ["var"], axes=[-1]),
     node("Add", ["var", "eps"], ["ve"]),
     node("Sqrt", ["ve"], ["std"]),
     node("Div", ["d", "std"], ["n"]),
     node("Mul", ["n", "w"], ["nw"]),
     node("Add", ["nw", "b"], ["y"])],
    [value("x", F32, ["b", "s", 32])], [value("y", F32, ["b", "s", 32])],
    [scalar("two", 2.0), scalar("eps", 1e-5), tensor("w", randn(32)),
     tensor("b", randn(32))]),
    dict(x=3 * randn(2, 5, 32) + 1))

# RMSNorm of f16 activations with f32 statistics (llama's `.float()`).
case("rms_f16", model(
    [node("Cast", ["x"], ["xf"], to=F32),
     node("Pow", ["xf", "two"], ["x2"]),
     node("ReduceMean", ["x2"], ["ms"], axes=[-1]),
     node("Add", ["ms", "eps"], ["mse"]),
     node("Sqrt", ["mse"], ["r"]),
     node("Reciprocal", ["r"], ["ir"]),
     node("Mul", ["xf", "ir"], ["n"]),
     node("Cast", ["n"], ["nh"], to=F16),
     node("Mul", ["w", "nh"], ["y"])],
    [value("x", F16, ["b", "s", 32])], [value("y", F16, ["b", "s", 32])],
    [scalar("two", 2.0), scalar("eps", 1e-6),
     tensor("w", randn(32, dtype=np.float16))]),
    dict(x=randn(2, 5, 32, dtype=np.float16)))

# erf GELU as 0.5 * x * (1 + Erf(x * (1/sqrt2))), tanh GELU, SiLU; summed.
case("act", model(
    [node("Mul", ["x", "inv_sqrt2"], ["xs"]),
     node("Erf", ["xs"], ["e"]),
     node("Add", ["one", "e"], ["e1"]),
     node("Mul", ["half", "x"], ["hx"]),
     node("Mul", ["hx", "e1"], ["gelu"]),
     node("Mul", ["x", "x"], ["xx"]),
     node("Mul", ["xx", "x"], ["x3"]),
     node("Mul", ["c", "x3"], ["cx3"]),
     node("Add", ["cx3", "x"], ["poly"]),
     node("Mul", ["k", "poly"], ["kp"]),
     node("Tanh", ["kp"], ["t"]),
     node("Add", ["t", "one"], ["t1"]),
     node("Mul", ["t1", "half"], ["t1h"]),
     node("Mul", ["x", "t1h"], ["gelu_tanh"]),
     node("Sigmoid", ["x"], ["sg"]),
     node("Mul", ["sg", "x"], ["silu"]),
     node("Add", ["gelu", "gelu_tanh"], ["g2"]),
     node("Add", ["g2", "silu"], ["y"])],
    [value("x", F32, ["n", 64])], [value("y", F32, ["n", 64])],
    [scalar("inv_sqrt2", 1 / np.sqrt(2)), scalar("one", 1.0),
     scalar("half", 0.5), scalar("c", 0.044715),
     scalar("k", np.sqrt(2 / np.pi))]),
    dict(x=3 * randn(7, 64)))

# Rotary embedding, rotate-half by Split, caches from Range(0, S) where S is
# x's sequence length: cos/sin = Unsqueeze(f(Concat(freqs, freqs)), 1).
inv_freq = (1.0 / 10000 ** (np.arange(0, 16, 2) / 16)).astype(np.float32)
case("rope", model(
    [node("Shape", ["x"], ["s1"], start=2, end=3),
     node("Squeeze", ["s1", "ax0"], ["s"]),
     node("Range", ["zero", "s", "step"], ["pos"]),
     node("Cast", ["pos"], ["posf"], to=F32),
     node("Unsqueeze", ["posf", "ax02"], ["pos3"]),
     node("Mul", ["pos3", "inv_freq"], ["freqs"]),
     node("Concat", ["freqs", "freqs"], ["emb"], axis=-1),
     node("Cos", ["emb"], ["cos3"]),
     node("Sin", ["emb"], ["sin3"]),
     node("Unsqueeze", ["cos3", "ax1"], ["cos"]),
     node("Unsqueeze", ["sin3", "ax1"], ["sin"]),
     node("Mul", ["x", "cos"], ["xc"]),
     node("Split", ["x"], ["x1", "x2"], axis=3, num_outputs=2),
     node("Neg", ["x2"], ["nx2"]),
     node("Concat", ["nx2", "x1"], ["rot"], axis=3),
     node("Mul", ["rot", "sin"], ["rs"]),
     node("Add", ["xc", "rs"], ["y"])],
    [value("x", F32, ["b", 4, "s", 16])], [value("y", F32, ["b", 4, "s", 16])],
    [i64s("ax0", [0]), i64s("zero", 0), i64s("step", 1), i64s("ax02", [0, 2]),
     tensor("inv_freq", inv_freq.reshape(1, 1, 8)), i64s("ax1", [1])],
    opset=18),
    dict(x=randn(2, 4, 9, 16)))
