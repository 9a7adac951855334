# An attribute the op does not have (Relu has none).
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: node 'relu' (Relu, opset 17): unsupported attribute 'alpha'

from onnx_models import F32, model, node, out_dir, save, value

save(model([node("Relu", ["x"], ["y"], name="relu", alpha=0.1)],
           [value("x", F32, [2])], [value("y", F32, [2])]),
     out_dir("m.onnx"))
