# --stats prints, on stderr, one row per op with its count before and after
# the pipeline, then a `total` row; the IR still goes to stdout / -o.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O2 --stats -o %t/out.mlir 2>&1 | FileCheck %s --check-prefix=O2
# RUN: FileCheck %s --check-prefix=IR < %t/out.mlir
# RUN: tesselc %t/m.onnx --emit=tessel -O0 --stats -o %t/o0.mlir 2>&1 | FileCheck %s --check-prefix=O0
# Without --stats there is no table.
# RUN: tesselc %t/m.onnx --emit=tessel -O2 2>&1 | FileCheck %s --check-prefix=NOSTATS

# O2:      op before after
# O2-NEXT: tessel.concat 1 0
# O2-NEXT: tessel.constant 1 1
# O2-NEXT: tessel.reshape 1 1
# O2-NEXT: tessel.shape 1 0
# O2-NEXT: total 4 2
# O2-NOT:  tessel.shape

# IR: tessel.reshape
# IR-NOT: tessel.shape

# O0:      op before after
# O0:      tessel.shape 1 1
# O0-NEXT: total 4 4

# NOSTATS-NOT: total
# NOSTATS:     func.func @main
# NOSTATS-NOT: total

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

# y = Reshape(x, Concat(Shape(x)[:1], [-1])) spelled as Shape(end=1) + Concat.
save(model([node("Shape", ["x"], ["batch"], end=1),
            node("Concat", ["batch", "minus1"], ["target"], axis=0),
            node("Reshape", ["x", "target"], ["y"])],
           [value("x", F32, [2, 3, 4])], [value("y", F32, None)],
           [tensor("minus1", np.array([-1]))]), out_dir("m.onnx"))
