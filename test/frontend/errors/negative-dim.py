# A negative dim in an initializer and in a graph input.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/input.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=INPUT -DFILE=%t/input.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': negative dim -2
# INPUT: [[FILE]]: error: graph input 'x' has negative dim -3

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

save(with_initializer(tensor("w", np.zeros(2, np.float32), dims=[-2, -1])),
     out_dir("m.onnx"))
save(model([node("Relu", ["x"], ["y"])], [value("x", F32, [2, -3])],
           [value("y", F32, None)]), out_dir("input.onnx"))
