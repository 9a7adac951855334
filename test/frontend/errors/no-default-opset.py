# Only a custom domain is imported: no opset for the default domain.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: the model imports no opset of the default ONNX domain

from onnx_models import out_dir, save, simple_model

m = simple_model(domains=[("com.example", 1)])
del m.opset_import[0]
save(m, out_dir("m.onnx"))
