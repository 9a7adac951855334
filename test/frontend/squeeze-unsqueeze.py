# Squeeze/Unsqueeze (opset 13+): axes is a constant input and becomes the
# `axes` attribute; Squeeze without axes drops every 1-dim; Unsqueeze needs it.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 | FileCheck %s
# RUN: not tesselc %t/unsqueeze-no-axes.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=NOAXES -DFILE=%t/unsqueeze-no-axes.onnx
# RUN: not tesselc %t/axes-attr.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=ATTR -DFILE=%t/axes-attr.onnx
# RUN: not tesselc %t/dynamic-axes.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=DYN -DFILE=%t/dynamic-axes.onnx

# CHECK-LABEL: func.func @main
# CHECK:         %[[U:.+]] = tessel.unsqueeze %{{.+}} {axes = array<i64: 0, 3>} : (tensor<2x6xf32>) -> tensor<1x2x6x1xf32>
# CHECK:         tessel.squeeze %[[U]] {axes = array<i64: -1>} : (tensor<1x2x6x1xf32>) -> tensor<1x2x6xf32>
# CHECK:         tessel.squeeze %[[U]] : (tensor<1x2x6x1xf32>) -> tensor<2x6xf32>

# NOAXES: [[FILE]]: error: node 'unsq' (Unsqueeze, opset 13): expects 2 inputs, got 1
# Opset 11 spelling (axes attribute) at opset 13.
# ATTR: [[FILE]]: error: node 'sq' (Squeeze, opset 13): unsupported attribute 'axes'
# DYN: [[FILE]]: error: node 'unsq' (Unsqueeze, opset 13): axes must be a constant

import numpy as np
from onnx_models import F32, I64, model, node, out_dir, save, tensor, value

x = value("x", F32, [2, 6])
save(model([node("Unsqueeze", ["x", "ax03"], ["u"]),
            node("Squeeze", ["u", "axm1"], ["y"]),
            node("Squeeze", ["u"], ["z"])],
           [x], [value("y", F32, None), value("z", F32, None)],
           [tensor("ax03", np.array([0, 3])), tensor("axm1", np.array([-1]))],
           opset=13), out_dir("m.onnx"))
save(model([node("Unsqueeze", ["x"], ["y"], name="unsq")], [x],
           [value("y", F32, None)], opset=13), out_dir("unsqueeze-no-axes.onnx"))
save(model([node("Squeeze", ["x"], ["y"], name="sq", axes=[0])], [x],
           [value("y", F32, None)], opset=13), out_dir("axes-attr.onnx"))
save(model([node("Unsqueeze", ["x", "a"], ["y"], name="unsq")],
           [x, value("a", I64, [1])], [value("y", F32, None)], opset=13),
     out_dir("dynamic-axes.onnx"))
