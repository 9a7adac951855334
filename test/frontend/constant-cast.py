# Constant's value_ints/value_float/value_int/value spellings and Cast to
# int64 (the `to` attribute is an ONNX data type number).
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 | FileCheck %s
# RUN: not tesselc %t/string-constant.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=STR -DFILE=%t/string-constant.onnx
# RUN: not tesselc %t/cast-string.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=CASTSTR -DFILE=%t/cast-string.onnx

# CHECK-LABEL: func.func @main
# CHECK-SAME:    -> (tensor<3xi64> {tessel.name = "ints"}, tensor<f32> {tessel.name = "float"}, tensor<i64> {tessel.name = "int"}, tensor<2xf16> {tessel.name = "tensor"}, tensor<2x6xi64> {tessel.name = "cast"})
# CHECK:         tessel.constant dense<[1, -2, 3]> : tensor<3xi64>
# CHECK:         tessel.constant dense<5.000000e-01> : tensor<f32>
# CHECK:         tessel.constant dense<7> : tensor<i64>
# CHECK:         tessel.constant dense<[1.500000e+00, -2.000000e+00]> : tensor<2xf16>
# CHECK:         tessel.cast %{{.+}} {to = i64} : (tensor<2x6xf32>) -> tensor<2x6xi64>

# STR: [[FILE]]: error: node 'c' (Constant, opset 13): unsupported attribute 'value_strings' (sparse and string constants are not supported)
# CASTSTR: [[FILE]]: error: node 'cast' (Cast, opset 13): unsupported target type 8

import numpy as np
from onnx import TensorProto
from onnx_models import F16, F32, I64, model, node, out_dir, save, tensor, value

x = value("x", F32, [2, 6])
save(model([node("Constant", [], ["ints"], value_ints=[1, -2, 3]),
            node("Constant", [], ["float"], value_float=0.5),
            node("Constant", [], ["int"], value_int=7),
            node("Constant", [], ["tensor"],
                 value=tensor("t", np.array([1.5, -2.0], np.float16))),
            node("Cast", ["x"], ["cast"], to=TensorProto.INT64)],
           [x], [value("ints", I64, None), value("float", F32, None),
                 value("int", I64, None), value("tensor", F16, None),
                 value("cast", I64, None)], opset=13), out_dir("m.onnx"))
save(model([node("Constant", [], ["y"], name="c", value_strings=["a"])], [],
           [value("y", TensorProto.STRING, None)], opset=13),
     out_dir("string-constant.onnx"))
save(model([node("Cast", ["x"], ["y"], name="cast", to=TensorProto.STRING)],
           [x], [value("y", TensorProto.STRING, None)], opset=13),
     out_dir("cast-string.onnx"))
