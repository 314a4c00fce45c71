#!/usr/bin/env bash
# Builds the libwebsockets a distribution image ships, for `make test-system`: Debian's own
# source package, unpatched, as a shared library with mbedTLS and the MQTT role (what
# board/buildroot and board/yocto ask their lws for), into build/system/<set>/prefix.
#
# usage: tests/system/build-lws.sh deb12|deb13
#   deb12: libwebsockets 4.1.6-3 (bookworm) against the host's libmbedtls-dev 2.28.
#   deb13: libwebsockets 4.3.5-1+deb13u3 (trixie-security) against mbedTLS 3.6.6 from trixie's
#          source (tests/system/build-mbedtls.sh, run first), both in build/system/deb13/prefix.
# The source is fetched by tests/system/lib.sh (apt-get source, private apt state) and checked
# against the SHA256SUMS of the set (deb12: third_party/libwebsockets/SHA256SUMS, the same
# package the third_party build uses; deb13: libwebsockets-4.3.5.SHA256SUMS beside this).
# robotd's three lws patches (third_party/libwebsockets/build.sh) are NOT applied: this is
# the library as an image has it. Idempotent: a stamp skips everything when nothing changed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
die() { echo "system-lws: error: $*" >&2; exit 1; }

SET="${1:-}"
case "$SET" in
  deb12) DEB_VERSION=4.1.6-3 LWS_VERSION=4.1.6 SUITES=bookworm,bookworm-security
         SUMS="$TOP/third_party/libwebsockets/SHA256SUMS" ;;
  deb13) DEB_VERSION=4.3.5-1+deb13u3 LWS_VERSION=4.3.5 SUITES=trixie,trixie-security
         SUMS="$HERE/libwebsockets-4.3.5.SHA256SUMS" ;;
  *) echo "usage: $0 deb12|deb13" >&2; exit 2 ;;
esac

OUT="$TOP/build/system/$SET"
SRC_CACHE="$OUT/src"
SRC_DIR="$SRC_CACHE/libwebsockets-$LWS_VERSION"
BUILD_DIR="$OUT/lws-build"
PREFIX="$OUT/prefix"
STAMP="$PREFIX/.robotd-system-lws-stamp"

# Close to Buildroot's libwebsockets.mk with BR2_PACKAGE_MBEDTLS (and no OpenSSL), plus the
# MQTT role robotd.mk adds: shared library, no test apps.
LWS_OPTIONS=(
  -DCMAKE_BUILD_TYPE=Release
  -DDISABLE_WERROR=ON
  -DLWS_WITHOUT_TESTAPPS=ON
  -DLWS_WITH_MINIMAL_EXAMPLES=OFF
  -DLWS_IPV6=ON
  -DLWS_UNIX_SOCK=ON
  -DLWS_WITH_SSL=ON
  -DLWS_WITH_MBEDTLS=ON
  -DLWS_ROLE_MQTT=ON
  -DLWS_WITH_SHARED=ON
  -DLWS_WITH_STATIC=OFF
  -DLWS_WITH_LIBUV=OFF
  -DLWS_WITH_LIBEV=OFF
  -DLWS_WITH_LIBEVENT=OFF
  -DLWS_WITH_GLIB=OFF
  -DCMAKE_DISABLE_FIND_PACKAGE_Git=ON
  "-DLWS_BUILD_HASH=debian-${DEB_VERSION#*-}"
  -DLIB_SUFFIX=
)
if [ "$SET" = deb13 ]; then
  # The set's own mbedTLS 3.6, not the host's 2.28; the library finds it at run time too.
  [ -f "$PREFIX/.robotd-mbedtls-stamp" ] || die "build mbedTLS first (tests/system/build-mbedtls.sh)"
  LWS_OPTIONS+=(
    "-DLWS_MBEDTLS_INCLUDE_DIRS=$PREFIX/include"
    "-DLWS_MBEDTLS_LIBRARIES=$PREFIX/lib/libmbedtls.so;$PREFIX/lib/libmbedx509.so;$PREFIX/lib/libmbedcrypto.so"
    "-DCMAKE_INSTALL_RPATH=$PREFIX/lib"
  )
fi

stamp_text() {
  printf '%s\n' "$SET" "$DEB_VERSION" "${LWS_OPTIONS[@]}"
  stamp_common "$SUMS"
  cat "$PREFIX/.robotd-mbedtls-stamp" 2>/dev/null || true
  grep -s "define MBEDTLS_VERSION_STRING " /usr/include/mbedtls/build_info.h /usr/include/mbedtls/version.h || true
}
if stamp_text | stamp_fresh "$STAMP"; then exit 0; fi

start=$(date +%s)
debian_source_tree "$SUITES" libwebsockets "$DEB_VERSION" "$SUMS" "$SRC_CACHE" "$SRC_DIR" ||
  die "cannot fetch or unpack the source"

# deb13's prefix also holds mbedTLS and libgpiod: only deb12's is lws's alone.
rm -rf "$BUILD_DIR"
[ "$SET" != deb12 ] || rm -rf "$PREFIX"
mkdir -p "$BUILD_DIR"
LOG="$BUILD_DIR/build.log"
echo "system-lws: building libwebsockets $DEB_VERSION (shared, mbedTLS, MQTT, unpatched) for set $SET"
build() {
  cmake -S "$SRC_DIR" -B "$BUILD_DIR" -Wno-dev -DCMAKE_INSTALL_PREFIX="$PREFIX" "${LWS_OPTIONS[@]}" &&
  cmake --build "$BUILD_DIR" -j"$(nproc)" &&
  cmake --install "$BUILD_DIR"
}
logged_build "$LOG" build || die "build failed (log: $LOG)"

grep -q '^#define LWS_WITH_MBEDTLS' "$PREFIX/include/lws_config.h" || die "lws not built with mbedTLS"
grep -q '^#define LWS_ROLE_MQTT' "$PREFIX/include/lws_config.h" || die "lws not built with MQTT"
[ -f "$PREFIX/lib/pkgconfig/libwebsockets.pc" ] || die "no libwebsockets.pc installed"
stamp_text | stamp_write "$STAMP"
echo "system-lws: $SET done in $(( $(date +%s) - start ))s: ${PREFIX#"$TOP"/}"
