#!/usr/bin/env bash
# On the GPU machine, with the archive of bench/gpu/make_compiler_carry.sh:
# generation through the CUDA paged KV cache.
#   1. (GREEDY=1, the default; PRECISIONS="fp32 fp16 bf16") test/e2e/kv-cache/greedy.py with --target=cuda: every decoder of
#      test/models compiled there with --kv-cache, its greedy tokens equal to
#      greedy.json (forks, preemption, 4-token blocks, prefix sharing); then
#      the fp16 and bf16 builds, whose agreement with the f32 tokens is
#      reported (--approx);
#   2. with E2E=1: bench/gpu/e2e_generate.py (the SmolLM2-1.7B-shaped
#      benchmark against HF generate; LAYERS=N for fewer layers, RUNS=N
#      timed runs, SYNC_BASELINE=1 also times a build whose launches wait,
#      PROFILE=1 adds an ncu timeline of prefill + 2 decode steps);
#   3. with CHECKS=1: every model compiled for CUDA and checked against its
#      reference (bench/gpu/run_checks.py; the bundle built here with the
#      carried tesselc, bench/gpu/make_bundle.sh, a job per core), and the
#      element-wise/norm benchmark (bench/gpu/elementwise).
# Logs and results go to OUT; non-zero exit if a check failed.
#
#   bench/gpu/run_generate.sh OUT [ARCHIVE]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: run_generate.sh OUT [ARCHIVE]}
archive=${2:-$root/.tessel-carry.tar.xz}
mkdir -p "$out"
work=$(mktemp -d)
tar -C "$work" -xJf "$archive" || exit 1
carry=$work/carry
cat > "$carry/bin/tesselc" <<SH
#!/bin/sh
exec "$carry/lib/ld-linux-x86-64.so.2" --library-path "$carry/lib" "$carry/lib/tesselc" "\$@"
SH
chmod +x "$carry/bin/tesselc"
export PATH=$carry/bin:$PATH
export LD_LIBRARY_PATH=$carry/rtlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version --format=csv > "$out/gpu.txt" 2>&1
status=0
models=$root/test/models
if [ "${GREEDY:-1}" = 1 ]; then
  for precision in ${PRECISIONS:-fp32 fp16 bf16}; do
    extra=
    [ $precision = fp32 ] || extra=--approx
    start=$(date +%s)
    python3 "$root/test/e2e/kv-cache/greedy.py" "$models" "$work/$precision" \
      --target=cuda --precision=$precision $extra \
      > "$out/greedy-$precision.log" 2>&1 || status=1
    echo "greedy $precision: rc so far $status, $(( $(date +%s) - start )) s" \
      | tee -a "$out/summary.txt"
  done
fi
if [ "${E2E:-0}" = 1 ]; then
  python3 "$root/bench/gpu/e2e_generate.py" --tesselc "$carry/bin/tesselc" \
    --tessel-run "$carry/bin/tessel-run" --work "$work/e2e" --out "$out" \
    --layers "${LAYERS:-24}" --runs "${RUNS:-1}" \
    ${SYNC_BASELINE:+--sync-baseline} ${PROFILE:+--profile} \
    > "$out/e2e.log" 2>&1 || status=1
  tail -8 "$out/e2e.log" | tee -a "$out/summary.txt"
fi
if [ "${CHECKS:-0}" = 1 ]; then
  build=$work/build
  mkdir -p "$build/bin" "$build/lib"
  ln -sf "$carry/bin/tessel-run" "$build/bin/tessel-run"
  ln -sf "$carry/rtlib/libtessel_rt.so" "$build/lib/libtessel_rt.so"
  start=$(date +%s)
  TESSELC=$carry/bin/tesselc BUNDLE_PARTS=models \
    bash "$root/bench/gpu/make_bundle.sh" "$build" "$work/bundle" \
    > "$out/bundle.log" 2>&1 || status=1
  echo "bundle: rc so far $status, $(( $(date +%s) - start )) s" \
    | tee -a "$out/summary.txt"
  python3 "$root/bench/gpu/run_checks.py" --bundle "$work/bundle" \
    --out "$out/checks" > "$out/checks.log" 2>&1 || status=1
  tail -4 "$out/checks.log" | tee -a "$out/summary.txt"
  ew=$work/elementwise
  mkdir -p "$ew"
  python3 "$root/bench/gpu/elementwise/make_models.py" "$ew" \
    >> "$out/elementwise.log" 2>&1
  for m in ew_chain rms_norm add_norm; do
    "$carry/bin/tesselc" "$ew/$m.onnx" --target=cuda -o "$ew/$m.so" \
      >> "$out/elementwise.log" 2>&1 || status=1
  done
  python3 "$root/bench/gpu/elementwise/run_bench.py" --libs "$ew" \
    --tessel-run "$carry/bin/tessel-run" --out "$out/elementwise" \
    >> "$out/elementwise.log" 2>&1 || status=1
  grep -E "kernels|TB/s" "$out/elementwise.log" | head -20 \
    | tee -a "$out/summary.txt"
fi
exit $status
