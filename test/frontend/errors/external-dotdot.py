# External data whose location climbs out of the model folder with `..`
# (the file exists: only the path is wrong).
#
# RUN: rm -rf %t && mkdir -p %t/model %t/out && %python %s %t
# RUN: not tesselc %t/model/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/model/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': external data path '../secret.bin' leaves the model folder

import numpy as np
from onnx_models import (F32, make_external, model, node, out_dir, save,
                         tensor, value, write_bytes)

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

write_bytes(out_dir("secret.bin"), np.zeros(2, np.float32).tobytes())
w = make_external(tensor("w", np.zeros(2, np.float32)), "../secret.bin")
save(with_initializer(w), out_dir("model", "m.onnx"))
