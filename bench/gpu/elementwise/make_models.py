#!/usr/bin/env python3
"""ONNX graphs for the element-wise / norm kernel benchmark (run_bench.py):

  ew_chain:  out = x * sigmoid(x) * y + 0.5 * x         (SiLU-gated product)
  rms_norm:  out = x / sqrt(mean(x^2, -1) + 1e-6) * w   (spelled out, as the
             exporters write it; tesselc fuses it into tessel.rms_norm)
  add_norm:  h = x + y; out = rms_norm(h) * w            (residual + norm)

All f32, [rows, cols] with both dims dynamic except cols (static: the norm
weight). The ideal traffic of each graph is its inputs read once and its
outputs written once; run_bench.py divides that by the measured kernel time.

    make_models.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

COLS = 4096


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tessel bench/gpu/elementwise")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def value(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["rows", COLS])


def rms_nodes(x, out, prefix):
    return [
        helper.make_node("Mul", [x, x], [prefix + "sq"]),
        helper.make_node("ReduceMean", [prefix + "sq"], [prefix + "ms"],
                         axes=[-1], keepdims=1),
        helper.make_node("Add", [prefix + "ms", "eps"], [prefix + "mse"]),
        helper.make_node("Sqrt", [prefix + "mse"], [prefix + "rms"]),
        helper.make_node("Div", [x, prefix + "rms"], [prefix + "n"]),
        helper.make_node("Mul", [prefix + "n", "w"], [out]),
    ]


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    eps = numpy_helper.from_array(np.array(1e-6, np.float32), "eps")
    w = numpy_helper.from_array(
        np.random.default_rng(0).standard_normal(COLS).astype(np.float32), "w")

    save(helper.make_graph([
        helper.make_node("Sigmoid", ["x"], ["s"]),
        helper.make_node("Mul", ["x", "s"], ["xs"]),
        helper.make_node("Mul", ["xs", "y"], ["g"]),
        helper.make_node("Mul", ["x", "half"], ["hx"]),
        helper.make_node("Add", ["g", "hx"], ["out"]),
    ], "ew_chain", [value("x"), value("y")], [value("out")], [half]),
        os.path.join(out_dir, "ew_chain.onnx"))
    save(helper.make_graph(rms_nodes("x", "out", "r_"), "rms_norm",
                           [value("x")], [value("out")], [eps, w]),
         os.path.join(out_dir, "rms_norm.onnx"))
    save(helper.make_graph(
        [helper.make_node("Add", ["x", "y"], ["h"])] + rms_nodes("h", "out", "r_"),
        "add_norm", [value("x"), value("y")], [value("out")], [eps, w]),
        os.path.join(out_dir, "add_norm.onnx"))


if __name__ == "__main__":
    main()
