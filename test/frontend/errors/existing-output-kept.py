# A failing compile leaves an existing output file as it was, at -O0 and
# -O2: nothing lost, and no temporary file left beside it.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: echo "previous output" > %t/out/out.mlir
# RUN: cp %t/out/out.mlir %t/expected.mlir
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx
# RUN: not tesselc %t/m.onnx --emit=tessel -O2 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx
# RUN: diff %t/expected.mlir %t/out/out.mlir
# RUN: ls -A %t/out | FileCheck %s --check-prefix=LS

# CHECK: [[FILE]]: error: node 'add' (Add, opset 17): input 'w' is not defined
# LS:      out.mlir
# LS-NOT:  {{.}}

from onnx_models import F32, model, node, out_dir, save, value

save(model([node("Add", ["x", "w"], ["y"], name="add")],
           [value("x", F32, [2])], [value("y", F32, [2])]),
     out_dir("m.onnx"))
