# Clip without min/max: the absent bounds become the element type's lowest
# and highest values (-inf/+inf for floats, the integer limits otherwise).
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 | FileCheck %s

# CHECK-LABEL: func.func @main
# CHECK-DAG:     %[[HI5:.+]] = tessel.constant dense<5> : tensor<i32>
# CHECK-DAG:     %[[NINF:.+]] = tessel.constant dense<0xFF800000> : tensor<f32>
# CHECK-DAG:     %[[INF:.+]] = tessel.constant dense<0x7F800000> : tensor<f32>
# CHECK:         tessel.clip %{{.+}}, %[[NINF]], %[[INF]] : (tensor<2x6xf32>, tensor<f32>, tensor<f32>) -> tensor<2x6xf32>
# CHECK:         %[[IMIN:.+]] = tessel.constant dense<-2147483648> : tensor<i32>
# CHECK:         tessel.clip %{{.+}}, %[[IMIN]], %[[HI5]] : (tensor<3xi32>, tensor<i32>, tensor<i32>) -> tensor<3xi32>
# CHECK:         %[[UMAX:.+]] = tessel.constant dense<255> : tensor<ui8>
# CHECK:         tessel.clip %{{.+}}, %{{.+}}, %[[UMAX]] : (tensor<3xui8>, tensor<ui8>, tensor<ui8>) -> tensor<3xui8>

import numpy as np
from onnx_models import F32, I32, U8, model, node, out_dir, save, tensor, value

save(model([node("Clip", ["x"], ["y"]),
            node("Clip", ["i", "", "hi"], ["z"]),
            node("Clip", ["u", "lo"], ["w"])],
           [value("x", F32, [2, 6]), value("i", I32, [3]), value("u", U8, [3])],
           [value("y", F32, None), value("z", I32, None), value("w", U8, None)],
           [tensor("hi", np.array(5, np.int32)), tensor("lo", np.array(1, np.uint8))],
           opset=13), out_dir("m.onnx"))
