# An attribute of the wrong type: Softmax's axis given as a float, Transpose's
# perm as a string. The message names the type that was found.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/perm.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=PERM -DFILE=%t/perm.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: node 'softmax' (Softmax, opset 17): attribute 'axis' must be an int (it is FLOAT)
# PERM: [[FILE]]: error: node 'transpose' (Transpose, opset 17): attribute 'perm' must be a list of ints (it is STRING)

from onnx_models import F32, model, node, out_dir, save, value

x, y = value("x", F32, [2, 3]), value("y", F32, None)
save(model([node("Softmax", ["x"], ["y"], name="softmax", axis=1.5)],
           [x], [y]), out_dir("m.onnx"))
save(model([node("Transpose", ["x"], ["y"], name="transpose", perm="10")],
           [x], [y]), out_dir("perm.onnx"))
