# A valid model cut in half (mid-initializer).
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: not a valid ONNX model (the protobuf does not parse; the file may be truncated or not ONNX)

import numpy as np
from onnx_models import (F32, model, node, out_dir, tensor, value,
                         write_bytes)

m = model([node("Add", ["x", "w"], ["y"])], [value("x", F32, [64])],
          [value("y", F32, [64])], [tensor("w", np.ones(64, np.float32))])
data = m.SerializeToString()
write_bytes(out_dir("m.onnx"), data[:len(data) // 2])
