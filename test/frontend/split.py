# Split: sizes come from the `split` input (opset 13) or the `num_outputs`
# attribute (opset 18); neither is accepted in the other's spelling.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/split13.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=S13
# RUN: tesselc %t/split18.onnx --emit=tessel -O0 | FileCheck %s --check-prefix=S18
# RUN: not tesselc %t/num-outputs-at-13.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=BAD13 -DFILE=%t/num-outputs-at-13.onnx
# RUN: not tesselc %t/wrong-count.onnx --emit=tessel -O0 2>&1 | FileCheck %s --check-prefix=COUNT -DFILE=%t/wrong-count.onnx

# S13-LABEL: func.func @main
# S13-SAME:    -> (tensor<2x2xf32> {tessel.name = "a"}, tensor<2x4xf32> {tessel.name = "b"})
# S13:         tessel.split %{{.+}} {axis = 1 : i64, split = array<i64: 2, 4>} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)

# S18-LABEL: func.func @main
# S18:         tessel.split %{{.+}} {axis = 1 : i64, num_outputs = 3 : i64} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>)

# BAD13: [[FILE]]: error: node 'split' (Split, opset 13): unsupported attribute 'num_outputs'
# COUNT: [[FILE]]: error: node 'split' (Split, opset 13): split has 3 sizes but the node has 2 outputs

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

x = value("x", F32, [2, 6])
outs = lambda names: [value(n, F32, None) for n in names]

save(model([node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=1)],
           [x], outs("ab"), [tensor("sizes", np.array([2, 4]))], opset=13),
     out_dir("split13.onnx"))
save(model([node("Split", ["x"], ["a", "b", "c"], name="split", axis=1,
                 num_outputs=3)], [x], outs("abc"), opset=18),
     out_dir("split18.onnx"))
save(model([node("Split", ["x"], ["a", "b"], name="split", axis=1,
                 num_outputs=2)], [x], outs("ab"), opset=13),
     out_dir("num-outputs-at-13.onnx"))
save(model([node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=1)],
           [x], outs("ab"), [tensor("sizes", np.array([2, 2, 2]))], opset=13),
     out_dir("wrong-count.onnx"))
