# An op that ONNX does not define; a node without a name is named by its
# index in the graph.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/anon.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=ANON -DFILE=%t/anon.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: node 'frob' (Frobnicate, opset 17): unsupported op 'Frobnicate'
# ANON: [[FILE]]: error: node '#1' (Frobnicate, opset 17): unsupported op 'Frobnicate'

from onnx_models import F32, model, node, out_dir, save, value

x, y = value("x", F32, [2]), value("y", F32, [2])
save(model([node("Frobnicate", ["x"], ["y"], name="frob")], [x], [y]),
     out_dir("m.onnx"))
save(model([node("Relu", ["x"], ["r"]),
            node("Frobnicate", ["r"], ["y"], name="")], [x], [y]),
     out_dir("anon.onnx"))
