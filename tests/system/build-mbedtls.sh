#!/usr/bin/env bash
# Builds mbedTLS 3.6 from Debian 13's source package (trixie) into build/system/deb13/prefix,
# the TLS library the deb13 set's libwebsockets 4.3.5 and robotd link (tests/system/run.sh).
#
# usage: tests/system/build-mbedtls.sh
# Library only (shared, no programs or tests), with the options Debian's debian/rules turns on
# in mbedtls_config.h (threading, CMAC, DTLS-SRTP, deprecation warnings), so robotd compiles
# against the same configuration Debian 13's libmbedtls-dev has. The source comes through
# tests/system/lib.sh, checked against mbedtls-3.6.6.SHA256SUMS. Idempotent (a stamp).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
die() { echo "system-mbedtls: error: $*" >&2; exit 1; }

DEB_VERSION=3.6.6-0.1~deb13u1
VERSION=3.6.6
SUMS="$HERE/mbedtls-$VERSION.SHA256SUMS"
OUT="$TOP/build/system/deb13"
SRC_CACHE="$OUT/src"
SRC_DIR="$SRC_CACHE/mbedtls-$VERSION"
BUILD_DIR="$OUT/mbedtls-build"
PREFIX="$OUT/prefix"
STAMP="$PREFIX/.robotd-mbedtls-stamp"
# debian/rules: scripts/config.py set ... before configuring.
DEBIAN_CONFIG="MBEDTLS_DEPRECATED_WARNING MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD MBEDTLS_CMAC_C MBEDTLS_SSL_DTLS_SRTP"

stamp_text() { stamp_common "$SUMS"; }
if stamp_text | stamp_fresh "$STAMP"; then exit 0; fi
start=$(date +%s)
debian_source_tree trixie,trixie-security mbedtls "$DEB_VERSION" "$SUMS" "$SRC_CACHE" "$SRC_DIR" ||
  die "cannot fetch or unpack the source"
cfg="$SRC_DIR/include/mbedtls/mbedtls_config.h"
for o in $DEBIAN_CONFIG; do
  sed -i -E "s@^//[[:space:]]*(#define $o)([[:space:]]|\$)@\\1\\2@" "$cfg"
  grep -Eq "^#define $o([[:space:]]|\$)" "$cfg" || die "cannot set $o in $cfg"
done

rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
LOG="$BUILD_DIR/build.log"
echo "system-mbedtls: building mbedTLS $DEB_VERSION (shared, library only)"
build() {
  cmake -S "$SRC_DIR" -B "$BUILD_DIR" -Wno-dev -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
    -DUSE_SHARED_MBEDTLS_LIBRARY=ON -DUSE_STATIC_MBEDTLS_LIBRARY=OFF \
    -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF -DGEN_FILES=OFF -DMBEDTLS_FATAL_WARNINGS=OFF &&
  cmake --build "$BUILD_DIR" -j"$(nproc)" &&
  cmake --install "$BUILD_DIR"
}
logged_build "$LOG" build || die "build failed (log: $LOG)"
pc_version_is "$PREFIX" mbedtls "$VERSION" || die "installed mbedtls.pc is not $VERSION"
stamp_text | stamp_write "$STAMP"
echo "system-mbedtls: done in $(( $(date +%s) - start ))s: ${PREFIX#"$TOP"/}"
