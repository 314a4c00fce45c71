#!/usr/bin/env bash
# Builds libgpiod 2.2.1 from Debian 13's source package (trixie, the version Buildroot's
# libgpiod2 and Yocto's meta-oe ship a release of) into build/system/deb13/prefix, so that
# `make test-system` compiles and tests robotd's libgpiod 2 code path (ROBOTD_GPIOD_V2).
#
# usage: tests/system/build-libgpiod2.sh
# The source comes through tests/system/lib.sh (apt-get source with a private apt state for
# trixie's deb-src: the host's apt configuration is left alone), and is checked against
# libgpiod-2.2.1.SHA256SUMS beside this script. Idempotent (a stamp).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
die() { echo "system-libgpiod2: error: $*" >&2; exit 1; }

DEB_VERSION=2.2.1-2+deb13u1
VERSION=2.2.1
SUMS="$HERE/libgpiod-$VERSION.SHA256SUMS"
OUT="$TOP/build/system/deb13"
SRC_CACHE="$OUT/src"
SRC_DIR="$SRC_CACHE/libgpiod-$VERSION"
PREFIX="$OUT/prefix"
STAMP="$PREFIX/.robotd-libgpiod2-stamp"

stamp_text() { stamp_common "$SUMS"; }
if stamp_text | stamp_fresh "$STAMP"; then exit 0; fi
start=$(date +%s)

debian_source_tree trixie,trixie-security libgpiod "$DEB_VERSION" "$SUMS" "$SRC_CACHE" "$SRC_DIR" ||
  die "cannot fetch or unpack the source"

BUILD_DIR="$OUT/libgpiod-build"
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
LOG="$BUILD_DIR/build.log"
echo "system-libgpiod2: building libgpiod $DEB_VERSION (shared, library only)"
build() (
  cd "$BUILD_DIR" &&
  "$SRC_DIR/configure" --prefix="$PREFIX" --libdir="$PREFIX/lib" --disable-static \
    --disable-tools --disable-tests --disable-bindings-cxx --disable-bindings-python \
    --disable-examples &&
  make -j"$(nproc)" && make install
)
logged_build "$LOG" build || die "build failed (log: $LOG)"
pc_version_is "$PREFIX" libgpiod "$VERSION" || die "installed libgpiod.pc is not $VERSION"
stamp_text | stamp_write "$STAMP"
echo "system-libgpiod2: done in $(( $(date +%s) - start ))s: ${PREFIX#"$TOP"/}"
