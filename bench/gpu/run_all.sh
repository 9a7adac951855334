#!/usr/bin/env bash
# The GPU suite in one command, on a machine with a GPU and a copy of the
# bundle this machine's build made (bench/gpu/make_bundle.sh, then
# bench/gpu/attention/build.sh, both without a GPU):
#   1. every model compiled for CUDA, run and compared with its reference
#      (run_checks.py), with timings against ONNX Runtime on the CPU;
#   2. the prefill attention kernel (bench/gpu/flash, built there with nvcc):
#      random-input checks against float64 and the benchmark against PyTorch
#      SDPA (flash, cuDNN);
#   3. the paged decode attention kernel: checks and the bandwidth benchmark
#      against the copy bandwidth and SDPA.
# Results (logs, JSON, Markdown tables) go to OUT; the exit status is non-zero
# if any check failed.
#
#   bench/gpu/run_all.sh OUT [BUNDLE_DIR]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: run_all.sh OUT [BUNDLE_DIR]}
bundle=${2:-$root/.gpu-bundle}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,temperature.gpu,clocks.sm \
  --format=csv > "$out/gpu.txt" 2>&1
status=0
if [ -d "$bundle/models" ]; then
  python3 "$root/bench/gpu/run_checks.py" --bundle "$bundle" --out "$out/models" \
    > "$out/models.log" 2>&1 || status=1
else
  echo "no $bundle/models: run bench/gpu/make_bundle.sh first" | tee "$out/models.log"
  status=1
fi
python3 "$root/bench/gpu/flash/check_and_bench.py" --out "$out/attention" \
  > "$out/attention.log" 2>&1 || status=1
python3 "$root/bench/gpu/attention/decode_bench.py" \
  --lib "$bundle/attention/libtessel_decode.so" --out "$out/decode" \
  > "$out/decode.log" 2>&1 || status=1
for f in "$out/models.log" "$out/attention.log" "$out/decode.log"; do
  echo "== $(basename "$f"): $(grep -E "correctness|match|FAIL|Error" "$f" | tail -2)"
done
exit $status
