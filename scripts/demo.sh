#!/usr/bin/env bash
# Build tessel (via scripts/setup.sh), import the example GPT-2 ONNX model, run the
# clean-up pipeline, and show the resulting tessel IR.
#
#   scripts/demo.sh     (works from any directory)
set -Eeuo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build_dir="${TESSEL_BUILD_DIR:-build}"

"$repo_root/scripts/setup.sh" || { echo "!! demo.sh: setup failed" >&2; exit 1; }

model=examples/gpt2_tiny.onnx
tesselc="$build_dir/bin/tesselc"
out_dir="$build_dir/demo"
out="$out_dir/gpt2_tiny.tessel.mlir"
log="$out_dir/gpt2_tiny.tesselc.log"

[ -f "$model" ] || { echo "!! demo.sh: example model $model not found" >&2; exit 1; }
[ -x "$tesselc" ] || { echo "!! demo.sh: $tesselc not built" >&2; exit 1; }
mkdir -p "$out_dir"
rm -f "$out" "$log"   # never show a stale result from an earlier run

echo "==> demo: $tesselc --emit=tessel -O2 --stats $model -o $out"
if ! "$tesselc" --emit=tessel -O2 --stats "$model" -o "$out" >"$log" 2>&1; then
  echo "!! demo.sh: tesselc failed on $model:" >&2
  cat "$log" >&2
  exit 1
fi
[ -s "$out" ] || { echo "!! demo.sh: tesselc succeeded but wrote no IR to $out" >&2; cat "$log" >&2; exit 1; }

echo
echo "What happened:"
echo "  - tesselc imported the example GPT-2 ONNX model ($model) into the tessel MLIR dialect."
echo "  - It then ran the -O2 clean-up pipeline over the imported graph."
echo "  - The resulting tessel IR ($(wc -l <"$out") lines) is in $out."
echo "  (This stage stops at tessel IR: no native code is generated yet.)"
echo
echo "Statistics reported by tesselc:"
if [ -s "$log" ]; then
  sed 's/^/  /' "$log"
else
  echo "  (none printed)"
fi
echo
echo "First 60 lines of $out:"
echo "----------------------------------------------------------------------"
head -n 60 "$out" || true
echo "----------------------------------------------------------------------"
echo "Full IR: $out"
