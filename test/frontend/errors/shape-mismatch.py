# Inputs the op cannot take: Add of [2, 3] and [4, 5] (not broadcastable),
# Add of f32 and i64, Reshape of 6 elements to [4, 4]. The importer reports
# the node and why.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/types.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=TYPES -DFILE=%t/types.onnx
# RUN: not tesselc %t/reshape.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=RESHAPE -DFILE=%t/reshape.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: node 'add' (Add, opset 17): {{.*}}not broadcastable
# TYPES: [[FILE]]: error: node 'add' (Add, opset 17): {{.*}}different element types
# RESHAPE: [[FILE]]: error: node 'reshape' (Reshape, opset 17): {{.+}}

import numpy as np
from onnx_models import (F32, I64, model, node, out_dir, save, tensor,
                         value)

y = [value("y", F32, None)]
save(model([node("Add", ["a", "b"], ["y"], name="add")],
           [value("a", F32, [2, 3]), value("b", F32, [4, 5])], y),
     out_dir("m.onnx"))
save(model([node("Add", ["a", "b"], ["y"], name="add")],
           [value("a", F32, [2, 3]), value("b", I64, [2, 3])], y),
     out_dir("types.onnx"))
save(model([node("Reshape", ["a", "shape"], ["y"], name="reshape")],
           [value("a", F32, [2, 3])], y, [tensor("shape", np.array([4, 4]))]),
     out_dir("reshape.onnx"))
