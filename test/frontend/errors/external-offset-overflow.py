# An external-data offset near INT64_MAX: rejected without wrap-around, and
# the message gives the true end of the range (offset + length), not a
# negative number.
#
# RUN: rm -rf %t && mkdir -p %t/model %t/out && %python %s %t
# RUN: not tesselc %t/model/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/model/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': external data at offset 9223372036854775800 with length 8 lies past the end of 'w.bin' (12 bytes)

import numpy as np
from onnx_models import (F32, make_external, model, node, out_dir, save,
                         tensor, value, write_bytes)

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

write_bytes(out_dir("model", "w.bin"), bytes(12))
w = make_external(tensor("w", np.zeros(2, np.float32)), "w.bin",
                  offset=2**63 - 8, length=8)
save(with_initializer(w), out_dir("model", "m.onnx"))
