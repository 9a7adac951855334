# -o writes the IR to the file (and nothing to stdout), replacing a file that
# was there, and leaves no temporary file beside it.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/m.mlir | count 0
# RUN: FileCheck %s < %t/out/m.mlir
# RUN: echo old > %t/out/old.mlir
# RUN: tesselc %t/m.onnx --emit=tessel -O2 -o %t/out/old.mlir
# RUN: FileCheck %s < %t/out/old.mlir
# RUN: ls -A %t/out | FileCheck %s --check-prefix=LS
# The output parses back.
# RUN: tessel-opt %t/out/m.mlir | FileCheck %s

# CHECK:     func.func @main(%{{.+}}: tensor<2x3xf32> {tessel.name = "x"})
# CHECK:     tessel.relu
# CHECK-NOT: old

# LS-NOT:  tmp
# LS:      m.mlir
# LS-NEXT: old.mlir
# LS-NOT:  {{.}}

from onnx_models import out_dir, save, simple_model

save(simple_model(), out_dir("m.onnx"))
