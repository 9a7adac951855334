# External data at an absolute path (the file exists).
#
# RUN: rm -rf %t && mkdir -p %t/model %t/out && %python %s %t
# RUN: not tesselc %t/model/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/model/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': external data path '{{.*}}secret.bin' is absolute; it must be relative to the model folder

import numpy as np
from onnx_models import (F32, make_external, model, node, out_dir, save,
                         tensor, value, write_bytes)

def with_initializer(t):
    """y = x + w for initializer `t` named "w"."""
    return model([node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", F32, [2])], [value("y", F32, None)], [t])

import os

secret = os.path.abspath(out_dir("secret.bin"))
write_bytes(secret, np.zeros(2, np.float32).tobytes())
w = make_external(tensor("w", np.zeros(2, np.float32)), secret)
save(with_initializer(w), out_dir("model", "m.onnx"))
