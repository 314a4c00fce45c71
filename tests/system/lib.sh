#!/usr/bin/env bash
# Shared by tests/system/build-*.sh: fetch a Debian source package of an exact version with
# apt-get source, check it against a SHA256SUMS file, and unpack it with Debian's patches.
# Sourced, not run. One private apt state per suite (build/system/apt/<suite>), so the
# host's apt configuration is left alone and any Debian release's sources can be fetched.
#
# SHA256SUMS files list the orig and debian tarballs (some mirrors lack the .dsc, which the
# unpacking here does not need). Refresh one for a new Debian revision:
#   tests/system/lib.sh sums SUITE[,SUITE...] PACKAGE VERSION >FILE.SHA256SUMS
# prints the checksums the suite's signed Sources index (checked by apt-get update against
# debian-archive-keyring) gives; review the diff before committing.

SYSTEM_TOP="${SYSTEM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
SYSTEM_APT="$SYSTEM_TOP/build/system/apt"

# The archive holding a suite's sources (security updates live apart): the mirror the host's
# apt already uses for bookworm (a machine may reach Debian only through its own mirror or a
# proxy), else deb.debian.org; ROBOTD_DEBIAN_MIRROR / ROBOTD_DEBIAN_SECURITY_MIRROR override.
debian_suite_uri() {
  local kind=debian pattern=' bookworm/main ' fallback=http://deb.debian.org/debian uri
  case "$1" in
    *-security) kind=security pattern=' bookworm-security/main ' fallback=http://deb.debian.org/debian-security ;;
  esac
  if [ "$kind" = security ]; then uri="${ROBOTD_DEBIAN_SECURITY_MIRROR:-}"; else uri="${ROBOTD_DEBIAN_MIRROR:-}"; fi
  [ -n "$uri" ] || uri="$(apt-cache policy 2>/dev/null | awk -v p="$pattern" 'index($0, p) { print $2; exit }')"
  case "$uri" in http://* | https://*) echo "$uri" ;; *) echo "$fallback" ;; esac
}

# Sets apt_opts to a private apt state for suite $1, updating its index once per day at most.
debian_apt_state() {
  local suite="$1" dir="$SYSTEM_APT/$1"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_suite_uri "$suite") $suite main" \
    >"$dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
            -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache")
  [ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
  if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null)" ]; then
    apt-get -qq "${apt_opts[@]}" update || { echo "system: apt-get update for $suite's sources failed" >&2; return 1; }
  fi
}

# Stamps: a library's build is skipped while the SHA-256 of its stamp text (read on stdin)
# equals what its last build wrote. stamp_common FILE prints what every build's text holds:
# its SHA256SUMS, the build script, this file and the compiler.
stamp_common() {
  cat "$1" "$0" "${BASH_SOURCE[0]}"
  { cc --version 2>/dev/null || true; } | head -n 1
}
stamp_fresh() {  # STAMP
  local hash
  hash="$(sha256sum | cut -d' ' -f1)"
  [ -f "$1" ] && [ "$(cat "$1")" = "$hash" ]
}
stamp_write() { sha256sum | cut -d' ' -f1 >"$1"; }  # STAMP

sums_files() { grep -v '^[[:space:]]*#' "$1" | awk 'NF == 2 { print $2 }'; }

# fetch_debian_source SUITES PACKAGE VERSION SUMS CACHE
# SUITES: comma-separated, tried in order (a fix may sit in <suite>-security before a point
# release). Downloads what CACHE lacks of the files SUMS names, then checks them all.
fetch_debian_source() {
  local suites="$1" pkg="$2" version="$3" sums="$4" cache="$5" f need suite
  mkdir -p "$cache"
  chmod 755 "$cache"
  for suite in ${suites//,/ }; do
    need=0
    for f in $(sums_files "$sums"); do [ -f "$cache/$f" ] || need=1; done
    [ "$need" = 1 ] || break
    echo "system: fetching $suite's source $pkg=$version"
    debian_apt_state "$suite" || return 1
    # apt checks each file against the signed Sources index; a missing .dsc on the mirror is
    # not fatal: the files SUMS names decide.
    (cd "$cache" && apt-get -qq "${apt_opts[@]}" source --download-only "$pkg=$version" >/dev/null 2>&1) || true
  done
  for f in $(sums_files "$sums"); do
    [ -f "$cache/$f" ] || { echo "system: error: apt-get source $pkg=$version ($suites) did not fetch $f" >&2; return 1; }
  done
  local bad
  if ! bad="$(cd "$cache" && grep -v '^[[:space:]]*#' "$sums" | sha256sum -c --quiet - 2>&1)"; then
    # A download cut short keeps its final name: once, the files that fail go and are
    # fetched again; a second mismatch is an error.
    if [ "${SYSTEM_REFETCHED:-0}" = 0 ]; then
      echo "system: $(echo "$bad" | tr '\n' ' '): fetching again" >&2
      for f in $(echo "$bad" | sed -n 's/: FAILED.*$//p'); do rm -f "${cache:?}/$f"; done
      SYSTEM_REFETCHED=1 fetch_debian_source "$@"
      return
    fi
    echo "system: error: SHA-256 mismatch against $sums: $bad (delete $cache to download again)" >&2
    return 1
  fi
}

# unpack_debian_source SUMS CACHE DEST: the orig tarball, the debian/ tarball over it, and
# Debian's quilt series applied in order (what dpkg-source -x does for a 3.0 (quilt) package).
unpack_debian_source() {
  local sums="$1" cache="$2" dest="$3" orig deb p
  orig="$(sums_files "$sums" | grep '\.orig\.tar\.' | head -n 1)"
  deb="$(sums_files "$sums" | grep '\.debian\.tar\.' | head -n 1)"
  [ -n "$orig" ] && [ -n "$deb" ] || { echo "system: error: $sums names no orig/debian tarball" >&2; return 1; }
  rm -rf "$dest"
  mkdir -p "$dest"
  tar -C "$dest" --strip-components=1 -xf "$cache/$orig" || return 1
  tar -C "$dest" -xf "$cache/$deb" || return 1
  [ -f "$dest/debian/patches/series" ] || return 0
  while read -r p _; do
    case "$p" in '' | '#'*) continue ;; esac
    patch -d "$dest" -p1 --quiet <"$dest/debian/patches/$p" >/dev/null ||
      { echo "system: error: Debian's patch $p does not apply" >&2; return 1; }
  done <"$dest/debian/patches/series"
}

# debian_source_tree SUITES PACKAGE VERSION SUMS CACHE DEST: the source fetched into CACHE,
# checked against SUMS and unpacked at DEST (each step says what went wrong).
debian_source_tree() {
  fetch_debian_source "$1" "$2" "$3" "$4" "$5" && unpack_debian_source "$4" "$5" "$6"
}

# logged_build LOG COMMAND...: COMMAND's output goes to LOG; when it fails, the log's last 40
# lines go to stderr and the status is false.
logged_build() {
  local log="$1"
  shift
  "$@" >"$log" 2>&1 || { tail -n 40 "$log" >&2; return 1; }
}

# pc_version_is PREFIX MODULE VERSION: PREFIX's MODULE.pc says VERSION.
pc_version_is() {
  [ "$(PKG_CONFIG_PATH="$1/lib/pkgconfig" pkg-config --modversion "$2")" = "$3" ]
}

# Run as a script: `sums SUITES PACKAGE VERSION` prints a SHA256SUMS body from the index.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ "${1:-}" = sums ] && [ $# -eq 4 ] || { echo "usage: $0 sums SUITE[,SUITE...] PACKAGE VERSION" >&2; exit 2; }
  for suite in ${2//,/ }; do
    debian_apt_state "$suite"
    out="$(apt-cache "${apt_opts[@]}" showsrc "$3" |
      awk -v v="$4" '/^Version:/ { ok = ($2 == v) } /^Checksums-Sha256:/ { c = ok; next } /^[^ ]/ { c = 0 }
                     c && NF == 3 { print $1 "  " $3 }')"
    [ -n "$out" ] || continue
    echo "# SHA-256 of Debian's source package $3 $4 ($suite), from its signed Sources index."
    echo "# Refresh: tests/system/lib.sh sums $2 $3 NEW-VERSION >THIS-FILE (review the diff)."
    echo "$out" | grep -v '\.dsc$'
    echo "$out" | awk '/\.dsc$/ { print "# (not needed, some mirrors lack it) " $0 }'
    exit 0
  done
  echo "$0: no $3=$4 in $2's sources" >&2
  exit 1
fi
