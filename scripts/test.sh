#!/usr/bin/env bash
# Build tessel (via scripts/setup.sh) and run its tests: the lit suite, then any
# ctest-registered tests. Exits non-zero if anything fails.
#
#   scripts/test.sh [extra lit args...]     (works from any directory)
set -Eeuo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build_dir="${TESSEL_BUILD_DIR:-build}"

"$repo_root/scripts/setup.sh" || { echo "!! test.sh: setup failed" >&2; exit 1; }

# Debian's lit ships lit.llvm (tool substitutions); PyPI's does not.
debian_lit=/usr/lib/llvm-19/build/utils/lit/lit.py
if [ -f "$debian_lit" ]; then
  lit=(python3 "$debian_lit")
else
  # PyPI's lit has no `python3 -m lit` entry point (no lit/__main__.py).
  lit=(python3 -c "__import__('lit.main').main.main()")
fi

[ -f "$build_dir/test/lit.site.cfg.py" ] \
  || { echo "!! test.sh: $build_dir/test/lit.site.cfg.py missing (is test/ in the CMake build?)" >&2; exit 1; }

status=0

echo "==> lit suite (${lit[*]} -sv $build_dir/test)"
if ! "${lit[@]}" -sv "$@" "$build_dir/test"; then
  echo "!! test.sh: lit suite failed" >&2
  status=1
fi

if ctest --test-dir "$build_dir" -N 2>/dev/null | grep -q 'Total Tests: 0'; then
  echo "==> ctest: no tests registered, skipped"
else
  echo "==> ctest"
  if ! ctest --test-dir "$build_dir" --output-on-failure; then
    echo "!! test.sh: ctest failed" >&2
    status=1
  fi
fi

if [ "$status" -eq 0 ]; then
  echo "==> all tests passed"
fi
exit "$status"
