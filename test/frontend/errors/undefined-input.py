# A node input that is neither a graph input, an initializer nor an earlier
# node's output (a missing initializer), and one produced by a later node.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/later.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=LATER -DFILE=%t/later.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: node 'add' (Add, opset 17): input 'w' is not defined (not a graph input, an initializer, or an output of an earlier node)
# LATER: [[FILE]]: error: node 'first' (Relu, opset 17): input 't' is not defined (not a graph input, an initializer, or an output of an earlier node)

from onnx_models import F32, model, node, out_dir, save, value

x, y = value("x", F32, [2]), value("y", F32, [2])
save(model([node("Add", ["x", "w"], ["y"], name="add")], [x], [y]),
     out_dir("m.onnx"))
# Nodes out of topological order.
save(model([node("Relu", ["t"], ["y"], name="first"),
            node("Neg", ["x"], ["t"], name="second")], [x], [y]),
     out_dir("later.onnx"))
