# External data whose recorded length disagrees with the 8 bytes its dims
# need, or whose offset is not a number.
#
# RUN: rm -rf %t && mkdir -p %t/model %t/out && %python %s %t
# RUN: not tesselc %t/model/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/model/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/model/badoff.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=BADOFF -DFILE=%t/model/badoff.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': external data length 12 does not match the 8 bytes its dims and type need
# BADOFF: [[FILE]]: error: initializer 'w': external data offset '-4' is not a non-negative integer

import numpy as np
from onnx_models import (F32, make_external, model, node, out_dir, save,
                         tensor, value, write_bytes)

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

write_bytes(out_dir("model", "w.bin"), bytes(64))
w = make_external(tensor("w", np.zeros(2, np.float32)), "w.bin", length=12)
save(with_initializer(w), out_dir("model", "m.onnx"))
w = make_external(tensor("w", np.zeros(2, np.float32)), "w.bin", offset=-4)
save(with_initializer(w), out_dir("model", "badoff.onnx"))
