#!/usr/bin/env bash
# Builds a minimal static FFmpeg from Debian's own source package for an ARM target, into
# build/<ARCH>/ffmpeg/{include,lib}. Idempotent. The host build adds libav's test inputs.
#
# usage: third_party/ffmpeg/build.sh aarch64|armhf [--force]
#        third_party/ffmpeg/build.sh --update-checksums
#
# Source: `apt-get source --download-only ffmpeg=$DEB_VERSION` into build/src/, every file
# checked against SHA256SUMS beside this script, unpacked with dpkg-source -x (which applies
# Debian's patch series) into build/src/ffmpeg-$FF_VERSION/.
# Output: build/<ARCH>/ffmpeg/include/lib{avcodec,avformat,avutil,swscale,swresample}/*.h,
# build/<ARCH>/ffmpeg/lib/lib{avformat,avcodec,swscale,swresample,avutil}.a, lib/pkgconfig/*.pc;
# link with: -lavformat -lavcodec -lswscale -lswresample -lavutil -pthread -lm
# Env: ROBOTD_NO_INSTALL_DEPS=1 skips toolchain/install-deps.sh (packages already there).
set -euo pipefail

FF_VERSION=5.1.9
DEB_VERSION=7:5.1.9-0+deb12u1          # with the epoch: apt-get source needs it
DEB_FILE_VERSION="${DEB_VERSION#*:}"   # file names carry no epoch

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
SUMS="$HERE/SHA256SUMS"
SRC_CACHE="$TOP/build/src"
SRC_DIR="$SRC_CACHE/ffmpeg-$FF_VERSION"

die() { echo "ffmpeg: error: $*" >&2; exit 1; }
usage() { echo "usage: $0 host|aarch64|armhf [--force] | --update-checksums" >&2; exit 2; }

# ---- arguments -----------------------------------------------------------------------
ARCH=""; FORCE=0; UPDATE_SUMS=0
for a in "$@"; do
  case "$a" in
    host|aarch64|armhf) ARCH="$a" ;;
    --force) FORCE=1 ;;
    --update-checksums) UPDATE_SUMS=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done

install_deps() {
  [ "${ROBOTD_NO_INSTALL_DEPS:-0}" = 1 ] || "$TOP/toolchain/install-deps.sh" "$@"
}

# apt-get as root downloads as user _apt, which cannot write into a root-owned build tree.
apt_source_download() {   # $1: destination dir
  local opts=()
  [ "$(id -u)" -ne 0 ] || opts=(-o APT::Sandbox::User=root)
  (cd "$1" && apt-get -qq "${opts[@]}" source --download-only "ffmpeg=$DEB_VERSION")
}

sums_files() { grep -v '^[[:space:]]*#' "$SUMS" | awk 'NF == 2 { print $2 }'; }

if [ "$UPDATE_SUMS" = 1 ]; then
  install_deps --source
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"
  apt_source_download "$tmp" || die "apt-get source ffmpeg=$DEB_VERSION failed"
  {
    echo "# SHA-256 of Debian's source package ffmpeg $DEB_VERSION (bookworm), as fetched by"
    echo "# \`apt-get source --download-only ffmpeg=$DEB_VERSION\`. build.sh refuses any other bytes."
    echo "# Refresh (new Debian revision): edit DEB_VERSION (and FF_VERSION) in build.sh, then"
    echo "#   third_party/ffmpeg/build.sh --update-checksums"
    echo "# and review the diff (it must match the .dsc's Checksums-Sha256) before committing."
    (cd "$tmp" && sha256sum -- *.dsc *.orig.tar.* *.debian.tar.*)
  } >"$SUMS.new"
  mv "$SUMS.new" "$SUMS"
  echo "ffmpeg: wrote $SUMS"; grep -v '^#' "$SUMS"
  echo "ffmpeg: the .dsc says:"; sed -n '/^Checksums-Sha256:/,/^[A-Z]/p' "$tmp"/*.dsc | grep '^ '
  exit 0
fi
[ -n "$ARCH" ] || usage

# ---- per-arch settings ---------------------------------------------------------------
case "$ARCH" in
  aarch64) TRIPLET=aarch64-linux-gnu;   FF_ARCH=aarch64; OBJ_TYPE="ARM aarch64" ;;
  armhf)   TRIPLET=arm-linux-gnueabihf; FF_ARCH=arm;     OBJ_TYPE="ARM, EABI5" ;;
  host)    TRIPLET="$(gcc -print-multiarch)"; FF_ARCH="$(uname -m)"; OBJ_TYPE="ELF" ;;
esac
if [ "$ARCH" = host ]; then
  CROSS_PREFIX=""; CC_CMD=gcc; NM=nm
else
  CROSS_PREFIX="$TRIPLET-"; CC_CMD="${CROSS_PREFIX}gcc"; NM="${CROSS_PREFIX}nm"
fi
BUILD_DIR="$TOP/build/$ARCH/ffmpeg-build"
PREFIX="$TOP/build/$ARCH/ffmpeg"
STAMP="$PREFIX/.robotd-ffmpeg-stamp"
LIBS=(avformat avcodec swscale swresample avutil)   # link order
# The host also gets libav's inputs for tests and demos ("lavfi:testsrc=...", "v4l2:...",
# "alsa:...", PROTOCOL's "any libavdevice input after a name: prefix"): lavfi's sources
# and the few filters that carry their frames out, and the v4l2 and alsa input devices.
[ "$ARCH" = host ] && LIBS=(avdevice avfilter "${LIBS[@]}")

# Options (README.md says why). Everything off, then only what robotd uses: MPEG-1 video +
# MP2 audio muxed into MPEG-TS (written through a custom AVIOContext), MJPEG/raw camera
# frames decoded, swscale/swresample for pixel/sample conversion. No external library at all
# (--disable-autodetect), but pthreads explicitly: without them FFmpeg's internal locks and
# once-initialisers are no-ops, and robotd opens codecs from more than one thread.
# armhf: no --cpu, so the compiler's defaults (Debian: ARMv7-A, Thumb-2, VFPv3-D16, hard
# float) apply, as in Debian's own build; NEON code is built and chosen at run time.
# shellcheck disable=SC2054  # the commas are configure's component lists
FF_OPTIONS=(
  --arch="$FF_ARCH"
  --target-os=linux
  --pkg-config=pkg-config
  --extra-version="${DEB_FILE_VERSION#*-}"
  --enable-static
  --disable-shared
  --disable-programs
  --disable-doc
  --disable-debug
  --disable-network
  --disable-autodetect
  --disable-iconv
  --enable-pthreads
  --disable-everything
  --disable-avdevice
  --disable-avfilter
  --disable-postproc
  --enable-avcodec
  --enable-avformat
  --enable-avutil
  --enable-swscale
  --enable-swresample
  --enable-encoder=mpeg1video,mp2,mp2fixed
  --enable-decoder=mjpeg,rawvideo
  --enable-muxer=mpegts
  --enable-demuxer=rawvideo,mpegts
  --enable-protocol=file,pipe
  --extra-cflags="-fstack-protector-strong -D_FORTIFY_SOURCE=2 -ffunction-sections -fdata-sections"
)
if [ "$ARCH" = host ]; then
  FF_OPTIONS+=(
    --enable-avdevice --enable-avfilter --enable-alsa
    --enable-indev=lavfi,v4l2,alsa
    --enable-filter=testsrc,testsrc2,smptebars,sine,anullsrc,buffersink,abuffersink,format,aformat,scale,aresample,null,anull,setpts,asetpts,fps
    --enable-decoder=pcm_s16le,pcm_s32le,pcm_f32le,pcm_f64le,wrapped_avframe
  )
else
  FF_OPTIONS+=(--enable-cross-compile --cross-prefix="$CROSS_PREFIX")
fi

# Everything that changes the output goes into the stamp.
options_hash() {
  {
    printf '%s\n' "$DEB_VERSION" "$ARCH" "${FF_OPTIONS[@]}"
    cat "$SUMS" "${BASH_SOURCE[0]}"   # this script too: its checks and .pc fix-ups shape the output
    { "$CC_CMD" --version 2>/dev/null || true; } | head -n 1
  } | sha256sum | cut -d' ' -f1
}

installed() {
  local l
  for l in "${LIBS[@]}"; do [ -f "$PREFIX/lib/lib$l.a" ] || return 1; done
  [ -f "$PREFIX/include/libavcodec/avcodec.h" ] && [ -f "$PREFIX/lib/pkgconfig/libavformat.pc" ]
}

# ---- fast path -----------------------------------------------------------------------
if [ "$FORCE" = 0 ] && [ -f "$STAMP" ] && installed && command -v "$CC_CMD" >/dev/null 2>&1 &&
   [ "$(cat "$STAMP")" = "$(options_hash)" ]; then
  exit 0
fi

start=$(date +%s)
src_flag=(); [ -f "$SRC_DIR/.robotd-stamp" ] || src_flag=(--source)
install_deps --arch "$ARCH" "${src_flag[@]}"
command -v "$CC_CMD" >/dev/null 2>&1 || die "compiler $CC_CMD not found"
HASH="$(options_hash)"

# ---- source: fetch, verify, unpack (locked: several arches may build at once) ----------
mkdir -p "$SRC_CACHE"
exec 8>"$SRC_CACHE/.ffmpeg.lock"
flock 8
sums_hash="$(sha256sum "$SUMS" | cut -d' ' -f1)"
if [ ! -f "$SRC_DIR/.robotd-stamp" ] || [ "$(cat "$SRC_DIR/.robotd-stamp")" != "$sums_hash" ]; then
  need_fetch=0
  for f in $(sums_files); do [ -f "$SRC_CACHE/$f" ] || need_fetch=1; done
  if [ "$need_fetch" = 1 ]; then
    echo "ffmpeg: fetching Debian source ffmpeg=$DEB_VERSION into build/src/"
    install_deps --source
    chmod 755 "$SRC_CACHE"
    apt_source_download "$SRC_CACHE" ||
      die "apt-get source ffmpeg=$DEB_VERSION failed (is a deb-src line for bookworm set up? toolchain/install-deps.sh --source)"
  fi
  for f in $(sums_files); do [ -f "$SRC_CACHE/$f" ] || die "$f not downloaded"; done
  if ! bad="$(cd "$SRC_CACHE" && grep -v '^[[:space:]]*#' "$SUMS" | sha256sum -c --quiet - 2>&1)"; then
    echo "ffmpeg: error: SHA-256 mismatch for the downloaded source (expected: $SUMS):" >&2
    echo "$bad" >&2
    echo "ffmpeg: delete build/src/ffmpeg_* to download again; if Debian changed the package on" \
         "purpose, see third_party/README.md on refreshing the checksums" >&2
    exit 1
  fi
  rm -rf "$SRC_DIR" "$SRC_DIR.tmp"
  dsc="$(sums_files | grep '\.dsc$' | head -n 1)"
  [ -n "$dsc" ] || die "no .dsc listed in $SUMS"
  # dpkg-source checks the tarballs against the .dsc once more and applies debian/patches
  # (about 1 s for this package).
  (cd "$SRC_CACHE" && dpkg-source -x "$dsc" "$SRC_DIR.tmp") >"$SRC_CACHE/dpkg-source-ffmpeg.log" 2>&1 ||
    { tail -n 20 "$SRC_CACHE/dpkg-source-ffmpeg.log" >&2; die "dpkg-source -x $dsc failed"; }
  mv "$SRC_DIR.tmp" "$SRC_DIR"
  echo "$sums_hash" >"$SRC_DIR/.robotd-stamp"
fi
flock -u 8

# ---- configure, build, install --------------------------------------------------------
mkdir -p "$TOP/build/$ARCH"
exec 9>"$TOP/build/$ARCH/.ffmpeg.lock"
flock 9
rm -rf "$BUILD_DIR" "$PREFIX"
mkdir -p "$BUILD_DIR"
LOG="$BUILD_DIR/build.log"
echo "ffmpeg: building FFmpeg $DEB_VERSION for $ARCH (static, minimal; log: ${LOG#"$TOP"/})"
# FFmpeg's version.sh runs `git describe` in the source dir, which would find robotd's own
# repo (the version itself comes from the VERSION file; this keeps git out of it entirely).
export GIT_CEILING_DIRECTORIES="$SRC_CACHE"
# Nothing is probed with pkg-config (no external library), but should anything be, it may
# only see the target's .pc files (as toolchain/cross.mk's PKG_CONFIG).
export PKG_CONFIG_LIBDIR="/usr/lib/$TRIPLET/pkgconfig:/usr/share/pkgconfig" PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=''
t0=$(date +%s)
(cd "$BUILD_DIR" && "$SRC_DIR/configure" --prefix="$PREFIX" "${FF_OPTIONS[@]}") >"$LOG" 2>&1 ||
  { tail -n 30 "$LOG" >&2; tail -n 30 "$BUILD_DIR/ffbuild/config.log" >&2 || true
    die "configure for $ARCH failed (full log: $LOG, $BUILD_DIR/ffbuild/config.log)"; }
t1=$(date +%s)
{ make -C "$BUILD_DIR" -j"$(nproc)" && make -C "$BUILD_DIR" install; } >>"$LOG" 2>&1 ||
  { tail -n 40 "$LOG" >&2; die "build for $ARCH failed (full log: $LOG)"; }
t2=$(date +%s)

# ---- checks: the right machine, the components robotd uses, PIC, threads ------------------
installed || die "install did not produce all of lib{${LIBS[*]}}.a in ${PREFIX#"$TOP"/}/lib"
config_h="$BUILD_DIR/config.h"
neon=HAVE_NEON; [ "$ARCH" = host ] && neon=""
for def in CONFIG_PIC HAVE_PTHREADS CONFIG_RUNTIME_CPUDETECT $neon; do
  grep -q "^#define $def 1" "$config_h" || die "$def is not 1 in config.h"
done
defined() { "$NM" -g --defined-only "$PREFIX/lib/lib$1.a" 2>/dev/null | awk 'NF >= 3 { print $3 }' | sort -u; }
codec_syms="$(defined avcodec)"; format_syms="$(defined avformat)"
for sym in ff_mpeg1video_encoder ff_mp2_encoder ff_mp2fixed_encoder ff_mjpeg_decoder ff_rawvideo_decoder \
           avcodec_find_encoder_by_name avcodec_send_frame avcodec_receive_packet; do
  grep -qx "$sym" <<<"$codec_syms" || die "libavcodec.a lacks $sym"
done
for sym in ff_mpegts_muxer avformat_alloc_output_context2 avio_alloc_context av_interleaved_write_frame; do
  grep -qx "$sym" <<<"$format_syms" || die "libavformat.a lacks $sym"
done
obj_dir="$(mktemp -d)"
(cd "$obj_dir" && ar x "$PREFIX/lib/libavcodec.a" && file -b avcodec.o) >"$BUILD_DIR/object-type.txt"
rm -rf "$obj_dir"
case "$(cat "$BUILD_DIR/object-type.txt")" in
  *"$OBJ_TYPE"*) ;;
  *) die "objects in libavcodec.a are not for $ARCH: $(cat "$BUILD_DIR/object-type.txt")" ;;
esac
# configure lists -latomic whenever the toolchain has libatomic, needed or not; on ARMv7-A
# and AArch64 FFmpeg's atomics are all inline. Drop it from the .pc files when no archive
# calls into libatomic, so the board image needs no libatomic.so.1 for FFmpeg's sake.
atomic_refs="$(for l in "${LIBS[@]}"; do "$NM" -u "$PREFIX/lib/lib$l.a" 2>/dev/null; done |
               awk '$NF ~ /^__atomic_|^__sync_/ { print $NF }' | sort -u | tr '\n' ' ')"
if [ -z "$atomic_refs" ]; then
  sed -i 's/ -latomic\b//' "$PREFIX"/lib/pkgconfig/*.pc
else
  echo "ffmpeg: note: the archives call libatomic ($atomic_refs): -latomic stays" >&2
fi
link_line="$(PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH='' pkg-config --libs libavformat libavcodec libswscale libswresample libavutil)"

echo "$HASH" >"$STAMP"
sizes="$(cd "$PREFIX/lib" && for l in "${LIBS[@]}"; do printf ' lib%s.a %sK' "$l" "$(( $(stat -c %s "lib$l.a") / 1024 ))"; done)"
echo "ffmpeg: $ARCH done in $(( $(date +%s) - start ))s (configure $((t1 - t0))s, make $((t2 - t1))s):$sizes"
echo "ffmpeg: link: $link_line"
