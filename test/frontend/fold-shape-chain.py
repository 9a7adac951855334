# -O2 folds the exporter's Shape -> Gather -> Unsqueeze -> Concat -> Reshape
# chain on a static input to a constant shape; -O0 keeps the raw import.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=O0
# RUN: tesselc %t/m.onnx --emit=tessel -O2 -o %t/o2.mlir
# RUN: FileCheck %s --check-prefix=O2 < %t/o2.mlir
# RUN: %python %testlib/check_ir.py %t/o2.mlir --no-static-shape-ops --count tessel.shape=0 --count tessel.gather=0 --count tessel.concat=0

# O0-LABEL: func.func @main
# O0:         tessel.shape
# O0:         tessel.gather
# O0:         tessel.unsqueeze
# O0:         tessel.concat
# O0:         tessel.reshape {{.*}} -> tensor<2x12xf32>

# O2-LABEL: func.func @main
# O2-SAME:    -> (tensor<2x12xf32> {tessel.name = "y"})
# O2-NOT:     tessel.shape
# O2-NOT:     tessel.gather
# O2-NOT:     tessel.concat
# O2:         %[[T:.+]] = tessel.constant dense<[2, -1]> : tensor<2xi64>
# O2:         tessel.reshape %{{.+}}, %[[T]]
# O2-NOT:     tessel.shape
# O2:         return

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

save(model([node("Shape", ["x"], ["shape"]),
            node("Gather", ["shape", "zero"], ["batch"], axis=0),
            node("Unsqueeze", ["batch", "axes0"], ["batch1"]),
            node("Concat", ["batch1", "minus1"], ["target"], axis=0),
            node("Reshape", ["x", "target"], ["y"])],
           [value("x", F32, [2, 3, 4])], [value("y", F32, None)],
           [tensor("zero", np.array(0)), tensor("axes0", np.array([0])),
            tensor("minus1", np.array([-1]))]), out_dir("m.onnx"))
