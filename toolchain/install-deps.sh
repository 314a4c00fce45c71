#!/usr/bin/env bash
# Installs, from Debian's archive, everything robotd needs to build and test on this host
# and to cross-build for ARM; idempotent, and a sub-second no-op when nothing is missing.
#
# usage: toolchain/install-deps.sh [--arch host|aarch64|armhf]... [--vm] [--source] [--npm] [--system]
#   --arch A   also set up cross building for A (repeatable; default: host only)
#   --vm       also what the virtual board needs (tests/vm): qemu-system, cpio, socat, aarch64
#   --source   make sure a deb-src entry for bookworm exists (for `apt-get source`)
#   --npm      also install the npm packages of tests/peer (npm ci, pinned by its lock file)
#   --system   also Debian's FFmpeg -dev packages and a deb-src entry (make test-system)
# Prints one line when it installs something, nothing otherwise. Uses sudo when not root;
# apt-get's own output goes to $INSTALL_DEPS_LOG (default /tmp/robotd-install-deps.log).
set -euo pipefail

# --- package lists: add to these ------------------------------------------------------
# Native packages: compilers, build tools, the libraries robotd links, test tools
# (chromium: the browser test plays the stream in jsmpeg in headless /usr/bin/chromium;
# mosquitto and mosquitto-clients: the mqtt_pub tests start their own broker and subscriber,
# never the system service, which Debian's package enables but only an init system starts;
# socat: the serial test's pseudo-terminal board; espeak-ng: the speech tests run the real
# engine to WAV, the [tts] type robotd's README suggests; festival, pico and flite are not
# installed, their argv is unit-tested without running them, and libttspico is non-free;
# systemd: systemd-analyze verify of the unit; busybox: the init script's test runs on its
# sh and start-stop-daemon, as on a board; adduser: the .deb's postinst, tested here).
HOST_PACKAGES="build-essential g++ make cmake pkg-config file ca-certificates openssl curl
  dpkg-dev xz-utils
  libmbedtls-dev libcjson-dev libinih-dev
  libgtest-dev googletest
  libasound2-dev libgpiod-dev
  nasm ffmpeg time
  clang libclang-rt-14-dev
  chromium
  mosquitto mosquitto-clients socat
  espeak-ng
  systemd busybox adduser"
# Native packages needed by any cross build (whatever the target arch).
CROSS_HOST_PACKAGES="qemu-user-static"
# Per Debian arch: the cross compiler (native package) ...
# shellcheck disable=SC2034  # read as ${!tc_var}
CROSS_TOOLCHAIN_arm64="crossbuild-essential-arm64"
# shellcheck disable=SC2034
CROSS_TOOLCHAIN_armhf="crossbuild-essential-armhf"
# ... and the target's -dev packages robotd links (installed as pkg:<arch>; all are
# Multi-Arch: same, so they sit beside the native ones at the same version).
# FFmpeg is not among them: the cross builds link a static FFmpeg built from Debian's source
# (third_party/ffmpeg/build.sh), because Debian's :arm64/:armhf libav*-dev cannot be
# co-installed here (Multi-Arch version skew) and would drag in mesa etc.
# libgtest-dev: the cross-built unit tests (tests/cross) link the target's prebuilt static
# libgtest.a/libgtest_main.a; it depends only on the arch-independent googletest, bookworm
# has one version of it, so it co-installs with libgtest-dev:amd64 and costs no build.
CROSS_DEV_PACKAGES="libmbedtls-dev libcjson-dev libinih-dev libasound2-dev libgpiod-dev
  libgtest-dev"
# The virtual board (tests/vm): QEMU's aarch64 'virt' machine, cpio for its initramfs, socat
# behind each guestfwd rule. Its arm64 kernel and busybox come as .debs (tests/vm/make-image.sh);
# so do the headers, prebuilt kbuild tools and sources that tests/vm/build-modules.sh builds
# vim2m.ko and v4l2loopback.ko from, with crossbuild-essential-arm64's gcc-12, which also
# builds tests/vm/mjpeg_feeder.c; its JPEG pictures come from ffmpeg (HOST_PACKAGES).
VM_HOST_PACKAGES="qemu-system-arm cpio socat"
# `make test-system` builds robotd against Debian's own libraries: the -dev packages above,
# plus FFmpeg's (the default build links a static FFmpeg of its own instead).
SYSTEM_HOST_PACKAGES="libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  libswresample-dev libavdevice-dev"
# Node.js >= 20 is needed by tests/peer; an existing node >= 20 is left alone.
NODE_MIN_MAJOR=20

# --- arguments ---------------------------------------------------------------------------
orig_args=("$@")
archs=()
want_source=0
want_npm=0
want_vm=0
want_system=0
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || { echo "install-deps: --arch needs a value" >&2; exit 2; }
            archs+=("$2"); shift 2 ;;
    --arch=*) archs+=("${1#--arch=}"); shift ;;
    --source) want_source=1; shift ;;
    --npm) want_npm=1; shift ;;
    --vm) want_vm=1; archs+=(aarch64); shift ;;
    --system) want_system=1; want_source=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ ${#archs[@]} -gt 0 ] || archs=(host)

LOG="${INSTALL_DEPS_LOG:-${TMPDIR:-/tmp}/robotd-install-deps.log}"

native_arch="$(dpkg --print-architecture)"
wanted="$HOST_PACKAGES"
[ "$want_vm" = 0 ] || wanted="$wanted $VM_HOST_PACKAGES"
[ "$want_system" = 0 ] || wanted="$wanted $SYSTEM_HOST_PACKAGES"
foreign_needed=""
for a in "${archs[@]}"; do
  case "$a" in
    host|native|"$native_arch") continue ;;
    aarch64|arm64) deb=arm64 ;;
    armhf|arm) deb=armhf ;;
    *) echo "install-deps: unknown arch '$a' (host|aarch64|armhf)" >&2; exit 2 ;;
  esac
  tc_var="CROSS_TOOLCHAIN_$deb"
  wanted="$wanted $CROSS_HOST_PACKAGES ${!tc_var}"
  for p in $CROSS_DEV_PACKAGES; do wanted="$wanted $p:$deb"; done
  foreign_needed="$foreign_needed $deb"
done

# The npm packages of tests/peer, as the invoking user (no sudo: they live in the tree).
# node_modules/.package-lock.json is npm's own record of the last install: newer than the
# lock file means nothing to do.
npm_deps() {
  [ "$want_npm" = 1 ] || return 0
  local peer
  peer="$(cd "$(dirname "$0")/.." && pwd)/tests/peer"
  [ "$peer/node_modules/.package-lock.json" -nt "$peer/package-lock.json" ] && return 0
  echo "install-deps: npm ci in tests/peer"
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error) || {
    echo "install-deps: npm ci in $peer failed" >&2; exit 1; }
  touch "$peer/node_modules/.package-lock.json"
}

# --- what is missing (one dpkg-query for all packages) ------------------------------------
# Prints the requested names that are not installed. A bare name matches the native arch or
# arch "all"; "name:arch" matches only that arch.
missing_packages() {
  { dpkg-query -W -f='${Package}:${Architecture} ${Status}\n' "$@" 2>/dev/null || true; } |
    awk -v native="$native_arch" -v want="$*" '
      / ok installed$/ { split($1, pa, ":"); ok[pa[1] ":" pa[2]] = 1 }
      END {
        n = split(want, w, " ")
        for (i = 1; i <= n; i++) {
          p = w[i]
          if (index(p, ":")) { if (!(p in ok)) print p }
          else if (!((p ":" native) in ok) && !((p ":all") in ok)) print p
        }
      }'
}

# shellcheck disable=SC2086
set -- $wanted
# de-duplicate, keep order
wanted_list="$(printf '%s\n' "$@" | awk '!seen[$0]++' | tr '\n' ' ')"
# shellcheck disable=SC2086
missing="$(missing_packages $wanted_list | tr '\n' ' ')"

# Node: any node already on PATH is kept (here: nodesource's 20, which bundles npm);
# without one, Debian's nodejs is installed (18 in bookworm: warned about below).
node_major() {
  local v; v="$(node --version 2>/dev/null || true)"; v="${v#v}"; v="${v%%.*}"
  case "$v" in ''|*[!0-9]*) echo 0 ;; *) echo "$v" ;; esac
}
warn_old_node() {
  if command -v node >/dev/null 2>&1 && [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
    echo "install-deps: WARNING: node $(node --version) is too old: tests/peer needs Node >= $NODE_MIN_MAJOR" >&2
  fi
}
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
# Debian 13's sources (tests/system) are checked against trixie's signing keys, which
# debian-archive-keyring has from 2023.3+deb12u2 (a bookworm point release): older, upgrade.
if [ "$want_system" = 1 ]; then
  keyring="$(dpkg-query -W -f='${Version}' debian-archive-keyring 2>/dev/null || true)"
  dpkg --compare-versions "${keyring:-0}" ge 2023.3+deb12u2 || missing="$missing debian-archive-keyring"
fi
command -v npm >/dev/null 2>&1 || missing="$missing npm"

# Foreign dpkg architectures.
add_archs=""
if [ -n "$foreign_needed" ]; then
  have_foreign=" $(dpkg --print-foreign-architectures | tr '\n' ' ') "
  for deb in $foreign_needed; do
    case "$have_foreign $add_archs " in *" $deb "*) ;; *) add_archs="$add_archs $deb" ;; esac
  done
fi

# deb-src for bookworm.
SRC_FILE=/etc/apt/sources.list.d/robotd-src.sources
need_src_update=0
write_src_file=0
if [ "$want_source" = 1 ]; then
  if ! compgen -G '/var/lib/apt/lists/*_dists_bookworm_main_source_Sources*' >/dev/null; then
    need_src_update=1
    # Write our file unless some existing entry already asks for bookworm sources.
    if [ ! -f "$SRC_FILE" ] && ! grep -Eqs '^[[:space:]]*deb-src[[:space:]].*[[:space:]]bookworm[[:space:]]' \
         /etc/apt/sources.list /etc/apt/sources.list.d/*.list &&
       ! awk 'BEGIN{RS=""} /(^|\n)Types:[^\n]*deb-src/ && /(^|\n)Suites:[^\n]*bookworm/ {f=1} END{exit !f}' \
         /etc/apt/sources.list.d/*.sources 2>/dev/null; then
      write_src_file=1
    fi
  fi
fi

# shellcheck disable=SC2086,SC2116
missing="$(echo $missing)"   # squeeze blanks
if [ -z "$missing" ] && [ -z "$add_archs" ] && [ "$need_src_update" = 0 ]; then
  warn_old_node
  npm_deps
  exit 0
fi

# --- do the work -------------------------------------------------------------------------
# One install at a time (make -j may start several builds that each call this script):
# take the lock, then check again from the start, as another run may have done the work.
if [ -z "${ROBOTD_INSTALL_DEPS_LOCKED:-}" ]; then
  exec 7>"${TMPDIR:-/tmp}/robotd-install-deps.lock"
  flock 7
  ROBOTD_INSTALL_DEPS_LOCKED=1 exec "$BASH" "$0" "${orig_args[@]}"
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo env DEBIAN_FRONTEND=noninteractive)
else
  echo "install-deps: need to install ($missing${add_archs:+; arch$add_archs}) but not root and no sudo" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
run() { "${SUDO[@]}" "$@" >>"$LOG" 2>&1 || { echo "install-deps: failed: $* (log: $LOG)" >&2; tail -n 30 "$LOG" >&2; exit 1; }; }
: >"$LOG" 2>/dev/null || LOG=/dev/null
APT_OPTS=(-o DPkg::Lock::Timeout=300)

# The deb-src stanzas mirror the existing deb entries for bookworm* (deb822 .sources files
# and one-line sources.list), so a mirror configured here is used for sources too.
make_src_file() {
  {
    echo "# Added by robotd toolchain/install-deps.sh --source: Debian sources for apt-get source."
    for f in /etc/apt/sources.list.d/*.sources; do
      if [ ! -f "$f" ] || [ "$f" = "$SRC_FILE" ]; then continue; fi
      awk 'BEGIN{RS=""; ORS="\n\n"}
        {
          types=""; suites=""; enabled="yes"
          n = split($0, L, "\n")
          for (i = 1; i <= n; i++) {
            if (L[i] ~ /^Types:/)   types = L[i]
            if (L[i] ~ /^Suites:/)  suites = L[i]
            if (L[i] ~ /^Enabled:[[:space:]]*no/) enabled = "no"
          }
          if (enabled == "no" || types !~ /[[:space:]]deb([[:space:]]|$)/) next
          if (suites !~ /[[:space:]]bookworm(-updates|-security)?([[:space:]]|$)/) next
          out = "Types: deb-src"
          for (i = 1; i <= n; i++)
            if (L[i] !~ /^(Types|Architectures):/ && L[i] !~ /^#/ && L[i] != "") out = out "\n" L[i]
          print out
        }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk '$1 == "deb" {
          opts = ""; i = 2
          if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
          uri = $i; suite = $(i + 1); comps = ""
          for (j = i + 2; j <= NF && $j !~ /^#/; j++) comps = comps " " $j
          if (suite !~ /^bookworm(-updates|-security|\/updates)?$/) next
          signed = ""
          if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
          printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:%s\n", uri, suite, comps
          if (signed != "") printf "Signed-By: %s\n", signed
          printf "\n"
        }' "$f"
    done
  } >"$1"
  if ! grep -q '^Types: deb-src' "$1"; then   # nothing to mirror: Debian's defaults
    cat >>"$1" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
}

what=""
[ -n "$missing" ] && what="$missing"
[ -n "$add_archs" ] && what="${what:+$what; }arch$add_archs"
[ "$write_src_file" = 1 ] && what="${what:+$what; }deb-src bookworm"
[ "$need_src_update" = 1 ] && [ "$write_src_file" = 0 ] && what="${what:+$what; }source index"
echo "install-deps: installing $what"

for deb in $add_archs; do run dpkg --add-architecture "$deb"; done
if [ "$write_src_file" = 1 ]; then
  tmp="$(mktemp)"; make_src_file "$tmp"
  run install -m 0644 "$tmp" "$SRC_FILE"; rm -f "$tmp"
fi
# apt-get update fails as a whole when one index does (seen: a mirror serving a stale
# bookworm-security armhf Packages.xz). Retry once, then go on with what was fetched: the
# install below fails clearly if something it needs is really not there.
if ! "${SUDO[@]}" apt-get update -qq "${APT_OPTS[@]}" >>"$LOG" 2>&1; then
  sleep 2
  if ! "${SUDO[@]}" apt-get update -qq "${APT_OPTS[@]}" >>"$LOG" 2>&1; then
    echo "install-deps: warning: apt-get update reported errors, going on (log: $LOG):" >&2
    grep -E '^(E|W): ' "$LOG" | sort -u | head -n 3 | cut -c1-200 >&2
  fi
fi
# Multi-Arch: same packages (all the foreign -dev ones and their libraries) must have the
# very same version for every arch; when apt cannot do that, say which versions disagree.
explain_multiarch() {
  local p base
  for p in $missing; do
    case "$p" in *:*) ;; *) continue ;; esac
    base="${p%%:*}"
    echo "  $base: installed $(dpkg-query -W -f='${Version}' "$base" 2>/dev/null || echo none)," \
         "$p candidate $(apt-cache policy "$p" | awk '/Candidate:/ { print $2 }')" >&2
  done
}
if [ -n "$missing" ]; then
  log_lines="$(wc -l <"$LOG" 2>/dev/null || echo 0)"
  # shellcheck disable=SC2086
  if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${APT_OPTS[@]}" $missing >>"$LOG" 2>&1; then
    echo "install-deps: failed: apt-get install $missing (log: $LOG)" >&2
    tail -n +"$((log_lines + 1))" "$LOG" | grep -v '^ ' | tail -n 20 >&2
    case "$missing" in *:*)
      echo "install-deps: native vs foreign versions (Multi-Arch: same needs them equal):" >&2
      explain_multiarch ;;
    esac
    exit 1
  fi
fi

warn_old_node
npm_deps
exit 0
