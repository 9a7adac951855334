# Pad: opset 18 adds the `axes` input; the per-axis pads are scattered into
# a full-rank [begins..., ends...] constant. An absent constant_value is 0.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/axes18.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=AXES
# RUN: tesselc %t/no-axes13.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=NOAXES
# RUN: not tesselc %t/axes13.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=AXES13 -DFILE=%t/axes13.onnx
# RUN: not tesselc %t/bad-axis18.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=BADAXIS -DFILE=%t/bad-axis18.onnx

# AXES-LABEL: func.func @main
# AXES-DAG:     %[[P:.+]] = tessel.constant dense<[0, 1, 0, 2]> : tensor<4xi64>
# AXES-DAG:     %[[V:.+]] = tessel.constant dense<0.000000e+00> : tensor<f32>
# AXES:         tessel.pad %{{.+}}, %[[P]], %[[V]] {{.*}}: (tensor<2x6xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x9xf32>

# NOAXES-LABEL: func.func @main
# NOAXES-DAG:     %[[P:.+]] = tessel.constant dense<[1, 0, 1, 0]> : tensor<4xi64>
# NOAXES-DAG:     %[[V:.+]] = tessel.constant dense<2.500000e+00> : tensor<f32>
# NOAXES:         tessel.pad %{{.+}}, %[[P]], %[[V]] {{.*}}-> tensor<4x6xf32>

# AXES13: [[FILE]]: error: node 'pad' (Pad, opset 13): expects 2 to 3 inputs, got 4
# BADAXIS: [[FILE]]: error: node 'pad' (Pad, opset 18): axis 2 is out of range for rank 2

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

x = value("x", F32, [2, 6])
y = [value("y", F32, None)]


def pad(inputs, axes, opset):
    inits = [tensor("pads", np.array([1, 2])), tensor("axes", np.array(axes))]
    return model([node("Pad", inputs, ["y"], name="pad")], [x], y, inits,
                 opset=opset)


save(pad(["x", "pads", "", "axes"], [-1], 18), out_dir("axes18.onnx"))
save(pad(["x", "pads", "", "axes"], [1], 13), out_dir("axes13.onnx"))
save(pad(["x", "pads", "", "axes"], [2], 18), out_dir("bad-axis18.onnx"))
save(model([node("Pad", ["x", "pads", "cv"], ["y"], name="pad")], [x], y,
           [tensor("pads", np.array([1, 0, 1, 0])),
            tensor("cv", np.array(2.5, np.float32))], opset=13),
     out_dir("no-axes13.onnx"))
