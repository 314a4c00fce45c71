#!/usr/bin/env bash
# The virtual board suite: builds the image (make vm-image), then runs tests/vm/*.test.mjs
# with TAP output. A failed image build is a failure, not a skip.
set -u
cd "$(dirname "$0")/../.."
if ! out=$(make --no-print-directory vm-image 2>&1); then
    echo "TAP version 13"
    echo "not ok 1 - make vm-image"
    echo "$out" | tail -30 | sed 's/^/# /'
    echo "1..1"
    echo "# pass 0"
    echo "# fail 1"
    exit 1
fi
exec node --test --test-reporter=tap tests/vm/
