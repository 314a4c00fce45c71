#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed[, N skipped]".
# Suites: GoogleTest unit tests, the peer's own tests, the integration tests (robotd
# against the peer), and the cross builds. Each suite's output goes to build/test-logs/.
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

# GoogleTest: its summary lines give the counts.
run_gtest() {  # name binary
    local log="$logs/$1.log"
    "$2" --gtest_color=no >"$log" 2>&1
    local rc=$?
    local p f s
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0} f=${f:-0} s=${s:-0}
    # A crash prints no summary: count it as one failure.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    add "$1" "$p" "$f" "$s"
}

# TAP with node's "# pass N" / "# fail N" / "# skipped N" trailer (also from tests/cross).
run_tap() {  # name command...
    local name=$1
    shift
    local log="$logs/$name.log"
    "$@" >"$log" 2>&1
    local rc=$?
    local p f s
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -1)
    s=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$log" | tail -1)
    p=${p:-0} f=${f:-0} s=${s:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    add "$name" "$p" "$f" "$s"
}

node_test() { node --test --test-reporter=tap --test-concurrency=2 "$@"; }

run_gtest unit build/host/unit-tests
run_tap peer node_test tests/peer/test/
run_tap integration node_test tests/integration/
run_tap cross tests/cross/check.sh

for s in "${broken[@]}"; do
    echo "--- $s failed; the end of $logs/$s.log:"
    grep -E '^(not ok|\[  FAILED  \])|Failure|Error' "$logs/$s.log" | head -40
done
line="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
