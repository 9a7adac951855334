# --target=cuda without a GPU (what CI checks): every model in test/models
# compiles at -O0 and -O2 to model.so + model.weights whose manifest says
# `target cuda` and which imports its kernel launches and its f32 matrix
# products (cuBLAS) from the runtime; with
# --emit=ptx the kernels come out as PTX, and where the CUDA toolkit's
# ptxas is installed every kernel module of three models assembles for
# sm_80 and sm_90.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %models %t

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

models_dir, work = sys.argv[1], sys.argv[2]
models = sorted(f[:-5] for f in os.listdir(models_dir) if f.endswith(".onnx"))
assert len(models) >= 13, models


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd),
                                                   r.returncode, r.stdout))
    return r.stdout


def compile_lib(name, opt):
    so = os.path.join(work, "%s.O%d.so" % (name, opt))
    run(["tesselc", os.path.join(models_dir, name + ".onnx"), "-O%d" % opt,
         "--target=cuda", "-o", so])
    data = open(so, "rb").read()
    assert b"tessel-model 1\ntarget cuda\n" in data, name
    weights = so[:-3] + ".weights"
    assert os.path.exists(weights), weights
    undefined = run(["nm", "-D", "--undefined-only", so])
    for symbol in ("mgpuLaunchKernel", "mgpuModuleLoadJIT",
                   "_mlir_memref_to_llvm_alloc", "tessel_cuda_sgemm"):
        assert symbol in undefined, (name, symbol, undefined)
    assert "cblas_sgemm" not in undefined, name
    return name, opt


def check_ptx(name):
    ptx = os.path.join(work, name + ".ptx")
    run(["tesselc", os.path.join(models_dir, name + ".onnx"), "-O2",
         "--target=cuda", "--emit=ptx", "-o", ptx])
    text = open(ptx).read()
    modules = re.split(r"^// kernel module \S+\n", text, flags=re.M)[1:]
    assert modules and "\0" not in text, name
    assert all(".entry" in m and ".target sm_80" in m for m in modules), name
    assembled = 0
    if shutil.which("ptxas"):
        for i, module in enumerate(modules):
            path = os.path.join(work, "%s.%d.ptx" % (name, i))
            with open(path, "w") as f:
                f.write(module)
            for arch in ("sm_80", "sm_90"):
                run(["ptxas", "-arch=" + arch, path, "-o", path + ".cubin"])
                assembled += 1
    return name, len(modules), assembled


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    libs = list(pool.map(lambda a: compile_lib(*a),
                         [(m, o) for m in models for o in (0, 2)]))
    ptx = list(pool.map(check_ptx, ["gpt2_eager_ts", "llama_gqa_sdpa_dynamo",
                                    "bert_sdpa_ts"]))
print("compiled %d libraries" % len(libs))
for name, modules, assembled in ptx:
    print("%s: %d kernel modules, %d ptxas runs" % (name, modules, assembled))
