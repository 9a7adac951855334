# A zero-byte file.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: the file is empty, not an ONNX model

from onnx_models import out_dir, write_bytes

write_bytes(out_dir("m.onnx"), b"")
