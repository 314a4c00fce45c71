#!/usr/bin/env bash
# Builds the Engine.IO/Socket.IO codec fuzz target (libFuzzer, ASan, UBSan) into build/fuzz/
# and runs it for SECONDS (default 30) on a scratch copy of the seed corpus; prints TAP.
#   tests/fuzz/run.sh [SECONDS]
# Exit status 0 when nothing was found, 1 on a crash, a broken invariant or a failed build.
set -u
secs=${1:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
out=build/fuzz
cxx=${CLANGXX:-clang++}

# The TAP plan and the "# pass"/"# fail" trailer the project's test runner counts.
report() {  # ok|not-ok message
    if [ "$1" = ok ]; then
        echo "ok 1 - $2"
    else
        echo "not ok 1 - $2"
    fi
    echo "1..1"
    if [ "$1" = ok ]; then
        printf '# pass 1\n# fail 0\n'
    else
        printf '# pass 0\n# fail 1\n'
    fi
}

case $secs in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac

echo "TAP version 13"
if ! command -v "$cxx" >/dev/null; then
    echo "ok 1 - codec fuzz # SKIP $cxx not found"
    echo "1..1"
    echo "# pass 0"
    echo "# fail 0"
    echo "# skipped 1"
    exit 0
fi

mkdir -p "$out"
# -fno-sanitize-recover: undefined behaviour must stop the run, not scroll by.
if ! "$cxx" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Isrc tests/fuzz/codec_fuzz.cpp src/net/eio/*.cpp src/net/sio/*.cpp src/core/json.cpp \
    -lcjson -o "$out/codec_fuzz" >"$out/build.log" 2>&1; then
    head -40 "$out/build.log" | sed 's/^/# /'
    report not-ok "codec fuzz: build failed (see $out/build.log)"
    exit 1
fi

# The fuzzer adds what it finds to its corpus: let it grow a copy, never the repo's seeds.
rm -rf "$out/corpus"
cp -r tests/fuzz/corpus "$out/corpus"
rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*

start=$(date +%s)
"$out/codec_fuzz" -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" >"$out/fuzz.log" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$out/fuzz.log" | tail -1)
if [ -z "$runs" ]; then  # a crash ends the run before the final stats
    runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$out/fuzz.log" | tail -1)
fi
runs=${runs:-0}

artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out/fuzz.log" | tail -1)
if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
    report ok "codec fuzz: $runs runs in $elapsed s, no crash"
    exit 0
fi
# Show what went wrong, bounded: the sanitizer's or the invariant's report.
grep -E 'ERROR|invariant|SUMMARY|runtime error|==[0-9]+==' "$out/fuzz.log" | head -20 |
    sed 's/^/# /'
report not-ok \
    "codec fuzz: crash after $runs runs in $elapsed s: ${artifact:-see $out/fuzz.log} (rc $rc)"
exit 1
