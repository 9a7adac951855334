# External data that lies past the end of its 12-byte file: the offset
# alone, and offset + length.
#
# RUN: rm -rf %t && mkdir -p %t/model %t/out && %python %s %t
# RUN: not tesselc %t/model/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/model/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/model/tail.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=TAIL -DFILE=%t/model/tail.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': external data at offset 16 with length 8 lies past the end of 'w.bin' (12 bytes)
# TAIL: [[FILE]]: error: initializer 'w': external data at offset 8 with length 8 lies past the end of 'w.bin' (12 bytes)

import numpy as np
from onnx_models import (F32, make_external, model, node, out_dir, save,
                         tensor, value, write_bytes)

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

write_bytes(out_dir("model", "w.bin"), bytes(12))
for name, offset in [("m", 16), ("tail", 8)]:
    w = make_external(tensor("w", np.zeros(2, np.float32)), "w.bin",
                      offset=offset, length=8)
    save(with_initializer(w), out_dir("model", name + ".onnx"))
