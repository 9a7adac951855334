# Random bytes are not an ONNX model.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: not a valid ONNX model (the protobuf does not parse; the file may be truncated or not ONNX)

import numpy as np
from onnx_models import out_dir, write_bytes

write_bytes(out_dir("m.onnx"), np.random.default_rng(0).bytes(4096))
