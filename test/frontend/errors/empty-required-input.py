# A required input given as "" (ONNX's spelling of an absent optional input)
# before the last input: an error naming the node, never a crash.
#
# RUN: rm -rf %t && mkdir -p %t/out && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s -DFILE=%t/m.onnx --implicit-check-not=error:
# RUN: not test -e %t/out/out.mlir
# RUN: ls -A %t/out | count 0
# RUN: not tesselc %t/clip.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=CLIP -DFILE=%t/clip.onnx
# RUN: not tesselc %t/min.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=MIN -DFILE=%t/min.onnx
# RUN: not tesselc %t/gemm.onnx --emit=tessel -O0 -o %t/out/out.mlir 2>&1 | FileCheck %s --check-prefix=GEMM -DFILE=%t/gemm.onnx
# RUN: ls -A %t/out | count 0

# CHECK: [[FILE]]: error: node 'slice' (Slice, opset 17): {{.+}}
# CLIP: [[FILE]]: error: node 'clip' (Clip, opset 17): {{.+}}
# MIN: [[FILE]]: error: node 'min' (Min, opset 17): {{.+}}
# GEMM: [[FILE]]: error: node 'gemm' (Gemm, opset 17): {{.+}}

from onnx_models import F32, I64, model, node, out_dir, save, value

x = value("x", F32, [2, 2])
y = [value("y", F32, None)]
# Slice's starts, Clip's input, Min's second operand, Gemm's A.
for op, name, inputs in [("Slice", "m", ["x", "", "e"]),
                         ("Clip", "clip", ["", "x"]),
                         ("Min", "min", ["x", "", "x"]),
                         ("Gemm", "gemm", ["", "x"])]:
    save(model([node(op, inputs, ["y"], name=op.lower())],
               [x, value("e", I64, [2])], y), out_dir(name + ".onnx"))
