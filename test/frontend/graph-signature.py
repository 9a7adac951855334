# The function signature: dim_params (and dims with neither value nor
# param) become `?`, names are kept as `tessel.name`, and a graph input that
# also has an initializer is that constant, not an argument. The dim_params
# themselves are kept in `tessel.dim_params` ("" for a dim without one):
# inputs' dims of one name are one size, which passes may rely on.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 | FileCheck %s

# CHECK-LABEL: func.func @main
# CHECK-SAME:    (%[[X:.+]]: tensor<?x?x4xf32> {tessel.name = "x"},
# CHECK-SAME:     %[[M:.+]]: tensor<1x1x4xf32> {tessel.name = "mask"})
# CHECK-SAME:    -> (tensor<?x?x4xf32> {tessel.name = "y"})
# CHECK-SAME:    attributes {tessel.dim_params = {{\[}}["batch", "", ""], ["", "", ""]]}
# CHECK-NOT:   tessel.name = "bias"
# CHECK:         %[[B:.+]] = tessel.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
# CHECK:         %[[S:.+]] = tessel.add %[[X]], %[[B]]
# CHECK:         %[[Y:.+]] = tessel.mul %[[S]], %[[M]]
# CHECK:         return %[[Y]]

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

x = value("x", F32, ["batch", "seq", 4])
# An anonymous dynamic dim: neither dim_value nor dim_param.
x.type.tensor_type.shape.dim[1].ClearField("dim_param")
# "bias" is listed as an input but has an initializer: a constant (ONNX IR
# < 4 style, still written by some exporters).
bias_input = value("bias", F32, [4])
save(model([node("Add", ["x", "bias"], ["s"]), node("Mul", ["s", "mask"], ["y"])],
           [x, bias_input, value("mask", F32, [1, 1, 4])],
           [value("y", F32, ["batch", "seq", 4])],
           [tensor("bias", np.array([1, 2, 3, 4], np.float32))]),
     out_dir("m.onnx"))
