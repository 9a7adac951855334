# The output folder is not writable (root could write it: the test needs
# a non-root user).
#
# REQUIRES: non-root-user
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t && chmod a-w %t/out
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DOUT=%t/out
# RUN: ls -A %t/out | count 0
# RUN: chmod u+w %t/out

# CHECK: tesselc: error: cannot write output '[[OUT]]/out.mlir': Permission denied

from onnx_models import out_dir, save, simple_model

save(simple_model(), out_dir("m.onnx"))
