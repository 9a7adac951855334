# Slice without axes and steps: both are materialised (axes 0..n-1, steps
# 1) from the static length of `starts`.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 | FileCheck %s
# RUN: not tesselc %t/dynamic-starts.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=DYN -DFILE=%t/dynamic-starts.onnx

# CHECK-LABEL: func.func @main
# CHECK-DAG:     %[[ST:.+]] = tessel.constant dense<[0, 1]> : tensor<2xi64>
# CHECK-DAG:     %[[EN:.+]] = tessel.constant dense<[1, 5]> : tensor<2xi64>
# CHECK-DAG:     %[[AX:.+]] = tessel.constant dense<[0, 1]> : tensor<2xi64>
# CHECK-DAG:     %[[SP:.+]] = tessel.constant dense<1> : tensor<2xi64>
# CHECK:         tessel.slice %{{.+}}, %[[ST]], %[[EN]], %[[AX]], %[[SP]] : {{.*}} -> tensor<1x4xf32>

# DYN: [[FILE]]: error: node 'slice' (Slice, opset 13): starts must have a static length when axes or steps are omitted

import numpy as np
from onnx_models import F32, I64, model, node, out_dir, save, tensor, value

x = value("x", F32, [2, 6])
save(model([node("Slice", ["x", "starts", "ends"], ["y"], name="slice")], [x],
           [value("y", F32, None)],
           [tensor("starts", np.array([0, 1])), tensor("ends", np.array([1, 5]))],
           opset=13), out_dir("m.onnx"))
save(model([node("Slice", ["x", "starts", "ends"], ["y"], name="slice")],
           [x, value("starts", I64, ["n"]), value("ends", I64, ["n"])],
           [value("y", F32, None)], opset=13), out_dir("dynamic-starts.onnx"))
