#!/usr/bin/env bash
# Builds what the GPU checks need on a machine with the CUDA toolkit but no
# GPU: every model of test/models compiled with --target=cuda (-O0, -O2),
# tessel-run and libtessel_rt, and a reference for tinylm_bytes (the CPU
# target's output, which matches ONNX Runtime: test/e2e/run). The bundle is
# what travels to the GPU machine (bench/gpu/run_checks.py runs it there).
#
# With the part "kv", every decoder of greedy.json compiled with --kv-cache
# --target=cuda in fp32, fp16 and bf16 (kv/, kv-fp16/, kv-bf16/), for
# test/e2e/kv-cache/greedy.py --prebuilt on the GPU machine.
#
# TESSELC=PATH compiles with another tesselc (the GPU machine's carried
# one); JOBS=N compilations at a time (default: the cores).
#
#   [BUNDLE_PARTS="models kv"] bench/gpu/make_bundle.sh [BUILD_DIR] [BUNDLE_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bundle=${2:-$root/.gpu-bundle}
parts=${BUNDLE_PARTS:-models kv}
rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/models"
cp "$build/bin/tessel-run" "$bundle/bin/"
cp "$build/lib/libtessel_rt.so" "$bundle/lib/"
# The compilations run JOBS at a time (default: one per core), from a list.
tesselc=${TESSELC:-$build/bin/tesselc}
jobs=$(mktemp)
trap 'rm -f "$jobs"' EXIT
compile_all() {
  xargs -P "${JOBS:-$(nproc)}" -L 1 -a "$jobs" sh -c '"$0" "$@" || exit 255'
}
if [[ " $parts " == *" kv "* ]]; then
  cp "$root/test/models/greedy.json" "$bundle/models/"
  for model in $(python3 -c "import json, sys; print(' '.join(sorted(json.load(open(sys.argv[1]))['cases'])))" "$root/test/models/greedy.json"); do
    for precision in fp32 fp16 bf16; do
      dir=$bundle/kv; [ $precision = fp32 ] || dir=$bundle/kv-$precision
      mkdir -p "$dir"
      echo "$tesselc $root/test/models/$model.onnx --kv-cache" \
        "--target=cuda --precision=$precision -o $dir/$model.so" >> "$jobs"
    done
  done
fi
if [[ " $parts " != *" models "* ]]; then
  compile_all
  du -sh "$bundle"
  exit 0
fi
# tinylm_bytes (13 MB of weights) at -O2 only: the bundle must stay small
# enough to travel.
# Two attention blocks at head dims the shared models lack (they all use
# 16): their f16/bf16 builds run the runtime's FlashAttention kernel.
python3 "$root/test/lib/attention_model.py" "$bundle/models/attn_d64_gqa" \
  --head-dim 64 --heads 4 --kv-heads 2 --causal 1
python3 "$root/test/lib/attention_model.py" "$bundle/models/attn_d128" \
  --head-dim 128 --heads 2 --kv-heads 2 --causal 0
for onnx in "$root"/test/models/*.onnx "$bundle"/models/attn_*.onnx; do
  name=$(basename "$onnx" .onnx)
  opts="0 2"
  case $name in tinylm_bytes_eager_ts | attn_*) opts=2 ;; esac
  for opt in $opts; do
    echo "$tesselc $onnx -O$opt --target=cuda -o $bundle/models/$name.O$opt.so" \
      >> "$jobs"
  done
  # --precision: every model at -O2 in fp16 and bf16.
  for precision in fp16 bf16; do
    echo "$tesselc $onnx -O2 --target=cuda --precision=$precision" \
      "-o $bundle/models/$name.O2.$precision.so" >> "$jobs"
  done
done
compile_all
rm -f "$bundle"/models/attn_*.onnx
# tinylm_bytes has no .npz: 2 x 256 bytes of text, the CPU result as the
# reference.
python3 - "$root" "$bundle" "$build" <<'PY'
import os, subprocess, sys
import numpy as np
root, bundle, build = sys.argv[1:4]
text = open(os.path.join(root, "README.md"), "rb").read()
ids = np.frombuffer(text[:512].ljust(512, b" "), np.uint8).astype(np.int64)
feeds = {"input_ids": ids.reshape(2, 256),
         "attention_mask": np.ones((2, 256), np.int64)}
inputs = os.path.join(bundle, "models", "tinylm_bytes_eager_ts.npz")
np.savez(inputs, **feeds)
cpu = os.path.join(bundle, "tinylm.cpu.so")
subprocess.run([os.environ.get("TESSELC", os.path.join(build, "bin", "tesselc")),
                os.path.join(root, "test", "models",
                             "tinylm_bytes_eager_ts.onnx"), "-o", cpu],
               check=True)
out = os.path.join(bundle, "tinylm.out.npz")
subprocess.run([os.path.join(build, "bin", "tessel-run"), cpu, "--inputs",
                inputs, "--outputs", out], check=True)
with np.load(out) as o:
    np.savez(inputs, **dict(o), **feeds)
for f in (cpu, cpu[:-3] + ".weights", out):
    if os.path.exists(f):
        os.remove(f)
PY
du -sh "$bundle"
