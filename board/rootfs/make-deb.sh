#!/bin/sh
# Builds robotd's .deb with dpkg-deb (no debhelper): the binary (stripped), the systemd unit,
# the default config as a conffile, and the maintainer scripts of board/rootfs/deb/. Depends
# come from dpkg-shlibdeps on the binary, so they name exactly the Debian packages of the
# shared libraries it links (lws and FFmpeg are linked statically: not among them).
#
# usage: board/rootfs/make-deb.sh DEB_ARCH BINARY CONFIG STRIP OUTDIR
#   e.g. board/rootfs/make-deb.sh arm64 build/aarch64/robotd board/rpi4/robotd.conf \
#        aarch64-linux-gnu-strip build/deb
# Prints the path of the .deb it wrote.
set -eu
[ $# -eq 5 ] || { sed -n '7,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
arch=$1 bin=$2 conf=$3 strip=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
version=$(sed -n 's/^#define ROBOTD_VERSION "\(.*\)"$/\1/p' "$top/src/core/version.h")
[ -n "$version" ] || { echo "make-deb: no ROBOTD_VERSION in src/core/version.h" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/robotd-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps wants a source tree: debian/control, the binary under debian/<package>/.
root=$work/debian/robotd
mkdir -p "$root/DEBIAN"
install -D -m 0755 "$bin" "$root/usr/bin/robotd"
"$strip" --strip-unneeded "$root/usr/bin/robotd"
install -D -m 0644 "$here/robotd.service" "$root/lib/systemd/system/robotd.service"
install -D -m 0644 "$conf" "$root/etc/robotd/robotd.conf"
install -D -m 0644 "$here/../../README.md" "$root/usr/share/doc/robotd/README.md"
for s in postinst prerm postrm; do install -m 0755 "$here/deb/$s" "$root/DEBIAN/$s"; done
echo /etc/robotd/robotd.conf >"$root/DEBIAN/conffiles"

printf 'Source: robotd\n\nPackage: robotd\nArchitecture: any\n' >"$work/debian/control"
# For a cross build DEB_HOST_ARCH points dpkg-shlibdeps at the target's libraries and
# their shlibs/symbols files (the :arm64/:armhf -dev packages install-deps.sh installed).
# (Its "should already be installed in their package's directory" warning is spurious here:
# it comes at random even with the binary in place, so it is filtered out.)
depends=$(cd "$work" && DEB_HOST_ARCH=$arch dpkg-shlibdeps -O -e debian/robotd/usr/bin/robotd \
    2>"$work/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p')
grep -v "should already be installed in their package's directory" "$work/shlibdeps.err" >&2 || :
[ -n "$depends" ] || { echo "make-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -k -s "$root" | cut -f1)

cat >"$root/DEBIAN/control" <<CONTROL
Package: robotd
Version: $version
Architecture: $arch
Maintainer: robotd developers <robotd@localhost>
Installed-Size: $size
Depends: $depends, adduser
Recommends: espeak-ng
Suggests: festival, flite
Section: misc
Priority: optional
Description: LetsRobot telepresence robot daemon
 robotd connects a robot to LetsRobot-compatible servers: it streams the
 robot's camera and microphone, drives its motors from the viewers'
 commands, and speaks the chat. It reads the reference client's
 letsrobot.conf layout and runs as a systemd service (Type=notify, with a
 watchdog) under its own user.
CONTROL

mkdir -p "$out"
deb=$out/robotd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
