# External data inside the model folder: offsets, a sub-folder, several
# tensors in one file (mapped once), an aligned large tensor (used in place
# from the mapping) and an unaligned one (copied). Values must be exact.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 --print-weights | FileCheck %s
# The model may also be named relative to the working directory.
# RUN: cd %t && tesselc m.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=REL

# CHECK-LABEL: func.func @main
# CHECK:         tessel.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
# CHECK:         tessel.constant dense<[7, -8]> : tensor<2xi64>
# CHECK:         tessel.constant dense_resource<aligned> : tensor<4096xf32>
# CHECK:         tessel.constant dense_resource<unaligned> : tensor<65xf32>
# CHECK:         tessel.constant dense_resource<sub> : tensor<65xi32>
# CHECK:       dialect_resources
# CHECK-DAG:     aligned: "0x04000000000000000000803F00000040
# CHECK-DAG:     unaligned: "0x040000000000803F0000004000004040
# CHECK-DAG:     sub: "0x04000000000000000100000002000000

# REL: tessel.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
# REL: tessel.constant dense_resource<aligned> : tensor<4096xf32>

import numpy as np
from onnx_models import (make_external, model, node, out_dir, save, tensor,
                         value)

folder = out_dir()
inits = [
    make_external(tensor("small", np.array([1, 2, 3], np.float32)),
                  "weights.bin", offset=0, folder=folder),
    # Right after `small`, with an explicit length.
    make_external(tensor("ints", np.array([7, -8])), "weights.bin",
                  offset=12, length=16, folder=folder),
    # Page-aligned, large enough to be mapped rather than read.
    make_external(tensor("aligned", np.arange(4096, dtype=np.float32)),
                  "weights.bin", offset=65536, folder=folder),
    make_external(tensor("unaligned", np.arange(1, 66, dtype=np.float32)),
                  "weights.bin", offset=1003, folder=folder),
    make_external(tensor("sub", np.arange(65, dtype=np.int32)),
                  "data/more.bin", offset=100, folder=folder),
]
save(model([node("Identity", [t.name], ["out_" + t.name]) for t in inits], [],
           [value("out_" + t.name, t.data_type, None) for t in inits], inits),
     out_dir("m.onnx"))
