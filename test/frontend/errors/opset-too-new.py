# Opset 24, above the supported 13-23.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: opset 24 is not supported (tessel imports opsets 13 to 23)

from onnx_models import out_dir, save, simple_model

save(simple_model(opset=24), out_dir("m.onnx"))
