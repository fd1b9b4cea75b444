#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian machine.
# Installs what the tests need when it is missing (Debian packages; the native DOCA emulator is built by its tests),
# builds, runs `dotnet test`, and ends with one line "N passed, N failed, N skipped" computed from the
# test results (TRX files).
set -uo pipefail
cd "$(dirname "$0")"

need_pkgs=()
command -v tshark >/dev/null 2>&1 || need_pkgs+=(tshark)
# Offload.Kernel integration tests: network namespaces, conntrack as the oracle, nftables (CLI and libnftables)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v conntrack >/dev/null 2>&1 || need_pkgs+=(conntrack)
command -v nft >/dev/null 2>&1 || need_pkgs+=(nftables)
ldconfig -p 2>/dev/null | grep -q 'libnftables\.so\.1' || need_pkgs+=(libnftables1)
# The DOCA Flow emulator and our shim (tests/native/build.sh) are C, built with gcc
command -v gcc >/dev/null 2>&1 || need_pkgs+=(gcc libc6-dev)
if ((${#need_pkgs[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing ${need_pkgs[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
        (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}") >/dev/null 2>&1 \
            || echo "test.sh: could not install ${need_pkgs[*]}; tests that need them will say so" >&2
    else
        echo "test.sh: missing ${need_pkgs[*]} (run as root to install); tests that need them will say so" >&2
    fi
fi

results=".artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet test Offload.sln -c Release --logger "trx" --results-directory "$results" \
    --blame-hang-timeout 10m "$@"
rc=$?

# The emulator exists in two DOCA API generations (A: 2.9-3.2, B: 3.3+); one process can load only one, so the
# DOCA binding tests run a second time against generation B (the C emulator tests already cover both each run).
DOCA_EMU_GEN=B dotnet test tests/Offload.Doca.Tests -c Release --no-build --logger "trx" \
    --filter "FullyQualifiedName!~Offload.Doca.Tests.Emulator" \
    --results-directory "$results/doca-gen-b" --blame-hang-timeout 10m "$@"
rc_b=$?
[ "$rc" = 0 ] && rc=$rc_b

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx "$results"/*/*.trx; do
    [ -f "$trx" ] || continue
    files=$((files + 1))
    line=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    get() { printf '%s' "$line" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
    p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); n=$(get notExecuted)
    total=$(get total); executed=$(get executed)
    # The VSTest TRX logger leaves notExecuted at 0 for skipped xunit tests; they show as total - executed.
    gap=$(( ${total:-0} - ${executed:-0} ))
    [ "$gap" -gt "${n:-0}" ] && n=$gap
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0}))
    skipped=$((skipped + ${n:-0}))
done

if [ "$files" = 0 ]; then
    echo "test.sh: no test results (build failed?)" >&2
    failed=$((failed + 1))
    [ "$rc" = 0 ] && rc=1
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"
