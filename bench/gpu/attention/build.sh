#!/bin/sh
# Builds libtessel_flash.so (sm_80 + sm_90) into $1 (default: .gpu-bundle/attention)
# and records ptxas' resource usage (registers, spills) beside it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../../.gpu-bundle/attention}
mkdir -p "$out"
nvcc -O3 -std=c++17 ${NVCC_FLAGS:-} -shared -Xcompiler -fPIC \
  -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
  -Xptxas -v -o "$out/libtessel_flash.so" "$here/flash_fwd.cu" 2> "$out/ptxas.txt" || { cat "$out/ptxas.txt" >&2; exit 1; }
grep -E "spill|registers" "$out/ptxas.txt" | sort | uniq -c
