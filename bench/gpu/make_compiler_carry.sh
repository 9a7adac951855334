#!/usr/bin/env bash
# Packs tesselc (with every shared library it loads, and the loader itself),
# tessel-run and libtessel_rt into one xz archive small enough to travel to
# the GPU machine beside the working tree (the device tool's 64 MiB carry),
# so that models can be exported and compiled there (bench/gpu/e2e_generate.py,
# bench/gpu/run_generate.sh). tesselc runs as
#   carry/lib/ld-linux-x86-64.so.2 --library-path carry/lib carry/lib/tesselc
# so the GPU machine's own C library version does not matter.
#
# Two of libLLVM's dependencies are replaced by stubs: libz3 (the static
# analyzer's solver) and libxml2 (Windows manifest merging), neither of which
# tesselc calls; they cost 55 MB with ICU's data. The stubs define the
# symbol versions and the one data symbol (xmlFree) the loader resolves
# eagerly; every function binds lazily and is never called.
#
#   bench/gpu/make_compiler_carry.sh [BUILD_DIR] [OUT.tar.xz]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
archive=${2:-$root/.tessel-carry.tar.xz}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lib=$work/carry/lib
mkdir -p "$lib" "$work/carry/bin"
for l in $(ldd "$build/bin/tesselc" | awk '/=>/ {print $3}'); do
  case $(basename "$l") in
    libz3.so.4 | libxml2.so.2 | libicuuc.so.* | libicudata.so.*) ;;
    *) cp -L "$l" "$lib/" ;;
  esac
done
cp -L /lib64/ld-linux-x86-64.so.2 "$lib/"
echo 'void tessel_z3_stub(void) {}' > "$work/z3.c"
gcc -shared -fPIC -Wl,-soname,libz3.so.4 -o "$lib/libz3.so.4" "$work/z3.c"
# libxml2: every symbol version libLLVM/libMLIR ask for, and xmlFree.
versions=$(for f in "$lib"/libLLVM.so.* "$lib"/libMLIR.so.*; do
  readelf -V "$f" | awk '/File: libxml2.so.2/ {f = 1; next} /File:/ {f = 0}
                         f && /Name:/ {print $3}'
done | sort -u)
: > "$work/xml.map"
: > "$work/xml.c"
i=0
for v in $versions; do
  extra=
  [ "$v" = LIBXML2_2.4.30 ] && extra=" xmlFree;"
  echo "$v { global:$extra tessel_xml_stub_$i; };" >> "$work/xml.map"
  echo "void tessel_xml_stub_$i(void) {}" >> "$work/xml.c"
  i=$((i + 1))
done
echo 'void *xmlFree;' >> "$work/xml.c"
gcc -shared -fPIC -Wl,-soname,libxml2.so.2 -Wl,--version-script="$work/xml.map" \
  -o "$lib/libxml2.so.2" "$work/xml.c"
cp "$build/bin/tesselc" "$lib/"
strip --strip-unneeded "$lib/tesselc"
cp "$build/bin/tessel-run" "$work/carry/bin/"
mkdir -p "$work/carry/rtlib"
cp "$build/lib/libtessel_rt.so" "$work/carry/rtlib/"
# The check that the stubs suffice: compile a model with the packed loader.
"$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$lib/tesselc" \
  "$root/test/models/gpt2_eager_ts.onnx" --kv-cache --target=cuda \
  -o "$work/check.so"
tar -C "$work" -cf - carry | xz -9e -T2 > "$archive"
ls -la "$archive"
