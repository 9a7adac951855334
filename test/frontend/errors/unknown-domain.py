# An op of the com.microsoft domain (onnxruntime contrib ops).
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: node 'fused' (FusedMatMul, opset 17): unknown domain 'com.microsoft' (tessel imports the default ONNX domain only)

from onnx_models import F32, model, node, out_dir, save, value

save(model([node("FusedMatMul", ["x", "x"], ["y"], name="fused",
                 domain="com.microsoft")],
           [value("x", F32, [2, 2])], [value("y", F32, [2, 2])],
           domains=[("com.microsoft", 1)]),
     out_dir("m.onnx"))
