# A graph without nodes (its output is its input).
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: the graph is empty (no nodes)

from onnx_models import F32, model, out_dir, save, value

save(model([], [value("x", F32, [2])], [value("x", F32, [2])]),
     out_dir("m.onnx"))
