# Initializers whose typed field holds a different number of values than
# their dims need: float_data and int64_data.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/i64.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=I64 -DFILE=%t/i64.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': holds 3 values but its dims 'tensor<2xf32>' need 2
# I64: [[FILE]]: error: initializer 'w': holds 1 values but its dims 'tensor<2x2xi64>' need 4

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

save(with_initializer(tensor("w", np.zeros(3, np.float32), raw=False,
                             dims=[2])), out_dir("m.onnx"))
save(with_initializer(tensor("w", np.array([5]), raw=False, dims=[2, 2])),
     out_dir("i64.onnx"))
