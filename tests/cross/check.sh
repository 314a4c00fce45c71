#!/usr/bin/env bash
# Cross builds: robotd for each board arch builds, is an ARM ELF, and starts under
# qemu-user (--version, --check-config on tests/fixtures/letsrobot.conf). TAP output.
set -u
cd "$(dirname "$0")/../.."
n=0 pass=0 fail=0
check() {  # arch file-pattern
    n=$((n + 1))
    local out
    if out=$(make --no-print-directory CROSS="$1" qemu-smoke 2>&1) &&
        file -b "build/$1/robotd" | grep -q "$2" && grep -q '^robotd [0-9]' <<<"$out"; then
        pass=$((pass + 1))
        echo "ok $n - CROSS=$1 builds an ARM ELF that runs under qemu: $(file -b "build/$1/robotd" | cut -d, -f1-2)"
    else
        fail=$((fail + 1))
        echo "not ok $n - CROSS=$1"
        echo "$out" | tail -20 | sed 's/^/# /'
        [ -e "build/$1/robotd" ] && echo "# file: $(file -b "build/$1/robotd")"
    fi
}
echo "TAP version 13"
check aarch64 'ELF 64-bit LSB .*ARM aarch64'
check armhf 'ELF 32-bit LSB .*ARM, EABI5'
echo "1..$n"
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ]
