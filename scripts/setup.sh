#!/usr/bin/env bash
# Bring a fresh Debian 12 machine to a built tessel tree. This script is idempotent:
# it installs only what is missing, configures only if build/build.ninja is missing,
# and then runs an incremental build.
#
#   scripts/setup.sh            (works from any directory)
#
# Environment overrides: TESSEL_BUILD_DIR (default: build), TESSEL_JOBS (default: nproc).
set -Eeuo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

build_dir="${TESSEL_BUILD_DIR:-build}"
jobs="${TESSEL_JOBS:-$(nproc 2>/dev/null || echo 2)}"

step="start"
step() { step="$1"; printf '==> %s\n' "$1"; }
die() { printf '!! setup.sh: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "!! setup.sh: step \"%s\" failed (exit %s)\n" "$step" "$rc" >&2' ERR

# Privilege for apt: run directly as root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "step \"$step\" needs root: run as root or install sudo"
  fi
}

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# --- 1. Debian packages ------------------------------------------------------
step "system packages"
# libopenblas-dev: the CPU target calls OpenBLAS sgemm; zlib1g-dev: tessel-run
# reads compressed .npz; libgtest-dev: runtime unit tests; gcc (cc) links
# model.so; python3.11-doc: the text of the accuracy test.
packages=(llvm-19-dev libmlir-19-dev mlir-19-tools clang-19 llvm-19-tools
          libonnx-dev libprotobuf-dev protobuf-compiler ninja-build cmake
          libopenblas-dev zlib1g-dev libgtest-dev gcc g++ python3.11-doc)
missing=()
for p in "${packages[@]}"; do
  is_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "    installing: ${missing[*]}"
  apt_install "${missing[@]}"
else
  echo "    all present"
fi

# --- 2. Python test dependencies ---------------------------------------------
step "python packages"
if python3 -c 'import onnx, onnxruntime, numpy, lit' >/dev/null 2>&1; then
  echo "    all present"
else
  if ! python3 -m pip --version >/dev/null 2>&1; then
    # A bare Debian python3 has no pip; it comes from python3-pip.
    echo "    pip missing: installing python3-pip"
    apt_install python3-pip
  fi
  pip_log="$(mktemp)"
  if ! python3 -m pip install onnx onnxruntime numpy lit 2>&1 | tee "$pip_log"; then
    if grep -q 'externally-managed-environment' "$pip_log"; then
      echo "    pip refused (externally managed environment): retrying with --break-system-packages"
      python3 -m pip install --break-system-packages onnx onnxruntime numpy lit
    else
      rm -f "$pip_log"
      die "step \"$step\": pip install onnx onnxruntime numpy lit failed (output above)"
    fi
  fi
  rm -f "$pip_log"
  python3 -c 'import onnx, onnxruntime, numpy, lit' \
    || die "step \"$step\": packages installed but 'import onnx, onnxruntime, numpy, lit' still fails"
fi

# --- 3. Configure --------------------------------------------------------------
step "configure ($build_dir)"
if [ -f "$build_dir/build.ninja" ]; then
  echo "    already configured (ninja re-runs cmake itself when CMakeLists change)"
else
  cmake -G Ninja -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
fi

# --- 4. Build ----------------------------------------------------------------
step "build (ninja -j$jobs)"
ninja -C "$build_dir" -j"$jobs"

step "setup done"
