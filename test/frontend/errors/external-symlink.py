# External data through a symlink in the model folder that points outside
# it, directly and via a linked sub-folder.
#
# RUN: rm -rf %t && mkdir -p %t/model %t/out && %python %s %t
# RUN: not tesselc %t/model/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/model/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/model/dir.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=DIR -DFILE=%t/model/dir.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: initializer 'w': external data path 'link.bin' resolves outside the model folder (to '{{.*}}secret.bin')
# DIR: [[FILE]]: error: initializer 'w': external data path 'linked/secret.bin' resolves outside the model folder (to '{{.*}}secret.bin')

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
os.symlink(secret, out_dir("model", "link.bin"))
os.symlink(os.path.dirname(secret), out_dir("model", "linked"))
w = make_external(tensor("w", np.zeros(2, np.float32)), "link.bin")
save(with_initializer(w), out_dir("model", "m.onnx"))
w = make_external(tensor("w", np.zeros(2, np.float32)), "linked/secret.bin")
save(with_initializer(w), out_dir("model", "dir.onnx"))
