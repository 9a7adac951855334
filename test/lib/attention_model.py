#!/usr/bin/env python3
"""Writes a small ONNX attention block (opset 23 `Attention`) with random
weights, its inputs and ONNX Runtime's output, for tests of the attention
kernels at head dims the shared models do not have (they all use 16).

    attention_model.py OUT_PREFIX --head-dim 64 --heads 4 --kv-heads 2
        [--causal 1] [--batch 2] [--seq 100] [--seed 0]

writes OUT_PREFIX.onnx and OUT_PREFIX.npz (input `x` [batch, seq, hidden],
output `out`). The graph: q/k/v projections (MatMul), reshape to heads and
transpose to [batch, heads, seq, head_dim], Attention, transpose back, output
projection. Batch and sequence are dynamic.
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(head_dim, heads, kv_heads, causal, seed):
    rng = np.random.default_rng(seed)
    hidden = heads * head_dim
    kv_hidden = kv_heads * head_dim

    def weight(name, rows, cols):
        w = (rng.standard_normal((rows, cols)) / np.sqrt(rows)).astype(np.float32)
        return numpy_helper.from_array(w, name)

    inits = [weight("wq", hidden, hidden), weight("wk", hidden, kv_hidden),
             weight("wv", hidden, kv_hidden), weight("wo", hidden, hidden),
             numpy_helper.from_array(np.array([0, 0, heads, head_dim], np.int64), "q_shape"),
             numpy_helper.from_array(np.array([0, 0, kv_heads, head_dim], np.int64), "kv_shape"),
             numpy_helper.from_array(np.array([0, 0, hidden], np.int64), "o_shape")]
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q2"], name="q_proj"),
        helper.make_node("MatMul", ["x", "wk"], ["k2"], name="k_proj"),
        helper.make_node("MatMul", ["x", "wv"], ["v2"], name="v_proj"),
        helper.make_node("Reshape", ["q2", "q_shape"], ["q3"], name="q_heads"),
        helper.make_node("Reshape", ["k2", "kv_shape"], ["k3"], name="k_heads"),
        helper.make_node("Reshape", ["v2", "kv_shape"], ["v3"], name="v_heads"),
        helper.make_node("Transpose", ["q3"], ["q"], perm=[0, 2, 1, 3], name="q_t"),
        helper.make_node("Transpose", ["k3"], ["k"], perm=[0, 2, 1, 3], name="k_t"),
        helper.make_node("Transpose", ["v3"], ["v"], perm=[0, 2, 1, 3], name="v_t"),
        helper.make_node("Attention", ["q", "k", "v"], ["a"], is_causal=causal,
                         name="attention"),
        helper.make_node("Transpose", ["a"], ["a3"], perm=[0, 2, 1, 3], name="a_t"),
        helper.make_node("Reshape", ["a3", "o_shape"], ["a2"], name="a_merge"),
        helper.make_node("MatMul", ["a2", "wo"], ["out"], name="o_proj"),
    ]
    graph = helper.make_graph(
        nodes, "attention_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", hidden])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "seq", hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)],
                              producer_name="tessel test/lib/attention_model.py")
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model, hidden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--causal", type=int, default=1)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    model, hidden = build(a.head_dim, a.heads, a.kv_heads, a.causal, a.seed)
    onnx.save(model, a.prefix + ".onnx")
    x = np.random.default_rng(a.seed + 1).standard_normal(
        (a.batch, a.seq, hidden)).astype(np.float32)
    import onnxruntime as ort
    session = ort.InferenceSession(a.prefix + ".onnx",
                                   providers=["CPUExecutionProvider"])
    (out,) = session.run(["out"], {"x": x})
    np.savez(a.prefix + ".npz", x=x, out=out)


if __name__ == "__main__":
    main()
