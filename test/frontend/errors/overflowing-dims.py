# Dims whose product overflows (2**40 * 2**40) or is absurdly large
# (2**62 * 4 wraps int64): rejected before any size is computed from them.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/wrap.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=WRAP -DFILE=%t/wrap.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': dims overflow (too many elements)
# WRAP: [[FILE]]: error: initializer 'w': dims overflow (too many elements)

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

save(with_initializer(tensor("w", np.zeros(2, np.float32),
                             dims=[2**40, 2**40])), out_dir("m.onnx"))
save(with_initializer(tensor("w", np.zeros(2, np.float32),
                             dims=[2**62, 4])), out_dir("wrap.onnx"))
