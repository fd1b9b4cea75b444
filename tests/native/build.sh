#!/usr/bin/env bash
# Builds the DOCA Flow emulator (both API generations), our DOCA shim and the C test runner.
#
#   tests/native/build.sh [BUILD_DIR]        (default: tests/native/build)
#
# Output:
#   BUILD_DIR/gen-a/libdoca_flow.so.2, libdoca_common.so.2 (+ unversioned symlinks)  Gen A exports
#   BUILD_DIR/gen-b/...                                                              Gen B exports
#   BUILD_DIR/libofl_doca_shim.so     the shim, linked against the emulator's sonames (either gen);
#                                     also copied into each gen-* directory
#   BUILD_DIR/emu_tests               the runner: --list, --run NAME, --run-all
#   BUILD_DIR/p7_entries              PERF.md P7's C baseline (perf/p7_entries.c; run with LD_LIBRARY_PATH=BUILD_DIR/gen-X:BUILD_DIR)
# The generation is picked by which gen-* directory the loader sees first (LD_LIBRARY_PATH, or
# the binding's native path); run the runner once per directory.
#
# Idempotent: nothing is rebuilt when the sources are unchanged; concurrent calls serialise.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here/build}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

exec 9>"$out/.lock"
flock 9

emu="$here/doca-emulator"
shim="$repo/src/Offload.Doca/native"
sources=("$here/build.sh" "$emu"/include/*.h "$emu"/*.h "$emu"/*.c "$here"/emu-tests/*.c "$here"/emu-tests/*.h "$shim"/*.c "$shim"/*.h "$here"/perf/*.c)
# EXTRA_CFLAGS (e.g. "-fsanitize=address,undefined") is part of the stamp so a switch rebuilds.
stamp="$( (cat "${sources[@]}"; echo "${CC:-gcc} ${EXTRA_CFLAGS:-}") | sha256sum | cut -d' ' -f1)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] && [ -x "$out/emu_tests" ]; then
    exit 0
fi

cc="${CC:-gcc}"
cflags=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -fvisibility=hidden -I"$emu/include")
# shellcheck disable=SC2206 # word splitting of the extra flags is intended
[ -n "${EXTRA_CFLAGS:-}" ] && cflags+=(${EXTRA_CFLAGS})

for gen in a b; do
    dir="$out/gen-$gen"
    mkdir -p "$dir"
    def=()
    [ "$gen" = b ] && def=(-DDOCA_EMU_GEN_B)
    "$cc" "${cflags[@]}" "${def[@]}" -shared -Wl,-soname,libdoca_common.so.2 \
        -o "$dir/libdoca_common.so.2.tmp" "$emu/emu_common.c"
    "$cc" "${cflags[@]}" "${def[@]}" -shared -Wl,-soname,libdoca_flow.so.2 \
        -o "$dir/libdoca_flow.so.2.tmp" "$emu/emu_flow.c" "$emu/emu_packet.c" -lpthread
    mv -f "$dir/libdoca_common.so.2.tmp" "$dir/libdoca_common.so.2"
    mv -f "$dir/libdoca_flow.so.2.tmp" "$dir/libdoca_flow.so.2"
    ln -sfn libdoca_common.so.2 "$dir/libdoca_common.so"
    ln -sfn libdoca_flow.so.2 "$dir/libdoca_flow.so"
done

# The shim names libdoca_flow.so.2 / libdoca_common.so.2 as DT_NEEDED and finds whichever
# generation is already loaded (or on the loader path); the add-entry call is bound weakly.
"$cc" "${cflags[@]}" -shared -Wl,-soname,libofl_doca_shim.so -Wl,--no-as-needed \
    -o "$out/libofl_doca_shim.so.tmp" "$shim/offload_doca_shim.c" \
    -L"$out/gen-a" -ldoca_flow -ldoca_common
mv -f "$out/libofl_doca_shim.so.tmp" "$out/libofl_doca_shim.so"
# Each generation directory is a complete native directory for the binding (DOCA + shim).
for gen in a b; do
    cp -f "$out/libofl_doca_shim.so" "$out/gen-$gen/libofl_doca_shim.so.tmp"
    mv -f "$out/gen-$gen/libofl_doca_shim.so.tmp" "$out/gen-$gen/libofl_doca_shim.so"
done

"$cc" "${cflags[@]}" -fvisibility=default -I"$shim" -o "$out/emu_tests.tmp" "$here"/emu-tests/*.c \
    -L"$out" -L"$out/gen-a" -lofl_doca_shim -ldoca_flow -ldoca_common -ldl -lm
mv -f "$out/emu_tests.tmp" "$out/emu_tests"

"$cc" "${cflags[@]}" -fvisibility=default -I"$shim" -o "$out/p7_entries.tmp" "$here/perf/p7_entries.c" \
    -L"$out" -L"$out/gen-a" -lofl_doca_shim -ldoca_flow -ldoca_common
mv -f "$out/p7_entries.tmp" "$out/p7_entries"

echo "$stamp" >"$out/.stamp"
