# Initializers of every supported element type decode to the same values
# from raw_data and from their typed field (float_data, int32_data, ...):
# inline `dense<...>` up to 64 elements, a `dense_resource` blob above that
# (booleans always inline).
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/small.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=SMALL
# RUN: tesselc %t/large.onnx --emit=tessel -O0 --print-weights | FileCheck %s --check-prefix=LARGE

# SMALL-LABEL: func.func @main()
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 1.000000e-01]> : tensor<3xf32>
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 1.000000e-01]> : tensor<3xf32>
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 9.997550e-02]> : tensor<3xf16>
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 9.997550e-02]> : tensor<3xf16>
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 1.000980e-01]> : tensor<3xbf16>
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 1.000980e-01]> : tensor<3xbf16>
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 1.000000e-01]> : tensor<3xf64>
# SMALL: tessel.constant dense<[1.000000e+00, -2.500000e+00, 1.000000e-01]> : tensor<3xf64>
# SMALL: tessel.constant dense<[-128, 7, 127]> : tensor<3xi8>
# SMALL: tessel.constant dense<[-128, 7, 127]> : tensor<3xi8>
# SMALL: tessel.constant dense<[255, 7, 128]> : tensor<3xui8>
# SMALL: tessel.constant dense<[255, 7, 128]> : tensor<3xui8>
# SMALL: tessel.constant dense<[-3, 70000, -2147483648]> : tensor<3xi32>
# SMALL: tessel.constant dense<[-3, 70000, -2147483648]> : tensor<3xi32>
# SMALL: tessel.constant dense<[-3, 1099511627781, -9223372036854775808]> : tensor<3xi64>
# SMALL: tessel.constant dense<[-3, 1099511627781, -9223372036854775808]> : tensor<3xi64>
# SMALL: tessel.constant dense<[true, false, true]> : tensor<3xi1>
# SMALL: tessel.constant dense<[true, false, true]> : tensor<3xi1>
# SMALL-NOT: dense_resource

# 65 elements: blobs named after the initializer (printed in full with
# --print-weights); each blob is its alignment
# (4 bytes, little-endian) then the data, here 0, 1, 2, ... .
# LARGE-LABEL: func.func @main()
# LARGE: tessel.constant dense_resource<f32_raw> : tensor<65xf32>
# LARGE: tessel.constant dense_resource<f32_typed> : tensor<65xf32>
# LARGE: tessel.constant dense_resource<f16_raw> : tensor<65xf16>
# LARGE: tessel.constant dense_resource<f16_typed> : tensor<65xf16>
# LARGE: tessel.constant dense_resource<bf16_raw> : tensor<65xbf16>
# LARGE: tessel.constant dense_resource<bf16_typed> : tensor<65xbf16>
# LARGE: tessel.constant dense_resource<f64_raw> : tensor<65xf64>
# LARGE: tessel.constant dense_resource<f64_typed> : tensor<65xf64>
# LARGE: tessel.constant dense_resource<i8_raw> : tensor<65xi8>
# LARGE: tessel.constant dense_resource<i8_typed> : tensor<65xi8>
# LARGE: tessel.constant dense_resource<u8_raw> : tensor<65xui8>
# LARGE: tessel.constant dense_resource<u8_typed> : tensor<65xui8>
# LARGE: tessel.constant dense_resource<i32_raw> : tensor<65xi32>
# LARGE: tessel.constant dense_resource<i32_typed> : tensor<65xi32>
# LARGE: tessel.constant dense_resource<i64_raw> : tensor<65xi64>
# LARGE: tessel.constant dense_resource<i64_typed> : tensor<65xi64>
# LARGE: tessel.constant dense<[true, false, true, false, {{.*}}]> : tensor<65xi1>
# LARGE: tessel.constant dense<[true, false, true, false, {{.*}}]> : tensor<65xi1>
# LARGE: dialect_resources
# LARGE-DAG: f32_raw: "0x04000000000000000000803F00000040
# LARGE-DAG: f32_typed: "0x04000000000000000000803F00000040
# LARGE-DAG: f16_raw: "0x020000000000003C00400042
# LARGE-DAG: f16_typed: "0x020000000000003C00400042
# LARGE-DAG: bf16_raw: "0x020000000000803F00404040
# LARGE-DAG: bf16_typed: "0x020000000000803F00404040
# LARGE-DAG: f64_raw: "0x080000000000000000000000000000000000F03F0000000000000040
# LARGE-DAG: f64_typed: "0x080000000000000000000000000000000000F03F0000000000000040
# LARGE-DAG: i8_raw: "0x01000000000102030405
# LARGE-DAG: i8_typed: "0x01000000000102030405
# LARGE-DAG: u8_raw: "0x01000000000102030405
# LARGE-DAG: u8_typed: "0x01000000000102030405
# LARGE-DAG: i32_raw: "0x04000000000000000100000002000000
# LARGE-DAG: i32_typed: "0x04000000000000000100000002000000
# LARGE-DAG: i64_raw: "0x08000000000000000000000001000000000000000200000000000000
# LARGE-DAG: i64_typed: "0x08000000000000000000000001000000000000000200000000000000

import numpy as np
from onnx_models import (BF16, BOOL, F16, F32, F64, I8, I32, I64, U8, model,
                         node, out_dir, save, tensor, value)

FLOATS = [1.0, -2.5, 0.1]
SMALL = [("f32", F32, FLOATS), ("f16", F16, FLOATS), ("bf16", BF16, FLOATS),
         ("f64", F64, FLOATS), ("i8", I8, [-128, 7, 127]),
         ("u8", U8, [255, 7, 128]), ("i32", I32, [-3, 70000, -2**31]),
         ("i64", I64, [-3, 2**40 + 5, -2**63]),
         ("bool", BOOL, [True, False, True])]


def identity_model(cases):
    """One initializer per (name, type, values, raw), each returned through
    an Identity so that it is used."""
    inits, nodes, outputs = [], [], []
    for name, elem_type, values, raw in cases:
        inits.append(tensor(name, np.array(values), elem_type, raw=raw))
        nodes.append(node("Identity", [name], ["out_" + name]))
        outputs.append(value("out_" + name, elem_type, [len(values)]))
    return model(nodes, [], outputs, inits)


def both(cases):
    return [(f"{n}_{'raw' if raw else 'typed'}", t, v, raw)
            for n, t, v in cases for raw in (True, False)]


save(identity_model(both(SMALL)), out_dir("small.onnx"))
large = [(n, t, [i % 2 == 0 for i in range(65)] if t == BOOL else
          list(range(65))) for n, t, _ in SMALL]
save(identity_model(both(large)), out_dir("large.onnx"))
