#!/usr/bin/env bash
# Builds libgpiod 2.2.1 from Debian 13's source package (trixie, the version Buildroot's
# libgpiod2 and Yocto's meta-oe ship a release of) into build/system/deb13/prefix, so that
# `make test-system` compiles and tests robotd's libgpiod 2 code path (ROBOTD_GPIOD_V2).
#
# usage: tests/system/build-libgpiod2.sh
# The source comes through apt-get source with a private apt state for trixie's deb-src
# (build/system/deb13/apt: the host's apt configuration is left alone), and is checked
# against libgpiod-2.2.1.SHA256SUMS beside this script. Idempotent (a stamp).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
die() { echo "system-libgpiod2: error: $*" >&2; exit 1; }

DEB_VERSION=2.2.1-2+deb13u1
VERSION=2.2.1
SUMS="$HERE/libgpiod-$VERSION.SHA256SUMS"
OUT="$TOP/build/system/deb13"
APT_DIR="$OUT/apt"
SRC_CACHE="$OUT/src"
SRC_DIR="$SRC_CACHE/libgpiod-$VERSION"
PREFIX="$OUT/prefix"
STAMP="$PREFIX/.robotd-libgpiod2-stamp"

stamp_text() { cat "$SUMS" "$0"; { cc --version 2>/dev/null || true; } | head -n 1; }
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_text | sha256sum | cut -d' ' -f1)" ]; then
  exit 0
fi
start=$(date +%s)

files="$(grep -v '^[[:space:]]*#' "$SUMS" | awk 'NF == 2 { print $2 }')"
need=0
for f in $files; do [ -f "$SRC_CACHE/$f" ] || need=1; done
if [ "$need" = 1 ]; then
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$SRC_CACHE"
  chmod 755 "$SRC_CACHE"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$APT_DIR/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/nonexistent
            -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache")
  [ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
  echo "system-libgpiod2: fetching Debian 13's source libgpiod=$DEB_VERSION"
  apt-get -qq "${apt_opts[@]}" update || die "apt-get update for trixie's sources failed"
  # apt checks each file against the signed Sources index; the .dsc itself is not fetched
  # (some mirrors lack it), so a failure is judged by the files SHA256SUMS names.
  (cd "$SRC_CACHE" && apt-get -qq "${apt_opts[@]}" source --download-only "libgpiod=$DEB_VERSION") || true
  for f in $files; do [ -f "$SRC_CACHE/$f" ] || die "apt-get source libgpiod=$DEB_VERSION did not fetch $f"; done
fi
if ! bad="$(cd "$SRC_CACHE" && grep -v '^[[:space:]]*#' "$SUMS" | sha256sum -c --quiet - 2>&1)"; then
  die "SHA-256 mismatch against $SUMS: $bad (delete $SRC_CACHE to download again)"
fi

rm -rf "$SRC_DIR" "$PREFIX.gpiod-build"
tar -C "$SRC_CACHE" -xf "$SRC_CACHE/libgpiod_$VERSION.orig.tar.xz"
tar -C "$SRC_DIR" -xf "$SRC_CACHE/libgpiod_$DEB_VERSION.debian.tar.xz"
while read -r p; do
  case "$p" in ''|'#'*) continue ;; esac
  patch -d "$SRC_DIR" -p1 --quiet <"$SRC_DIR/debian/patches/$p" || die "Debian's patch $p does not apply"
done <"$SRC_DIR/debian/patches/series"

BUILD_DIR="$OUT/libgpiod-build"
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
LOG="$BUILD_DIR/build.log"
echo "system-libgpiod2: building libgpiod $DEB_VERSION (shared, library only)"
(
  cd "$BUILD_DIR" &&
  "$SRC_DIR/configure" --prefix="$PREFIX" --libdir="$PREFIX/lib" --disable-static \
    --disable-tools --disable-tests --disable-bindings-cxx --disable-bindings-python \
    --disable-examples &&
  make -j"$(nproc)" && make install
) >"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; die "build failed (log: $LOG)"; }
[ "$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --modversion libgpiod)" = "$VERSION" ] ||
  die "installed libgpiod.pc is not $VERSION"
stamp_text | sha256sum | cut -d' ' -f1 >"$STAMP"
echo "system-libgpiod2: done in $(( $(date +%s) - start ))s: ${PREFIX#"$TOP"/}"
