# Ops whose current definition is older than opset 13 are valid at opsets
# 13-15 too: Where (since 9), LessOrEqual/GreaterOrEqual (since 12) and
# CumSum (since 11) must import at opset 13, not only from 14/16.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m13.onnx --emit=tessel -O0 | FileCheck %s
# RUN: tesselc %t/m16.onnx --emit=tessel -O0 | FileCheck %s

# CHECK-LABEL: func.func @main
# CHECK:         tessel.less_or_equal
# CHECK:         tessel.greater_or_equal
# CHECK:         tessel.where
# CHECK:         tessel.cum_sum

import numpy as np
from onnx_models import BOOL, F32, model, node, out_dir, save, tensor, value


def chain(opset):
    return model([node("LessOrEqual", ["x", "y"], ["le"]),
                  node("GreaterOrEqual", ["x", "y"], ["ge"]),
                  node("Where", ["le", "x", "y"], ["w"]),
                  node("CumSum", ["w", "axis"], ["c"])],
                 [value("x", F32, [2, 3]), value("y", F32, [2, 3])],
                 [value("ge", BOOL, None), value("c", F32, None)],
                 [tensor("axis", np.array(1, np.int64))], opset=opset)


save(chain(13), out_dir("m13.onnx"))
save(chain(16), out_dir("m16.onnx"))
