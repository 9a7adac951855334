# A valid model whose output cannot be written: the folder does not exist,
# a path component is a file, the target is a folder. Each is an error
# naming the path; nothing is left behind (no temporary file either).
#
# RUN: rm -rf %t && mkdir -p %t/out/dir && touch %t/out/file && %python %s %t
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/nodir/out.mlir 2>&1 | FileCheck %s --check-prefix=NODIR -DOUT=%t/out
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/file/out.mlir 2>&1 | FileCheck %s --check-prefix=NOTDIR -DOUT=%t/out
# RUN: not tesselc %t/m.onnx --emit=tessel -O0 -o %t/out/dir 2>&1 | FileCheck %s --check-prefix=ISDIR -DOUT=%t/out
# RUN: not test -e %t/out/nodir
# RUN: ls -A %t/out | FileCheck %s --check-prefix=LS
# RUN: ls -A %t/out/dir | count 0
# RUN: count 0 < %t/out/file

# NODIR: tesselc: error: cannot write output '[[OUT]]/nodir/out.mlir': No such file or directory
# NOTDIR: tesselc: error: cannot write output '[[OUT]]/file/out.mlir': Not a directory
# ISDIR: tesselc: error: cannot write output '[[OUT]]/dir': Is a directory
# LS:      dir
# LS-NEXT: file
# LS-NOT:  {{.}}

from onnx_models import out_dir, save, simple_model

save(simple_model(), out_dir("m.onnx"))
