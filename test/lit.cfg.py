# -*- Python -*-
# lit configuration for tessel. Loaded by build/test/lit.site.cfg.py, which sets
# tessel_src_root, tessel_obj_root, tessel_tools_dir, llvm_tools_dir and
# test_exec_root.

import os
import subprocess
import sys

import lit.formats

config.name = "tessel"
# lit's internal shell: the default upstream, and the only one lit >= 23 keeps.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test", ".py"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))

if not getattr(config, "test_exec_root", None):
    lit_config.fatal(
        "run lit on the build directory (build/test), not on the source tree"
    )

# Helpers live in lib/ (or are named *_gen.py); inputs and models are not tests.
config.excludes = ["lib", "Inputs", "models", "lit.cfg.py", "lit.site.cfg.py",
                   "__pycache__", "CMakeLists.txt"]
for _dirpath, _dirnames, _filenames in os.walk(config.test_source_root):
    config.excludes.extend(f for f in _filenames if f.endswith("_gen.py"))

test_lib_dir = os.path.join(config.test_source_root, "lib")
models_dir = os.path.join(config.test_source_root, "models")
shared_models_dir = os.path.normpath(
    os.path.join(config.tessel_src_root, "..", "shared", "models"))

tool_dirs = [config.tessel_tools_dir, config.llvm_tools_dir]
tessel_tools = ["tesselc", "tessel-opt", "tessel-run"]

try:
    import lit.llvm
    from lit.llvm.subst import ToolSubst
    have_lit_llvm = True
except ImportError:
    have_lit_llvm = False

if have_lit_llvm:
    lit.llvm.initialize(lit_config, config)
    from lit.llvm import llvm_config

    # FileCheck, `| not`, `| count` from llvm_tools_dir, and %python.
    llvm_config.use_default_substitutions()
    # Tools not built yet (tessel-run) stay unresolved instead of failing the suite.
    llvm_config.add_tool_substitutions(
        [ToolSubst(t, unresolved="ignore") for t in tessel_tools], tool_dirs)
    llvm_config.with_environment("PATH", config.tessel_tools_dir, append_path=True)
    llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
else:
    # PyPI's lit has no lit.llvm: substitute by absolute path ourselves.
    lit_config.note("lit.llvm not available; using built-in substitutions")
    config.substitutions.append(("%python", '"%s"' % sys.executable))
    for tool in ["FileCheck", "not", "count"]:
        path = os.path.join(config.llvm_tools_dir, tool)
        if not os.path.exists(path):
            lit_config.fatal("%s not found in %s" % (tool, config.llvm_tools_dir))
    # Same shapes as lit.llvm: FileCheck anywhere, not/count only after a pipe
    # or at the start of a command.
    config.substitutions.append(
        (r"(?<![\w./-])FileCheck\b(?![.-])",
         os.path.join(config.llvm_tools_dir, "FileCheck")))
    config.substitutions.append(
        (r"\| \bcount\b", "| " + os.path.join(config.llvm_tools_dir, "count")))
    config.substitutions.append(
        (r"\| \bnot\b", "| " + os.path.join(config.llvm_tools_dir, "not")))
    for tool in tessel_tools:
        path = os.path.join(config.tessel_tools_dir, tool)
        if os.path.exists(path):
            config.substitutions.append(
                (r"(?<![\w./-])%s\b(?![.-])" % tool.replace("-", r"\-"), path))
    config.environment["PATH"] = os.pathsep.join(
        [config.environment.get("PATH", "")] + tool_dirs)

config.substitutions.append(("%shared_models", shared_models_dir))
config.substitutions.append(("%models", models_dir))
config.substitutions.append(("%testlib", test_lib_dir))

# Python helpers in test/lib are importable from RUN lines.
pythonpath = [test_lib_dir]
if config.environment.get("PYTHONPATH"):
    pythonpath.append(config.environment["PYTHONPATH"])
elif os.environ.get("PYTHONPATH"):
    pythonpath.append(os.environ["PYTHONPATH"])
config.environment["PYTHONPATH"] = os.pathsep.join(pythonpath)

if os.path.isdir(shared_models_dir):
    config.available_features.add("shared-models")


def _has_cuda_device():
    try:
        out = subprocess.run(["nvidia-smi", "-L"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30,
                             universal_newlines=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and any(
        line.startswith("GPU ") for line in out.stdout.splitlines())


if _has_cuda_device():
    config.available_features.add("cuda-device")

# ptxas (CUDA toolkit): PTX from --target=cuda is assembled in CI too.
import shutil
if shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")
    config.environment["PATH"] = os.pathsep.join(
        [config.environment.get("PATH", ""), "/usr/local/cuda/bin"])
