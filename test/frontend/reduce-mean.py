# ReduceMean: axes is an attribute up to opset 17 and an optional constant
# input from opset 18; both become the `axes` attribute of tessel.reduce_mean.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/attr17.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=ATTR
# RUN: tesselc %t/input18.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=INPUT
# RUN: tesselc %t/no-axes18.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=ALL
# RUN: not tesselc %t/attr18.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=ATTR18 -DFILE=%t/attr18.onnx
# RUN: not tesselc %t/input17.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=INPUT17 -DFILE=%t/input17.onnx
# RUN: not tesselc %t/dynamic-axes18.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=DYN -DFILE=%t/dynamic-axes18.onnx

# ATTR-LABEL: func.func @main
# ATTR:         tessel.reduce_mean %{{.+}} {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<2x6xf32>) -> tensor<2xf32>

# INPUT-LABEL: func.func @main
# INPUT:         tessel.reduce_mean %{{.+}} {axes = array<i64: -1>} : (tensor<2x6xf32>) -> tensor<2x1xf32>

# No axes: every axis is reduced.
# ALL-LABEL: func.func @main
# ALL:         tessel.reduce_mean %{{.+}} : (tensor<2x6xf32>) -> tensor<1x1xf32>

# ATTR18: [[FILE]]: error: node 'mean' (ReduceMean, opset 18): unsupported attribute 'axes'
# INPUT17: [[FILE]]: error: node 'mean' (ReduceMean, opset 17): expects 1 inputs, got 2
# DYN: [[FILE]]: error: node 'mean' (ReduceMean, opset 18): axes must be a constant

import numpy as np
from onnx_models import F32, I64, model, node, out_dir, save, tensor, value

x = value("x", F32, [2, 6])
y = [value("y", F32, None)]
axes = [tensor("axes", np.array([-1]))]


def mean(inputs, **attrs):
    return [node("ReduceMean", inputs, ["y"], name="mean", **attrs)]


save(model(mean(["x"], axes=[1], keepdims=0), [x], y, opset=17),
     out_dir("attr17.onnx"))
save(model(mean(["x", "axes"]), [x], y, axes, opset=18), out_dir("input18.onnx"))
save(model(mean(["x"]), [x], y, opset=18), out_dir("no-axes18.onnx"))
save(model(mean(["x"], axes=[1]), [x], y, opset=18), out_dir("attr18.onnx"))
save(model(mean(["x", "axes"]), [x], y, axes, opset=17), out_dir("input17.onnx"))
save(model(mean(["x", "a"]), [x, value("a", I64, [1])], y, opset=18),
     out_dir("dynamic-axes18.onnx"))
