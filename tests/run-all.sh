#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed[, N skipped]".
# Suites: GoogleTest unit tests, the peer's own tests, the integration tests (robotd
# against the peer), the chaos soak (5 min), the fuzzers (30 s in all), the ring and stream
# tests under ThreadSanitizer, robotd on the virtual board (QEMU, tests/vm), the cross
# builds and their unit tests under qemu-user, packaging (board configs, the systemd unit,
# make install, the .deb installed and purged with apt, the BusyBox init script's
# respawning), the Buildroot/Yocto package files against the Makefile's system mode
# (tests/images, about a second), and robotd built against Debian 12's and Debian 13's own
# library versions (tests/system).
#
# Order and concurrency. Most suites mostly wait (timers, sockets, the peer: the unit tests
# keep 3% of the CPUs busy, the soak 8%, the integration tests 20%) while the builds the
# later suites need would keep both CPUs busy for many minutes. So, at once:
#  - the builder: those builds, one after another, at idle priority (SCHED_IDLE: it gets
#    only the CPU time the suites leave unused; they share caches and disks with it);
#  - the soak;
#  - every other suite, one after another (the cross and Debian 12 suites each beside the
#    ones after them); a suite that needs a build waits for exactly that step of the
#    builder, then runs its usual command (which builds whatever the builder did not,
#    failing with the build's own error if it fails).
# Each suite's output goes to build/test-logs/NAME.log, each builder step's to
# build/test-logs/build-STEP.log; every line printed says how long it took.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# The builds below choose their own parallelism (the Makefile: one job per CPU); a make that
# called this script must not hand down its jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
logs=build/test-logs
mkdir -p "$logs"
rm -f "$logs"/*.result "$logs"/build-*.lock

# Every package any suite or build needs, installed now, before anything runs at once
# (install-deps.sh also takes a lock of its own). If that fails, every suite still runs: the
# ones that lack something fail on their own, with their own install-deps error.
if ! toolchain/install-deps.sh --arch host --arch aarch64 --arch armhf --vm --system --npm \
    >"$logs/install-deps.log" 2>&1; then
    echo "install-deps failed (the suites that need what is missing will fail); its end:"
    tail -20 "$logs/install-deps.log"
fi

# A suite that hangs is ended after 25 minutes and counts as failed (timeout's exit 124),
# so the run always ends with its line. --foreground: the suite stays in this process group,
# so a Ctrl-C still reaches it (on a time-out only the suite's own process is ended).
limit() { timeout --foreground -k 30 1500 "$@"; }

# ---- results: one file per suite, so that suites run in the background count too ----------
add() {  # suite pass fail skip seconds
    echo "$2 $3 $4" >"$logs/$1.result"
    printf '%-13s %4d passed, %d failed, %d skipped   (%d s)\n' "$1" "$2" "$3" "$4" "$5"
}

# Counts a suite from its log with three sed patterns (pass, fail, skip); a suite that
# exits non-zero without counting a failure (a crash, a missing binary) is one failure.
tally() {  # name rc seconds pass-sed fail-sed skip-sed
    local log="$logs/$1.log" p f s
    p=$(sed -n "$4" "$log" | tail -1)
    f=$(sed -n "$5" "$log" | tail -1)
    s=$(sed -n "$6" "$log" | tail -1)
    p=${p:-0} f=${f:-0} s=${s:-0}
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    add "$1" "$p" "$f" "$s" "$3"
}

# GoogleTest: its summary lines give the counts.
run_gtest() {  # name binary
    local start=$SECONDS rc
    limit "$2" --gtest_color=no >"$logs/$1.log" 2>&1
    rc=$?
    tally "$1" $rc $((SECONDS - start)) 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' \
        's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p'
}

# TAP with node's "# pass N" / "# fail N" / "# skipped N" trailer (also from the shell
# suites: tests/cross, tests/system, tests/fuzz, ...).
run_tap() {  # name command...
    local name=$1 start=$SECONDS rc
    shift
    limit "$@" >"$logs/$name.log" 2>&1
    rc=$?
    tally "$name" $rc $((SECONDS - start)) 's/^# pass \([0-9]*\)$/\1/p' \
        's/^# fail \([0-9]*\)$/\1/p' 's/^# skipped \([0-9]*\)$/\1/p'
}

# A command, not a function: limit runs it through timeout.
node_test=(node --test --test-reporter=tap --test-concurrency=2)

# ---- the builder ---------------------------------------------------------------------------
# Steps in the order the suites below need them. Each step is a command a suite would run
# itself anyway; the builder only runs it earlier, when the CPUs are idle.
STEPS=(cross-aarch64 vm-image cross-armhf cross-unit system-deb12 system-deb13)
declare -A STEP_CMD=(
    [cross-aarch64]="make --no-print-directory CROSS=aarch64 all"
    [vm-image]="make --no-print-directory vm-image"
    [cross-armhf]="make --no-print-directory CROSS=armhf all"
    [cross-unit]="tests/cross/check.sh --build"
    [system-deb12]="tests/system/run.sh --build deb12"
    [system-deb13]="tests/system/run.sh --build deb13"
)
# A suite waits for a step with flock: the step's lock file is locked here, before the
# builder starts, and the builder unlocks it when the step ends (a builder that dies
# releases them all), so waiting is one blocking call, not a poll.
declare -A STEP_FD=()
for s in "${STEPS[@]}"; do
    exec {fd}>"$logs/build-$s.lock"
    flock -x "$fd"
    STEP_FD[$s]=$fd
done
builder() {
    local s start rc
    for s in "${STEPS[@]}"; do
        start=$SECONDS
        (
            # The step's processes keep no lock: only this loop says when a step is done.
            for f in "${STEP_FD[@]}"; do exec {f}>&-; done
            # shellcheck disable=SC2086  # the command is words
            exec chrt --idle 0 nice -n 19 ${STEP_CMD[$s]}
        ) >"$logs/build-$s.log" 2>&1
        rc=$?
        printf '%-13s build step %s in %d s (build-%s.log)\n' "($s)" \
            "$([ $rc -eq 0 ] && echo "done" || echo "FAILED, exit $rc")" $((SECONDS - start)) "$s"
        flock -u "${STEP_FD[$s]}"
    done
}
builder &
builder_pid=$!
for fd in "${STEP_FD[@]}"; do exec {fd}>&-; done
after() { flock -s "$logs/build-$1.lock" true; }  # step: returns once the builder did it

# ---- the suites ----------------------------------------------------------------------------
run_tap soak node tests/soak/soak.mjs --minutes 5 &
soak_pid=$!

run_gtest unit build/host/unit-tests
run_tap peer "${node_test[@]}" tests/peer/test/
run_tap integration "${node_test[@]}" tests/integration/
run_tap fuzz tests/fuzz/run.sh 30
run_tap tsan tests/tsan/run.sh
after vm-image
run_tap vm tests/vm/run.sh
# The unit tests under qemu-user and the system sets' tests mostly wait too: each runs beside
# what follows it.
after cross-unit
run_tap cross tests/cross/check.sh &
cross_pid=$!
# After the cross builds: their arm64 and armhf .debs are checked too.
run_tap package "${node_test[@]}" tests/package/
run_tap images tests/images/check.sh
after system-deb12
run_tap system-deb12 tests/system/run.sh deb12 &
deb12_pid=$!
after system-deb13
run_tap system-deb13 tests/system/run.sh deb13
wait "$soak_pid" "$builder_pid" "$cross_pid" "$deb12_pid"

# ---- the sum -------------------------------------------------------------------------------
SUITES=(unit peer integration soak fuzz tsan vm cross package images system-deb12 system-deb13)
passed=0 failed=0 skipped=0
for s in "${SUITES[@]}"; do
    r=$(cat "$logs/$s.result" 2>/dev/null) || r="0 1 0"  # a suite that never reported
    read -r p f k <<<"$r"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
    if [ "$f" -ne 0 ]; then
        echo "--- $s failed; what $logs/$s.log says of it:"
        if [ "$s" = unit ]; then
            tests/gtest-failures.sh "$logs/$s.log" 1 | head -60
        else
            # TAP: every failure's name first, then each "not ok" with the comments just
            # before it and what follows it up to the next test (stack traces left out).
            grep -E '^ *not ok ' "$logs/$s.log" 2>/dev/null | head -20
            # A YAML block (the stack) ends where the indentation falls back to its key's.
            said=$(awk '/^ *not ok / { printf "%s", pre; pre = ""; p = 1; s = 0; print; next }
                /^ *(ok |# Subtest|1\.\.[0-9])/ { p = 0; s = 0; pre = ""; next }
                p && /^ *stack: \|/ { s = 1; ind = match($0, /[^ ]/); next }
                s { if ($0 ~ /^ *$/ || match($0, /[^ ]/) > ind) next; s = 0 }
                p { print; next } /^ *#/ { pre = pre $0 "\n"; next } { pre = "" }' \
                "$logs/$s.log" 2>/dev/null | head -60)
            # A suite that ended with no "not ok" (killed at its time limit, crashed): its end.
            if [ -n "$said" ]; then echo "$said"; else tail -20 "$logs/$s.log" 2>/dev/null; fi
        fi
    fi
done
line="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
