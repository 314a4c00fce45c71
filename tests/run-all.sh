#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed[, N skipped]".
# Suites: GoogleTest unit tests, the peer's own tests, the integration tests (robotd
# against the peer), packaging (board configs, the systemd unit, make install, the .deb
# installed and purged with apt, the BusyBox init script's respawning), the fuzzers (30 s
# in all), the ring and stream tests under ThreadSanitizer, the chaos soak (5 min), the
# cross builds, robotd on the virtual board (QEMU, tests/vm), and the Buildroot/Yocto
# package files against the Makefile's system mode (tests/images, about a second). Each
# suite's output goes to build/test-logs/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0
declare -a broken=()

add() {  # suite pass fail skip
    passed=$((passed + $2)) failed=$((failed + $3)) skipped=$((skipped + $4))
    printf '%-12s %4d passed, %d failed, %d skipped\n' "$1" "$2" "$3" "$4"
    [ "$3" -eq 0 ] || broken+=("$1")
}

# Counts a suite from its log with three sed patterns (pass, fail, skip); a suite that
# exits non-zero without counting a failure (a crash, a missing binary) is one failure.
tally() {  # name rc pass-sed fail-sed skip-sed
    local log="$logs/$1.log" p f s
    p=$(sed -n "$3" "$log" | tail -1)
    f=$(sed -n "$4" "$log" | tail -1)
    s=$(sed -n "$5" "$log" | tail -1)
    p=${p:-0} f=${f:-0} s=${s:-0}
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    add "$1" "$p" "$f" "$s"
}

# GoogleTest: its summary lines give the counts.
run_gtest() {  # name binary
    "$2" --gtest_color=no >"$logs/$1.log" 2>&1
    tally "$1" $? 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' \
        's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p'
}

# TAP with node's "# pass N" / "# fail N" / "# skipped N" trailer (also from tests/cross).
run_tap() {  # name command...
    local name=$1
    shift
    "$@" >"$logs/$name.log" 2>&1
    tally "$name" $? 's/^# pass \([0-9]*\)$/\1/p' 's/^# fail \([0-9]*\)$/\1/p' \
        's/^# skipped \([0-9]*\)$/\1/p'
}

node_test() { node --test --test-reporter=tap --test-concurrency=2 "$@"; }

run_gtest unit build/host/unit-tests
run_tap peer node_test tests/peer/test/
run_tap integration node_test tests/integration/
run_tap soak node tests/soak/soak.mjs --minutes 5
run_tap fuzz tests/fuzz/run.sh 30
run_tap tsan tests/tsan/run.sh
run_tap cross tests/cross/check.sh
# After cross: its arm64 and armhf builds are packaged too.
run_tap package node_test tests/package/
run_tap images tests/images/check.sh
run_tap vm tests/vm/run.sh

for s in "${broken[@]}"; do
    echo "--- $s failed; the end of $logs/$s.log:"
    grep -E '^(not ok|\[  FAILED  \])|Failure|Error' "$logs/$s.log" | head -40
done
line="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
