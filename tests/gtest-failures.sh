#!/bin/bash
# Prints, as TAP comments, what a GoogleTest log says of each failed test: its lines from
# "[ RUN ]" to its "[ FAILED ]" result (at most 30 each). A run that ended without its result
# list (a crash, a hang, a bad exit) gets the log's last 20 lines too.
# Usage: tests/gtest-failures.sh LOG [EXIT_STATUS [TEST]]   (TEST: that one test's lines only)
log=$1 rc=${2:-0} only=${3:-}
block() {
    awk -v t="$1" '$0 == "[ RUN      ] " t { p = 1 } p { print "# " $0 }
        p && /^\[  FAILED  \]/ { exit }' "$log" | tail -30
}
if [ -n "$only" ]; then
    block "$only"
    exit 0
fi
# A parameterised test's line goes on with ", where GetParam() = ..." before its time.
sed -n 's/^\[  FAILED  \] \([^ ,]*\)\(, where .*\)\? (.*ms)$/\1/p' "$log" |
    while read -r name; do block "$name"; done
if [ "$rc" -ne 0 ] && ! grep -q '^\[  FAILED  \] [0-9]* tests\?, listed below' "$log"; then
    echo "# the tests ended without a result (exit $rc); the end of $log:"
    tail -20 "$log" | sed 's/^/# /'
fi
