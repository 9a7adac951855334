# Every op of the supported-ops table must have a row for every opset
# 13-23 at which ONNX defines it: a definition older than the table's first
# row (e.g. Where-9 at opsets 13-15) is otherwise rejected as "not defined".
#
# RUN: tesselc --print-supported-ops > %t.md
# RUN: %python %s %t.md

import sys

import onnx.defs

rows = {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.split("|")]
    if len(cells) > 3 and cells[2].isdigit():
        rows.setdefault(cells[1], []).append(int(cells[2]))

missing = []
for op, versions in sorted(rows.items()):
    for opset in range(13, 24):
        try:
            since = onnx.defs.get_schema(op, opset, "").since_version
        except onnx.defs.SchemaError:
            continue
        if not any(v <= opset for v in versions):
            missing.append(f"{op} at opset {opset} (ONNX {op}-{since}; "
                           f"table rows: {versions})")
for m in missing:
    print("no converter for", m, file=sys.stderr)
sys.exit(1 if missing else 0)
