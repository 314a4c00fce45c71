#!/usr/bin/env bash
# Cross builds: robotd for each board arch builds, is an ARM ELF, and starts under qemu-user
# (--version, --check-config on tests/fixtures/letsrobot.conf); then robotd's unit tests,
# cross-built for each arch, run under qemu-user. TAP output, one line per check and per test.
#
# usage: tests/cross/check.sh           build what is missing, then run (TAP)
#        tests/cross/check.sh --build   only build (lws, FFmpeg, robotd, unit-tests; both
#                                       arches); a no-op when up to date
# CROSS_JOBS (default 2): make's -j for --build.
set -u
cd "$(dirname "$0")/../.." || exit 1
ARCHES=(aarch64 armhf)
LOGS=build/test-logs/cross
mkdir -p "$LOGS"

# Unit tests that cannot work under qemu-user or with the board's FFmpeg, one reason each:
# "Suite.Name|reason". Each is reported as skipped; an entry that names no test fails, so the
# list stays exact. Anything else that fails on ARM is a robotd bug, not an entry here.
QEMU_EXCLUDED=(
    "ChildSpawn.AChildDiesWithTheProcessThatStartedIt|qemu-user does not emulate prctl(PR_SET_CHILD_SUBREAPER) (EINVAL)"
    "DeviceStrings.NotACamera|qemu-user answers an ioctl it does not know (VIDIOC_QUERYCAP on /dev/null) with ENOSYS, not the kernel's ENOTTY"
    "MediaTest.ExitDoesNotWaitForeverForAThreadStuckInTheDevice|threadsafe death test: gtest execv()s the ARM binary itself, which the host kernel cannot run without binfmt_misc (Exec format error)"
    "PipeTest.ConsumerThatNeverReadsCostsNoTimeAndNoMemory|asserts 1000 dropped lines cost the loop under 50 ms of its CPU time; emulation makes that work ~10x slower"
    "MediaTest.AudioStopAndStartActLikeVidoffAndVidonAndStandAcrossReloadsAndSettings|microphone is lavfi:sine: the board's FFmpeg has no libavdevice/lavfi"
    "MediaTest.AudioRestartGivesANewAudioThreadAndLeavesVideoAlone|microphone is lavfi:sine: the board's FFmpeg has no libavdevice/lavfi"
    "MediaTest.OwnersBitrateForAStreamThatIsOffIsKeptForItsStart|microphone is lavfi:sine: the board's FFmpeg has no libavdevice/lavfi"
    "MediaTest.ABitrateOutOfRangeIsOneLineAndChangesNothing|microphone is lavfi:sine: the board's FFmpeg has no libavdevice/lavfi"
    "MediaTest.MicMuteReachesTheRunningAudioStreamAndEveryLaterOne|microphone is lavfi:sine: the board's FFmpeg has no libavdevice/lavfi"
    "MediaStreamTest.VideoRecordsAreKeyframedMpeg1InTs|camera is lavfi:testsrc: the board's FFmpeg has no libavdevice/lavfi"
    "MediaStreamTest.AudioRecordsAreMp2InTs|microphone is lavfi:sine: the board's FFmpeg has no libavdevice/lavfi"
    "MediaStreamTest.MutedAudioCarriesSilenceAndUnmutedTheSoundAgain|microphone is lavfi:sine: the board's FFmpeg has no libavdevice/lavfi"
    "MediaStreamTest.FullRingDropsWholeFramesUpToAKeyframe|camera is lavfi:testsrc: the board's FFmpeg has no libavdevice/lavfi"
    "MediaStreamTest.StopsPromptlyWhileStreamingAndRestarts|camera is lavfi:testsrc: the board's FFmpeg has no libavdevice/lavfi"
    "MediaStreamTest.CameraControlsAreCheckedKeptAndAppliedAtEveryOpen|camera is lavfi:testsrc: the board's FFmpeg has no libavdevice/lavfi"
)

mk() { make --no-print-directory "$@"; }

# What the cross builds need (libgtest-dev:<arch> too): make runs install-deps only before
# building lws/FFmpeg, and those may be built already. A sub-second no-op when all is there.
toolchain/install-deps.sh --arch aarch64 --arch armhf || exit 1

if [ "${1:-}" = --build ]; then
    rc=0
    for a in "${ARCHES[@]}"; do
        mk -j"${CROSS_JOBS:-2}" CROSS="$a" "build/$a/robotd" "build/$a/unit-tests" || rc=1
    done
    exit $rc
fi

n=0 pass=0 fail=0 skip=0
ok() { n=$((n + 1)) pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)) fail=$((fail + 1)); echo "not ok $n - $1"; }
skipped() { n=$((n + 1)) skip=$((skip + 1)); echo "ok $n - $1 # SKIP $2"; }

smoke() {  # arch file-pattern
    local out
    if out=$(mk CROSS="$1" qemu-smoke 2>&1) &&
        file -b "build/$1/robotd" | grep -q "$2" && grep -q '^robotd [0-9]' <<<"$out"; then
        ok "CROSS=$1 builds an ARM ELF that runs under qemu: $(file -b "build/$1/robotd" | cut -d, -f1-2)"
    else
        not_ok "CROSS=$1"
        echo "$out" | tail -20 | sed 's/^/# /'
        [ -e "build/$1/robotd" ] && echo "# file: $(file -b "build/$1/robotd")"
    fi
}

# $(QEMU) as toolchain/cross.mk defines it (its -L/-E choice lives there only).
# shellcheck disable=SC2016  # $(QEMU) is make's, not the shell's
qemu_of() { mk -s CROSS="$1" --eval='print-qemu: ; @echo $(QEMU)' print-qemu; }

# Runs one arch's unit tests into $LOGS/<arch>-unit.log; its status in <arch>-unit.rc.
run_units() {  # arch
    local a=$1 qemu filter="" e
    for e in "${QEMU_EXCLUDED[@]}"; do filter="$filter:${e%%|*}"; done
    if ! qemu=$(qemu_of "$a"); then  # counted as a failure by report_units
        echo "cannot read \$(QEMU) for CROSS=$a from the Makefile" >"$LOGS/$a-unit.log"
        echo 1 >"$LOGS/$a-unit.rc"
        echo 0 >"$LOGS/$a-unit.seconds"
        return
    fi
    local t0=$SECONDS
    # shellcheck disable=SC2086  # $qemu is a command line
    {
        $qemu "build/$a/unit-tests" --gtest_list_tests >"$LOGS/$a-list.txt" &&
            $qemu "build/$a/unit-tests" --gtest_color=no --gtest_filter="-${filter#:}"
    } >"$LOGS/$a-unit.log" 2>&1
    echo $? >"$LOGS/$a-unit.rc"
    echo $((SECONDS - t0)) >"$LOGS/$a-unit.seconds"
}

# TAP lines from one arch's run: each test's result, each exclusion as a skip.
report_units() {  # arch
    local a=$1 rc name e t
    rc=$(cat "$LOGS/$a-unit.rc" 2>/dev/null || echo 1)
    echo "# $a: unit-tests under qemu-user took $(cat "$LOGS/$a-unit.seconds") s (log: $LOGS/$a-unit.log)"
    # --gtest_list_tests: "Suite." lines, then "  Name" lines.
    local listed
    listed=$(awk '/^[^ ]/ { s = $1 } /^  / { print s $1 }' "$LOGS/$a-list.txt" 2>/dev/null)
    for e in "${QEMU_EXCLUDED[@]}"; do
        t=${e%%|*}
        if grep -qxF "$t" <<<"$listed"; then
            skipped "$a: $t" "${e#*|}"
        else
            not_ok "$a: excluded test $t does not exist: update QEMU_EXCLUDED in $0"
        fi
    done
    while read -r kind name; do
        case "$kind" in
            OK) ok "$a: $name" ;;
            SKIPPED) # the test's own reason: the line after its "Skipped"
                skipped "$a: $name" "$(awk -v t="$name" '$0 == "[ RUN      ] " t { p = 1 }
                    p && f { print; exit } p && / Skipped$/ { f = 1 }' "$LOGS/$a-unit.log")" ;;
            FAILED)
                not_ok "$a: $name"
                tests/gtest-failures.sh "$LOGS/$a-unit.log" 0 "$name"  # what it said
                ;;
        esac
    done < <(sed -n 's/^\[ *\(OK\|FAILED\|SKIPPED\) *\] \([^ ,]*\)\(, where .*\)\? (.*ms)$/\1 \2/p' "$LOGS/$a-unit.log")
    # A crash or a hang ends the run without a summary: one failure, with the log's end.
    if [ "$rc" -ne 0 ] && ! grep -q '^\[  FAILED  \] [0-9]* tests\?, listed below' "$LOGS/$a-unit.log"; then
        not_ok "$a: unit-tests under qemu ended without a result (exit $rc)"
        tail -20 "$LOGS/$a-unit.log" | sed 's/^/# /'
    fi
}

echo "TAP version 13"
smoke aarch64 'ELF 64-bit LSB .*ARM aarch64'
smoke armhf 'ELF 32-bit LSB .*ARM, EABI5'
# Built first (each a no-op after check.sh --build), then both arches' tests at once: they
# mostly wait on timers, one emulated process each.
built=()
for a in "${ARCHES[@]}"; do
    rm -f "$LOGS/$a-unit.rc" "$LOGS/$a-list.txt"
    if ! out=$(mk CROSS="$a" "build/$a/unit-tests" 2>&1); then
        not_ok "CROSS=$a build/$a/unit-tests builds"
        echo "$out" | tail -20 | sed 's/^/# /'
        continue
    fi
    built+=("$a")
    run_units "$a" &
done
wait
# Every arch that built reports: a run that left no status is a failure, never nothing.
for a in "${built[@]}"; do report_units "$a"; done
echo "1..$n"
echo "# pass $pass"
echo "# fail $fail"
echo "# skipped $skip"
[ "$fail" -eq 0 ]
