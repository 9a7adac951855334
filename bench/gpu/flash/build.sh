#!/bin/sh
# Builds libtessel_flash.so (runtime/cuda/FlashAttention.cu) for sm_80 + sm_90
# into OUT_DIR (default: bench/gpu/flash/build) and writes ptxas' resource
# usage (registers, stack, spills per kernel instantiation) to
# OUT_DIR/ptxas.txt, with a one-line-per-kernel summary on stdout.
#   bench/gpu/flash/build.sh [OUT_DIR]        NVCC_FLAGS adds options.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
mkdir -p "$out"
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
# Hidden visibility + --exclude-libs: the .so exports only the two
# tessel_flash_* entry points, not its kernels' host stubs nor the static CUDA
# runtime's cuda* symbols (which could interpose with the process' own).
"$nvcc" -O3 -std=c++17 ${NVCC_FLAGS:-} -shared -Xcompiler -fPIC \
  -Xcompiler -fvisibility=hidden -Xlinker --exclude-libs,ALL --threads 0 \
  -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
  -Xptxas -v -o "$out/libtessel_flash.so" "$here/../../../runtime/cuda/FlashAttention.cu" \
  > "$out/ptxas.txt" 2>&1 || { cat "$out/ptxas.txt" >&2; exit 1; }
# "sm_90 d=128 fp16 causal: 255 registers, 0 bytes stack, spills 0/0"
awk '
  /Compiling entry function/ {
    match($0, /tessel_flash_fwd_d[0-9]+_b?f16_(causal|full)/); k = substr($0, RSTART, RLENGTH)
    split(k, a, /_/); d = substr(a[4], 2); bf = (a[5] == "bf16"); ca = (a[6] == "causal")
    match($0, /sm_[0-9]+/); arch = substr($0, RSTART, RLENGTH) }
  /bytes stack frame/ { st = $1; ss = $5; sl = $9 }
  /Used [0-9]+ registers/ && d != "" {
    match($0, /Used [0-9]+ registers/); r = substr($0, RSTART + 5, RLENGTH - 15)
    printf "%s d=%s %s %s: %s registers, %s bytes stack, spills %s/%s\n", arch, d,
      (bf == "1" ? "bf16" : "fp16"), (ca == "1" ? "causal" : "full"), r, st, ss, sl
    d = "" }' "$out/ptxas.txt" | sort -t= -k2 -n | tee "$out/ptxas-summary.txt"
echo "built $out/libtessel_flash.so"
