#!/bin/sh
# Builds libtessel_decode.so (the runtime's paged decode attention,
# runtime/cuda/PagedAttention.cu; the prefill kernel is bench/gpu/flash) for sm_80 + sm_90 into $1 (default:
# .gpu-bundle/attention) and records ptxas' resource usage (registers,
# spills) beside it. NVCC_FLAGS adds options (e.g. -DTESSEL_PAGED_DECODE_STAGES=4);
# GENCODE replaces the targets (e.g. "-gencode arch=compute_90,code=sm_90"
# for quicker builds on the H100); DECODE_SRC names another source of this
# folder (default decode_paged), built as libtessel_decode.so all the same.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../../.gpu-bundle/attention}
mkdir -p "$out"
gencode=${GENCODE:-"-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90"}
for kernel in decode:${DECODE_SRC:-decode_paged}; do
  lib=${kernel%%:*}
  src=${kernel#*:}
  nvcc -O3 -std=c++17 ${NVCC_FLAGS:-} -shared -Xcompiler -fPIC \
    $gencode \
    -Xptxas -v -o "$out/libtessel_$lib.so" "$here/$src.cu" \
    2> "$out/ptxas-$lib.txt" || { cat "$out/ptxas-$lib.txt" >&2; exit 1; }
  echo "$lib:"
  grep -E "spill|registers" "$out/ptxas-$lib.txt" | sort | uniq -c
done
