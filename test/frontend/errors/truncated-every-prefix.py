# Every proper prefix of a valid model (with an initializer) is rejected
# with an error naming the file: exit status 1 (no signal), one line that
# says `error:`, and no output file.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t

import os
import subprocess
import sys

import numpy as np
from onnx_models import F32, model, node, out_dir, tensor, value, write_bytes

data = model([node("Add", ["x", "w"], ["y"])], [value("x", F32, [2, 3])],
             [value("y", F32, None)],
             [tensor("w", np.arange(3, dtype=np.float32))]).SerializeToString()
path, out = out_dir("m.onnx"), out_dir("out.mlir")
failures = []
for n in range(len(data)):
    write_bytes(path, data[:n])
    r = subprocess.run(["tesselc", path, "--emit=tessel", "-O0", "-o", out],
                       capture_output=True, text=True)
    if (r.returncode != 1 or not r.stderr.startswith(path + ": error: ")
            or r.stderr.count("\n") != 1 or os.path.exists(out)):
        failures.append(f"prefix of {n} bytes: exit {r.returncode}, "
                        f"stderr {r.stderr!r}")
for f in failures:
    print(f, file=sys.stderr)
sys.exit(1 if failures else 0)
