#!/usr/bin/env python3
"""Loads several copies of libtessel_flash.so into one process (as a host
that also uses PyTorch's CUDA runtime would) and calls each: every call must
return 0 and give the same output.  python3 multilib_test.py LIB [LIB ...]"""
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_and_bench import Flash  # noqa: E402

tmp = tempfile.mkdtemp()
libs = []
for i, path in enumerate(sys.argv[1:]):
    for j in range(2):  # two copies of each build
        cp = os.path.join(tmp, f"lib{i}_{j}.so")
        shutil.copy(path, cp)
        libs.append((f"{os.path.basename(os.path.dirname(path))}#{j}", Flash(cp)))
q = torch.randn(2, 4, 256, 128, device="cuda", dtype=torch.float16)
ref = torch.nn.functional.scaled_dot_product_attention(q, q, q).float()
ok = True
for name, fl in libs:
    o = torch.full_like(q, float("nan"))
    rc = fl(fl.params(q, q, q, o, "bhsd"))
    torch.cuda.synchronize()
    err = float((o.float() - ref).norm() / ref.norm()) if rc == 0 else float("nan")
    ok &= rc == 0 and err < 5e-3
    print(f"{name}: rc={rc} rel_err={err:.2e}")
print("multilib", "PASS" if ok else "FAIL")
