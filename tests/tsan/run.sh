#!/bin/sh
# ThreadSanitizer run of the ring and media stream unit tests: builds them (and GoogleTest)
# with clang++ -fsanitize=thread into build/tsan/, runs each test alone, prints TAP.
#
#   tests/tsan/run.sh            build if stale, run; exit 1 on any report or failure
#   CXX=clang++-16 tests/tsan/run.sh
#
# FFmpeg itself is not instrumented: TSan sees its locks and threads (the pthread calls are
# intercepted) but not its memory accesses, so reports point at our code or our use of it.
set -eu

cd "$(dirname "$0")/../.."
OUT=build/tsan
CXX=${CXX:-clang++}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
JOBS=$(nproc 2>/dev/null || echo 2)

# The media module and the little of core it uses; the tests.
SRCS="$(ls src/media/*.cpp) src/core/log.cpp src/core/retry.cpp src/core/ring.cpp src/core/text.cpp"
TESTS="tests/unit/ring_test.cpp tests/unit/stream_test.cpp"
# robotd's own static FFmpeg (third_party/ffmpeg, built by `make`), as the daemon links it.
FF=build/host/ffmpeg

FLAGS="-std=c++17 -fsanitize=thread -g -O1 -Wall -Wextra -Werror -Wno-missing-field-initializers"
[ -f "$FF/lib/libavformat.a" ] || third_party/ffmpeg/build.sh host >&2
CPPFLAGS="-Isrc -I$FF/include $($PKG_CONFIG --cflags alsa) -DROBOTD_HAVE_AVDEVICE=1"
LIBS="$FF/lib/libavdevice.a $FF/lib/libavfilter.a $FF/lib/libavformat.a $FF/lib/libavcodec.a"
LIBS="$LIBS $FF/lib/libswscale.a $FF/lib/libswresample.a $FF/lib/libavutil.a"
LIBS="$LIBS $($PKG_CONFIG --libs alsa) -lm -lpthread"

# GoogleTest from Debian's source package (libgtest-dev ships it), instrumented too, so its
# own bookkeeping is not a blind spot; Debian's prebuilt library otherwise.
GTEST_SRC=/usr/src/googletest/googletest
if [ -f "$GTEST_SRC/src/gtest-all.cc" ]; then
    GTEST_OBJS="$OUT/obj/gtest-all.o $OUT/obj/gtest_main.o"
else
    GTEST_OBJS=
    LIBS="$LIBS -lgtest -lgtest_main"
fi

mkdir -p "$OUT/obj" "$OUT/logs"

# An object is stale when missing, older than its source, older than any header of ours, or
# built with other flags.
stamp="$OUT/flags"
echo "$CXX $FLAGS $CPPFLAGS" >"$stamp.new"
if ! cmp -s "$stamp" "$stamp.new"; then rm -f "$OUT"/obj/*.o; fi
mv "$stamp.new" "$stamp"

stale() {  # obj src
    [ ! -f "$1" ] || [ -n "$(find "$2" -newer "$1")" ] ||
        [ -n "$(find src tests/unit -name '*.h' -newer "$1" 2>/dev/null | head -n 1)" ]
}

# Stale objects are listed as "obj|src|extra flags" and compiled $JOBS at a time.
objs=
todo="$OUT/todo"
: >"$todo"
add() {  # obj src [extra flags]
    objs="$objs $1"
    if stale "$1" "$2"; then echo "$1|$2|${3:-}" >>"$todo"; fi
}
for src in $SRCS $TESTS; do
    add "$OUT/obj/$(echo "$src" | tr / _ | sed 's/\.cpp$/.o/')" "$src"
done
if [ -n "$GTEST_OBJS" ]; then
    gflags="-I$GTEST_SRC -I$GTEST_SRC/include -Wno-error"
    add "$OUT/obj/gtest-all.o" "$GTEST_SRC/src/gtest-all.cc" "$gflags"
    add "$OUT/obj/gtest_main.o" "$GTEST_SRC/src/gtest_main.cc" "$gflags"
fi
export CXX FLAGS CPPFLAGS
# shellcheck disable=SC2016
xargs -d '\n' -r -P "$JOBS" -n 1 sh -c '
    obj=${1%%|*} rest=${1#*|}
    src=${rest%%|*} extra=${rest#*|}
    $CXX $FLAGS $CPPFLAGS $extra -c "$src" -o "$obj" >"$obj.log" 2>&1 || rm -f "$obj"
' sh <"$todo" || true
failed=0
for obj in $objs; do
    if [ ! -f "$obj" ]; then
        cat "$obj.log" >&2
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "Bail out! build failed (logs in build/tsan/obj/*.log)"
    exit 1
fi

BIN="$OUT/media-tests"
if [ -s "$todo" ] || [ ! -x "$BIN" ]; then
    # shellcheck disable=SC2086
    if ! $CXX -fsanitize=thread -o "$BIN" $objs $LIBS >"$OUT/link.log" 2>&1; then
        cat "$OUT/link.log" >&2
        echo "Bail out! link failed (build/tsan/link.log)"
        exit 1
    fi
fi

# One process per test: a report is pinned to the test that caused it.
tests=$("$BIN" --gtest_list_tests | awk '
    /^[^ ]/ { suite = $1; next }
    /^  /   { print suite $1 }')

echo "TAP version 13"
n=0 pass=0 fail=0
for t in $tests; do
    n=$((n + 1))
    log="$OUT/logs/$t.log"
    rc=0
    TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
        "$BIN" --gtest_filter="$t" >"$log" 2>&1 || rc=$?
    reports=$(grep -c "^WARNING: ThreadSanitizer" "$log" || true)
    if [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok $n - $t"
    else
        fail=$((fail + 1))
        if [ "$reports" -gt 0 ]; then
            echo "not ok $n - $t # $reports ThreadSanitizer report(s), see $log"
            grep "^SUMMARY: ThreadSanitizer" "$log" | sed 's/^/# /'
        else
            echo "not ok $n - $t # exit status $rc, see $log"
            grep -E "Failure|FAILED" "$log" | head -n 5 | sed 's/^/# /'
        fi
    fi
done
echo "1..$n"
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ] && [ "$n" -gt 0 ]
