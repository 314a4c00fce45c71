#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan, UBSan) into build/fuzz/ and runs each on a scratch copy
# of its seed corpus (tests/fuzz/corpus/NAME/); prints TAP, one test per target.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
# SECONDS (default 30) is the total fuzzing time, shared evenly by the targets run (at least
# 1 s each; a target that overran its share, start-up included, leaves less to the rest).
# Targets: every parser reachable from the network or the config file (see TARGETS).
# A target is rebuilt only when a source or header changed since its last build.
# Exit status 0 when nothing was found, 1 on a crash, a broken invariant or a failed build;
# a crash's reproducer path is printed (run the target binary on it to see it again).
set -u
secs=${1:-30}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
out=build/fuzz
cxx=${CLANGXX:-clang++}
lws_include=build/host/lws/include  # hw/driver.h (command.h) includes net/loop.h

# name: sources beside tests/fuzz/NAME_fuzz.cpp, then libraries.
declare -A TARGETS=(
    [codec]="src/net/eio/*.cpp src/net/sio/*.cpp src/core/json.cpp -lcjson"
    [lookup]="src/robot/lookup_reply.cpp src/core/json.cpp -lcjson"
    [chat]="src/robot/chat.cpp src/core/json.cpp src/core/text.cpp -lcjson"
    [command]="src/robot/command.cpp src/core/json.cpp -lcjson"
    [config]="src/core/config.cpp src/core/output_map.cpp src/core/argv.cpp src/core/text.cpp src/core/url.cpp -linih"
)
ORDER=(codec lookup chat command config)

case $secs in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
    ;;
esac
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ORDER[@]}")
for n in "${names[@]}"; do
    if [ -z "${TARGETS[$n]+set}" ]; then
        echo "$0: unknown target $n (targets: ${ORDER[*]})" >&2
        exit 2
    fi
done
count=${#names[@]}

echo "TAP version 13"
if ! command -v "$cxx" >/dev/null; then
    i=0
    for n in "${names[@]}"; do
        i=$((i + 1))
        echo "ok $i - $n fuzz # SKIP $cxx not found"
    done
    printf '1..%d\n# pass 0\n# fail 0\n# skipped %d\n' "$count" "$count"
    exit 0
fi

mkdir -p "$out"

# True when build/fuzz/NAME_fuzz is missing or older than any source or header it may use
# (coarse: one changed file under src/ rebuilds every target, which is still seconds).
stale() {  # name
    local bin=$out/$1_fuzz
    [ -x "$bin" ] || return 0
    [ ! "$0" -nt "$bin" ] || return 0
    [ -n "$(find src tests/fuzz \( -name '*.cpp' -o -name '*.h' \) -newer "$bin" | head -1)" ]
}

build() {  # name
    local name=$1 srcs=() libs=() w
    for w in ${TARGETS[$name]}; do  # unquoted: the globs expand here
        case $w in
        -l*) libs+=("$w") ;;
        *) srcs+=("$w") ;;
        esac
    done
    stale "$name" || return 0
    # -fno-sanitize-recover: undefined behaviour must stop the run, not scroll by.
    "$cxx" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -Isrc -Itests/fuzz -I"$lws_include" "tests/fuzz/${name}_fuzz.cpp" "${srcs[@]}" \
        "${libs[@]}" -o "$out/${name}_fuzz" >"$out/$name-build.log" 2>&1
}

n=0 pass=0 fail=0 spent=0
for name in "${names[@]}"; do
    n=$((n + 1))
    each=$(((secs - spent) / (count - n + 1)))
    [ "$each" -ge 1 ] || each=1
    if ! build "$name"; then
        head -40 "$out/$name-build.log" | sed 's/^/# /'
        echo "not ok $n - $name fuzz: build failed (see $out/$name-build.log)"
        fail=$((fail + 1))
        continue
    fi
    # The fuzzer adds what it finds to its corpus: let it grow a copy, never the repo's seeds.
    corpus=$out/corpus/$name
    rm -rf "$corpus"
    mkdir -p "$out/corpus"
    cp -r "tests/fuzz/corpus/$name" "$corpus"
    rm -f "$out/$name"-crash-* "$out/$name"-leak-* "$out/$name"-timeout-* "$out/$name"-oom-* \
        "$out/$name"-slow-unit-*
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    log=$out/$name-fuzz.log
    start=$(date +%s)
    "$out/${name}_fuzz" -max_total_time="$each" -max_len=65536 -timeout=10 -print_final_stats=1 \
        "${dict[@]}" -artifact_prefix="$out/$name-" "$corpus" >"$log" 2>&1
    rc=$?
    elapsed=$(($(date +%s) - start))
    spent=$((spent + elapsed))
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    if [ -z "$runs" ]; then  # a crash ends the run before the final stats
        runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
    fi
    runs=${runs:-0}
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
        echo "ok $n - $name fuzz: $runs runs in $elapsed s, no crash"
        pass=$((pass + 1))
        continue
    fi
    # What went wrong, bounded: the sanitizer's or the invariant's report.
    grep -E 'ERROR|invariant|SUMMARY|runtime error|==[0-9]+==' "$log" | head -20 | sed 's/^/# /'
    if [ -n "$artifact" ]; then
        echo "# reproduce: $out/${name}_fuzz $artifact"
    fi
    echo "not ok $n - $name fuzz: crash after $runs runs in $elapsed s:" \
        "${artifact:-see $log} (rc $rc)"
    fail=$((fail + 1))
done
echo "1..$count"
printf '# pass %d\n# fail %d\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
