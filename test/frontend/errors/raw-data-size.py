# An initializer whose raw_data holds 3 floats for dims [2].
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': raw_data has 12 bytes but dims 'tensor<2xf32>' need 8

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

save(with_initializer(tensor("w", np.zeros(3, np.float32), dims=[2])),
     out_dir("m.onnx"))
