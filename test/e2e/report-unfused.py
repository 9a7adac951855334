# The fusion report lists what a fusion pass could not fuse, with the
# reason it left on the op: here a rotate-half rotary embedding whose cos/sin
# are graph inputs (nothing proves their halves repeat, which
# RotaryEmbedding's half-width caches need), next to a SiLU that fuses.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
# RUN: tesselc %t/m.onnx --emit=tessel -O2 -o %t/m.mlir --report=%t/r.json
# RUN: %python -c "import json; r = json.load(open(r'%t/r.json')); u = [o for o in r['ops'] if not o['fused']]; assert len(u) == 1, r['ops']; u = u[0]; assert u['kind'] == 'rotary_embedding' and u['layer'] == 3 and u['node'] == '/m/model/layers.3/self_attn/Add', u; assert u['reason'].startswith('cannot prove cos/sin repeat their first half'), u"
# RUN: %python -c "import json; r = json.load(open(r'%t/r.json')); assert r['summary'] == {'rotary_embedding': {'fused': 0, 'unfused': 1}, 'silu': {'fused': 1, 'unfused': 0}}, r['summary']; assert r['layers'] == [{'layer': 3, 'fused': ['silu'], 'unfused': ['rotary_embedding']}], r['layers']"
# The unfused chain is still there, and still computes the graph.
# RUN: FileCheck %s < %t/m.mlir
# CHECK: tessel.neg
# CHECK: tessel.add {{.*}}tessel.unfused = "cannot prove cos/sin repeat

import numpy as np
from onnx_models import F32, model, node, out_dir, save, tensor, value

scope = "/m/model/layers.3/self_attn/"
save(model([node("Slice", ["x", "zero", "half", "last", "one"], ["x1"],
                 name=scope + "Slice"),
            node("Slice", ["x", "half", "end", "last", "one"], ["x2"],
                 name=scope + "Slice_1"),
            node("Neg", ["x2"], ["nx2"], name=scope + "Neg"),
            node("Concat", ["nx2", "x1"], ["rot"], axis=-1,
                 name=scope + "Concat"),
            node("Mul", ["x", "cos"], ["xc"], name=scope + "Mul"),
            node("Mul", ["rot", "sin"], ["rs"], name=scope + "Mul_1"),
            node("Add", ["xc", "rs"], ["y"], name=scope + "Add"),
            node("Sigmoid", ["y"], ["sy"], name="/m/model/layers.3/act/Sigmoid"),
            node("Mul", ["y", "sy"], ["out"], name="/m/model/layers.3/act/Mul")],
           [value("x", F32, [1, 2, 4, 8]), value("cos", F32, [1, 1, 4, 8]),
            value("sin", F32, [1, 1, 4, 8])],
           [value("out", F32, [1, 2, 4, 8])],
           [tensor("zero", np.array([0])), tensor("half", np.array([4])),
            tensor("end", np.array([2**63 - 1])),
            tensor("last", np.array([3])), tensor("one", np.array([1]))]),
     out_dir("m.onnx"))
