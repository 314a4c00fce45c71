#!/usr/bin/env bash
# Builds libwebsockets from Debian's own source package as a static library using mbedTLS,
# for the host or an ARM target, into build/<ARCH>/lws/{include,lib}. Idempotent.
#
# usage: third_party/libwebsockets/build.sh host|aarch64|armhf [--force]
#        third_party/libwebsockets/build.sh --update-checksums
#
# Source: `apt-get source --download-only libwebsockets=$DEB_VERSION` into build/src/, every
# file checked against SHA256SUMS beside this script, unpacked with dpkg-source -x (which
# applies Debian's patch series), then robotd's own fixes (lws_patches below), into
# build/src/libwebsockets-$LWS_VERSION/.
# Output: build/<ARCH>/lws/include/libwebsockets.h, build/<ARCH>/lws/lib/libwebsockets.a;
# link with: -lwebsockets -lmbedtls -lmbedx509 -lmbedcrypto -lpthread
# Env: ROBOTD_NO_INSTALL_DEPS=1 skips toolchain/install-deps.sh (packages already there).
set -euo pipefail

LWS_VERSION=4.1.6
DEB_VERSION=4.1.6-3

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
SUMS="$HERE/SHA256SUMS"
SRC_CACHE="$TOP/build/src"
SRC_DIR="$SRC_CACHE/libwebsockets-$LWS_VERSION"

die() { echo "lws: error: $*" >&2; exit 1; }

# robotd's fixes to lws 4.1.6, applied on top of Debian's (empty) patch series; part of the
# source stamp and of the options hash, so changing one rebuilds.
# 1. The MQTT client role never starts TLS when lws uses mbedTLS: for "raw-ish" client
#    connections (MQTT among them) the TLS tunnel is created only under OpenSSL, and the
#    MQTT role then waits in LRS_WAITING_SSL for a handshake nobody began (the broker waits
#    for a ClientHello; the connection times out). Start it the way the http client does.
# 2. Its MQTT 3.1.1 CONNECT without user name or will ends with a stray 0 byte (an MQTT 5
#    "no properties" length): the broker reads it as the start of the next packet, and
#    mosquitto then swallows the client's first PUBLISH when it comes at once.
# 3. A broker's refusal (a CONNACK with a return code: bad user name or password, not
#    authorized, ...) reached the client as a bare close, and lws logged an error of its
#    own at every attempt: the client now gets CLIENT_CONNECTION_ERROR with the reason.
lws_patches() {
  cat <<'EOF_PATCH'
--- a/lib/roles/http/client/client-handshake.c
+++ b/lib/roles/http/client/client-handshake.c
@@ -271,6 +271,18 @@
 			if (!strcmp(meth, "MQTT")) {
 #if defined(LWS_WITH_TLS)
 				if (wsi->tls.use_ssl & LCCSCF_USE_SSL) {
+#if defined(LWS_WITH_MBEDTLS)
+					/*
+					 * The tls tunnel is only started above
+					 * for OpenSSL: start it here (it sends
+					 * the ClientHello), so the server's
+					 * answer lets the mqtt role go on.
+					 */
+					if (lws_client_create_tls(wsi, &cce, 1) ==
+							CCTLS_RETURN_ERROR)
+						goto failed;
+					lws_callback_on_writable(wsi);
+#endif
 					lwsi_set_state(wsi, LRS_WAITING_SSL);
 					return wsi;
 				}
--- a/lib/roles/mqtt/client/client-mqtt-handshake.c
+++ b/lib/roles/mqtt/client/client-mqtt-handshake.c
@@ -104,10 +104,13 @@
 			*p++ = 0;
 		}
 
-		if ((c->conn_flags & ~LMQCFT_CLEAN_START) == 0) {
-			*p++ = 0; /* no properties */
+		if ((c->conn_flags & ~LMQCFT_CLEAN_START) == 0)
+			/*
+			 * Nothing follows the client id: MQTT 3.1.1 has no
+			 * properties byte, and a stray one ends up read as
+			 * the start of the next packet.
+			 */
 			break;
-		}
 		if (c->conn_flags & LMQCFT_WILL_FLAG) {
 			if (lws_mqtt_str_is_not_empty(c->will.topic)) {
 				lws_ser_wu16be(p, c->will.topic->len);
--- a/lib/roles/mqtt/client/client-mqtt.c
+++ b/lib/roles/mqtt/client/client-mqtt.c
@@ -359,7 +359,9 @@
 		else
 			n = lws_read_mqtt(wsi, ebuf.token, ebuf.len);
 		if (n < 0) {
-			lwsl_err("%s: Parsing packet failed\n", __func__);
+			/* a refused CONNECT was told to the client already */
+			if (!wsi->already_did_cce)
+				lwsl_err("%s: Parsing packet failed\n", __func__);
 			goto fail;
 		}
 
--- a/lib/roles/mqtt/mqtt.c
+++ b/lib/roles/mqtt/mqtt.c
@@ -743,6 +743,25 @@
 			case 5:
 				par->reason = LMQCP_REASON_UNSUPPORTED_PROTOCOL +
 						par->conn_rc - 1;
+#if defined(LWS_WITH_CLIENT)
+				{
+					/*
+					 * Tell the client why the broker said
+					 * no: otherwise it only sees a close.
+					 */
+					static const char * const why[] = {
+						"CONNACK: unacceptable protocol version",
+						"CONNACK: identifier rejected",
+						"CONNACK: server unavailable",
+						"CONNACK: bad user name or password",
+						"CONNACK: not authorized",
+					};
+					const char *w = why[par->conn_rc - 1];
+
+					lws_inform_client_conn_fail(wsi, (void *)w,
+								    strlen(w));
+				}
+#endif
 				goto send_reason_and_close;
 			default:
 				lwsl_notice("%s: bad connack retcode\n", __func__);
EOF_PATCH
}

# ---- arguments -----------------------------------------------------------------------
ARCH=""; FORCE=0; UPDATE_SUMS=0
for a in "$@"; do
  case "$a" in
    host|aarch64|armhf) ARCH="$a" ;;
    --force) FORCE=1 ;;
    --update-checksums) UPDATE_SUMS=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 host|aarch64|armhf [--force] | --update-checksums" >&2; exit 2 ;;
  esac
done

install_deps() {
  [ "${ROBOTD_NO_INSTALL_DEPS:-0}" = 1 ] || "$TOP/toolchain/install-deps.sh" "$@"
}

# apt-get as root downloads as user _apt, which cannot write into a root-owned build tree.
apt_source_download() {   # $1: destination dir
  local opts=()
  [ "$(id -u)" -ne 0 ] || opts=(-o APT::Sandbox::User=root)
  (cd "$1" && apt-get -qq "${opts[@]}" source --download-only "libwebsockets=$DEB_VERSION")
}

sums_files() { grep -v '^[[:space:]]*#' "$SUMS" | awk 'NF == 2 { print $2 }'; }

if [ "$UPDATE_SUMS" = 1 ]; then
  install_deps --source
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"
  apt_source_download "$tmp" || die "apt-get source libwebsockets=$DEB_VERSION failed"
  {
    echo "# SHA-256 of Debian's source package libwebsockets $DEB_VERSION (bookworm), as fetched by"
    echo "# \`apt-get source --download-only libwebsockets=$DEB_VERSION\`. build.sh refuses any other bytes."
    echo "# Refresh (new Debian revision): edit DEB_VERSION in build.sh, then"
    echo "#   third_party/libwebsockets/build.sh --update-checksums"
    echo "# and review the diff (it must match the .dsc's Checksums-Sha256) before committing."
    (cd "$tmp" && sha256sum -- *.dsc *.orig.tar.* *.debian.tar.*)
  } >"$SUMS.new"
  mv "$SUMS.new" "$SUMS"
  echo "lws: wrote $SUMS"; grep -v '^#' "$SUMS"
  echo "lws: the .dsc says:"; sed -n '/^Checksums-Sha256:/,/^[A-Z]/p' "$tmp"/*.dsc | grep '^ '
  exit 0
fi
[ -n "$ARCH" ] || { echo "usage: $0 host|aarch64|armhf [--force] | --update-checksums" >&2; exit 2; }

# ---- per-arch settings ---------------------------------------------------------------
case "$ARCH" in
  host)
    TRIPLET="$(${CC:-gcc} -print-multiarch 2>/dev/null || gcc -print-multiarch)"
    TOOLCHAIN_ARGS=()
    CC_CMD="${CC:-cc}"; NM="nm" ;;
  aarch64)
    TRIPLET=aarch64-linux-gnu
    TOOLCHAIN_ARGS=(-DCMAKE_TOOLCHAIN_FILE="$TOP/toolchain/aarch64.cmake")
    CC_CMD="$TRIPLET-gcc"; NM="$TRIPLET-nm" ;;
  armhf)
    TRIPLET=arm-linux-gnueabihf
    TOOLCHAIN_ARGS=(-DCMAKE_TOOLCHAIN_FILE="$TOP/toolchain/armhf.cmake")
    CC_CMD="$TRIPLET-gcc"; NM="$TRIPLET-nm" ;;
esac
BUILD_DIR="$TOP/build/$ARCH/lws-build"
PREFIX="$TOP/build/$ARCH/lws"
STAMP="$PREFIX/.robotd-lws-stamp"
MBEDTLS_LIBDIR="/usr/lib/$TRIPLET"

# Options (README.md says why). Client-side roles the daemon needs stay on: h1, ws, raw
# file descriptors (signalfd adoption), http client, MQTT client (the mqtt_pub driver); no HTTP/2, no event-lib plugins, no
# zlib/extensions, plain getaddrinfo DNS (honours /etc/hosts), mbedTLS for TLS.
LWS_OPTIONS=(
  -DCMAKE_BUILD_TYPE=MinSizeRel
  "-DCMAKE_C_FLAGS=-fstack-protector-strong -D_FORTIFY_SOURCE=2 -ffunction-sections -fdata-sections -Wno-error=deprecated-declarations"
  -DDISABLE_WERROR=ON
  -DLWS_WITH_SSL=ON
  -DLWS_WITH_MBEDTLS=ON
  -DLWS_MBEDTLS_INCLUDE_DIRS=/usr/include
  "-DLWS_MBEDTLS_LIBRARIES=$MBEDTLS_LIBDIR/libmbedtls.so;$MBEDTLS_LIBDIR/libmbedx509.so;$MBEDTLS_LIBDIR/libmbedcrypto.so"
  -DLWS_SSL_CLIENT_USE_OS_CA_CERTS=OFF
  -DLWS_WITH_STATIC=ON
  -DLWS_WITH_SHARED=OFF
  -DLWS_STATIC_PIC=ON
  -DLWS_WITHOUT_TESTAPPS=ON
  -DLWS_WITHOUT_TEST_SERVER=ON
  -DLWS_WITHOUT_TEST_SERVER_EXTPOLL=ON
  -DLWS_WITHOUT_TEST_PING=ON
  -DLWS_WITHOUT_TEST_CLIENT=ON
  -DLWS_WITH_MINIMAL_EXAMPLES=OFF
  -DLWS_WITHOUT_CLIENT=OFF
  -DLWS_ROLE_H1=ON
  -DLWS_ROLE_WS=ON
  -DLWS_ROLE_RAW_FILE=ON
  -DLWS_ROLE_MQTT=ON
  -DLWS_ROLE_DBUS=OFF
  -DLWS_WITH_HTTP2=OFF
  -DLWS_WITH_LIBUV=OFF
  -DLWS_WITH_LIBEV=OFF
  -DLWS_WITH_LIBEVENT=OFF
  -DLWS_WITH_GLIB=OFF
  -DLWS_WITH_EVLIB_PLUGINS=OFF
  -DLWS_WITH_ZLIB=OFF
  -DLWS_WITHOUT_EXTENSIONS=ON
  -DLWS_WITH_ZIP_FOPS=OFF
  -DLWS_WITH_HTTP_STREAM_COMPRESSION=OFF
  -DLWS_IPV6=ON
  -DLWS_UNIX_SOCK=ON
  -DLWS_WITH_SYS_ASYNC_DNS=OFF
  -DLWS_WITH_SECURE_STREAMS=OFF
  -DLWS_WITH_PLUGINS=OFF
  -DLWS_WITH_LWSWS=OFF
  -DLWS_WITH_CGI=OFF
  -DLWS_WITH_SOCKS5=OFF
  -DLWS_WITH_DRIVERS=OFF
  -DLWS_WITHOUT_DAEMONIZE=ON
  -DLWS_CTEST_INTERNET_AVAILABLE=OFF
  -DLWS_REPRODUCIBLE=ON
  # lws takes its version suffix from `git describe` in the source dir, which would be
  # robotd's own repo here: name the Debian revision instead.
  -DCMAKE_DISABLE_FIND_PACKAGE_Git=ON
  "-DLWS_BUILD_HASH=debian-${DEB_VERSION#*-}"
)

# Everything that changes the output goes into the stamp.
options_hash() {
  {
    printf '%s\n' "$DEB_VERSION" "$ARCH" "${TOOLCHAIN_ARGS[@]}" "${LWS_OPTIONS[@]}"
    cat "$SUMS"
    lws_patches
    [ "$ARCH" = host ] || cat "$TOP/toolchain/$ARCH.cmake" "$TOP/toolchain/debian-multiarch.cmake"
    { "$CC_CMD" --version 2>/dev/null || true; } | head -n 1
    grep -s "define MBEDTLS_VERSION_STRING " /usr/include/mbedtls/build_info.h /usr/include/mbedtls/version.h || true
  } | sha256sum | cut -d' ' -f1
}

# ---- fast path -----------------------------------------------------------------------
if [ "$FORCE" = 0 ] && [ -f "$STAMP" ] && [ -f "$PREFIX/lib/libwebsockets.a" ] &&
   [ -f "$PREFIX/include/libwebsockets.h" ] && command -v "$CC_CMD" >/dev/null 2>&1 &&
   [ "$(cat "$STAMP")" = "$(options_hash)" ]; then
  exit 0
fi

start=$(date +%s)
src_flag=(); [ -f "$SRC_DIR/.robotd-stamp" ] || src_flag=(--source)
install_deps --arch "$ARCH" "${src_flag[@]}"
command -v "$CC_CMD" >/dev/null 2>&1 || die "compiler $CC_CMD not found"
for l in mbedtls mbedx509 mbedcrypto; do
  [ -e "$MBEDTLS_LIBDIR/lib$l.so" ] || die "$MBEDTLS_LIBDIR/lib$l.so missing (libmbedtls-dev for $ARCH)"
done
HASH="$(options_hash)"

# ---- source: fetch, verify, unpack (locked: several arches may build at once) ----------
mkdir -p "$SRC_CACHE"
exec 8>"$SRC_CACHE/.lws.lock"
flock 8
sums_hash="$({ cat "$SUMS"; lws_patches; } | sha256sum | cut -d' ' -f1)"
if [ ! -f "$SRC_DIR/.robotd-stamp" ] || [ "$(cat "$SRC_DIR/.robotd-stamp")" != "$sums_hash" ]; then
  need_fetch=0
  for f in $(sums_files); do [ -f "$SRC_CACHE/$f" ] || need_fetch=1; done
  if [ "$need_fetch" = 1 ]; then
    echo "lws: fetching Debian source libwebsockets=$DEB_VERSION into build/src/"
    install_deps --source
    chmod 755 "$SRC_CACHE"
    apt_source_download "$SRC_CACHE" ||
      die "apt-get source libwebsockets=$DEB_VERSION failed (is a deb-src line for bookworm set up? toolchain/install-deps.sh --source)"
  fi
  for f in $(sums_files); do [ -f "$SRC_CACHE/$f" ] || die "$f not downloaded"; done
  if ! bad="$(cd "$SRC_CACHE" && grep -v '^[[:space:]]*#' "$SUMS" | sha256sum -c --quiet - 2>&1)"; then
    echo "lws: error: SHA-256 mismatch for the downloaded source (expected: $SUMS):" >&2
    echo "$bad" >&2
    echo "lws: delete build/src/ to download again; if Debian changed the package on purpose," \
         "see third_party/README.md on refreshing the checksums" >&2
    exit 1
  fi
  rm -rf "$SRC_DIR" "$SRC_DIR.tmp"
  dsc="$(sums_files | grep '\.dsc$' | head -n 1)"
  [ -n "$dsc" ] || die "no .dsc listed in $SUMS"
  (cd "$SRC_CACHE" && dpkg-source -x "$dsc" "$SRC_DIR.tmp") >"$SRC_CACHE/dpkg-source.log" 2>&1 ||
    { tail -n 20 "$SRC_CACHE/dpkg-source.log" >&2; die "dpkg-source -x $dsc failed"; }
  lws_patches | patch -d "$SRC_DIR.tmp" -p1 --forward --quiet ||
    die "robotd's patches to lws do not apply to $dsc"
  mv "$SRC_DIR.tmp" "$SRC_DIR"
  echo "$sums_hash" >"$SRC_DIR/.robotd-stamp"
fi
flock -u 8

# ---- configure, build, install --------------------------------------------------------
mkdir -p "$TOP/build/$ARCH"
exec 9>"$TOP/build/$ARCH/.lws.lock"
flock 9
rm -rf "$BUILD_DIR" "$PREFIX"
mkdir -p "$BUILD_DIR"
LOG="$BUILD_DIR/build.log"
echo "lws: building libwebsockets $DEB_VERSION for $ARCH (mbedTLS, static; log: ${LOG#"$TOP"/})"
{
  cmake -S "$SRC_DIR" -B "$BUILD_DIR" -Wno-dev \
    "${TOOLCHAIN_ARGS[@]}" \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DLIB_SUFFIX= \
    "${LWS_OPTIONS[@]}" &&
  cmake --build "$BUILD_DIR" -j"$(nproc)" &&
  cmake --install "$BUILD_DIR"
} >"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; die "build for $ARCH failed (full log: $LOG)"; }

# lws' own .pc files are wrong for a static-only build (libwebsockets_static.pc names a
# -lwebsockets_static that does not exist, neither lists mbedTLS): write one that links.
rm -f "$PREFIX/lib/pkgconfig/libwebsockets_static.pc"
cat >"$PREFIX/lib/pkgconfig/libwebsockets.pc" <<EOF_PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libwebsockets
Description: libwebsockets $DEB_VERSION (Debian source), static, mbedTLS
Version: $LWS_VERSION
Libs: -L\${libdir} -lwebsockets -lmbedtls -lmbedx509 -lmbedcrypto -lpthread
Cflags: -I\${includedir}
EOF_PC

# ---- checks: mbedTLS in, OpenSSL out, right machine -------------------------------------
LIB="$PREFIX/lib/libwebsockets.a"
if [ ! -f "$LIB" ] || [ ! -f "$PREFIX/include/libwebsockets.h" ]; then die "install did not produce $LIB"; fi
defined="$("$NM" -g --defined-only "$LIB" 2>/dev/null | awk 'NF >= 3 { print $3 }' | sort -u)"
undefined="$("$NM" -g --undefined-only "$LIB" 2>/dev/null | awk 'NF >= 2 { print $2 }' | sort -u)"
external="$(comm -23 <(echo "$undefined") <(echo "$defined"))"
n_mbed="$(echo "$external" | grep -c '^mbedtls_ssl_' || true)"
[ "$n_mbed" -gt 0 ] || die "$LIB references no mbedtls_ssl_* symbol: not built with mbedTLS"
# lws' mbedTLS backend carries its own OpenSSL-like wrapper (SSL_CTX_new etc., defined
# inside the archive); only symbols left undefined would come from libssl/libcrypto.
openssl_refs="$(echo "$external" | grep -E '^(SSL_|SSLv|TLS_|TLSv|OPENSSL_|OpenSSL_|ERR_|EVP_|X509_|BIO_|CRYPTO_|RAND_|PEM_|d2i_|i2d_|BN_|RSA_|EC_|ECDSA_|HMAC)' || true)"
[ -z "$openssl_refs" ] || die "$LIB references OpenSSL symbols: $(echo "$openssl_refs" | tr '\n' ' ' | cut -c1-200)"
for sym in lws_create_context lws_create_vhost lws_client_connect_via_info lws_sul_schedule \
           lws_cancel_service lws_adopt_descriptor_vhost lws_retry_sul_schedule \
           lws_retry_get_delay_ms lws_retry_sul_schedule_retry_wsi; do
  # A here-string, not a pipe: under pipefail, grep -q leaving early can kill echo (SIGPIPE)
  # while it still writes a list larger than a pipe, and a present symbol looks missing.
  grep -qx "$sym" <<<"$defined" || die "$LIB lacks $sym"
done
grep -q '^#define LWS_ROLE_RAW_FILE' "$PREFIX/include/lws_config.h" || die "LWS_ROLE_RAW_FILE not enabled"
grep -q '^#define LWS_ROLE_MQTT' "$PREFIX/include/lws_config.h" || die "LWS_ROLE_MQTT not enabled"
grep -qx lws_mqtt_client_send_publish <<<"$defined" || die "$LIB lacks lws_mqtt_client_send_publish"
grep -q '^#define LWS_WITH_MBEDTLS' "$PREFIX/include/lws_config.h" || die "LWS_WITH_MBEDTLS not enabled"
if grep -q '^#define LWS_WITH_HTTP2' "$PREFIX/include/lws_config.h"; then die "HTTP/2 enabled"; fi
obj_dir="$(mktemp -d)"
(cd "$obj_dir" && ar x "$LIB" && set -- ./*.o && file -b "$1") >"$BUILD_DIR/object-type.txt"
rm -rf "$obj_dir"
case "$ARCH:$(cat "$BUILD_DIR/object-type.txt")" in
  aarch64:*"ARM aarch64"*|armhf:*"ARM, EABI5"*|host:*) ;;
  *) die "objects in $LIB are not for $ARCH: $(cat "$BUILD_DIR/object-type.txt")" ;;
esac

echo "$HASH" >"$STAMP"
echo "lws: $ARCH done in $(( $(date +%s) - start ))s: ${LIB#"$TOP"/} ($n_mbed mbedtls_ssl_* refs, no OpenSSL)"
