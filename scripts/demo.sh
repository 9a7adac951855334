#!/usr/bin/env bash
# The main job on a small model: build tessel (via scripts/setup.sh), compile
# the example GPT-2 ONNX model to a native library for this CPU, run it
# through the runtime and check its output against ONNX Runtime's.
#
#   scripts/demo.sh     (works from any directory)
set -Eeuo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build_dir="${TESSEL_BUILD_DIR:-build}"

"$repo_root/scripts/setup.sh" || { echo "!! demo.sh: setup failed" >&2; exit 1; }

model=examples/gpt2_tiny.onnx
reference=examples/gpt2_tiny.npz
tesselc="$build_dir/bin/tesselc"
tessel_run="$build_dir/bin/tessel-run"
out_dir="$build_dir/demo"
ir="$out_dir/gpt2_tiny.tessel.mlir"
lib="$out_dir/gpt2_tiny.so"

for f in "$model" "$reference"; do
  [ -f "$f" ] || { echo "!! demo.sh: example file $f not found" >&2; exit 1; }
done
for t in "$tesselc" "$tessel_run"; do
  [ -x "$t" ] || { echo "!! demo.sh: $t not built" >&2; exit 1; }
done
mkdir -p "$out_dir"
rm -f "$ir" "$lib" "${lib%.so}.weights"   # never show a stale result

echo "==> 1. Import and optimise: $tesselc $model --emit=tessel -O2 --stats -o $ir"
"$tesselc" "$model" --emit=tessel -O2 --stats -o "$ir" 2>&1 | sed 's/^/   /'
echo "   The ONNX graph is now tessel IR ($(wc -l <"$ir") lines in $ir);"
echo "   the table shows the op counts before/after the clean-up pipeline."
echo

echo "==> 2. Compile for this CPU: $tesselc $model -O2 -o $lib"
"$tesselc" "$model" -O2 -o "$lib"
echo "   Wrote $lib (code) and ${lib%.so}.weights (the weights, memory-mapped at load)."
echo

echo "==> 3. Run it and compare with ONNX Runtime's output:"
echo "   $tessel_run $lib --inputs $reference --compare $reference --rtol 1e-4 --atol 1e-4"
"$tessel_run" "$lib" --inputs "$reference" --compare "$reference" \
  --rtol 1e-4 --atol 1e-4 --bench 20 2>/dev/null | sed 's/^/   /'
echo
echo "Done: the example model was compiled to native code by tessel and its"
echo "logits match ONNX Runtime's to within 1e-4."
