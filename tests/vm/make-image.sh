#!/usr/bin/env bash
# Builds the virtual board: Debian's arm64 kernel and an initramfs with busybox, the kernel
# modules robotd's devices need (vivid, snd-aloop, virtio-net, xHCI with ftdi_sio for QEMU's
# usb-serial adapter, i2c-dev, and vim2m, v4l2loopback, gpio-sim and i2c-stub, which Debian
# does not build: tests/vm/build-modules.sh builds them out of tree), the aarch64 robotd with
# its shared libraries, ALSA's speaker-test and aplay to play a tone or a WAV into the loopback,
# espeak-ng (Debian's, English only) for robotd's text-to-speech, libgpiod's tools
# (gpioget, gpioset, gpiomon: Debian's gpiod), mjpeg_feeder (tests/vm/mjpeg_feeder.c) with
# JPEG test pictures, the MJPEG camera's frames, and board_probe (tests/vm/board_probe.c), the
# guest's clock and line toggler for the timing benches. busybox brings the i2cget/i2cset/i2cdump applets.
#
# usage: tests/vm/make-image.sh ROBOTD_AARCH64 OUTDIR
# Writes OUTDIR/vmlinuz, OUTDIR/initramfs.cpio.gz and OUTDIR/kernel-version; keeps the .debs
# it fetched (apt-get download) in OUTDIR/debs, so a rebuild needs no network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
robotd=$(realpath "$1")
out=$(realpath -m "$2")
mkdir -p "$out/debs"

# Up to date: nothing to do (the kernel is whatever was fetched last; rm -r OUTDIR for news).
if [ -e "$out/initramfs.cpio.gz" ] && [ -e "$out/vmlinuz" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$robotd" ] && [ "$out/initramfs.cpio.gz" -nt "$here/init" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$0" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$here/build-modules.sh" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$here/debs.sh" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$here/mjpeg_feeder.c" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$here/board_probe.c" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$here/pcaudio_stub.c" ] &&
    [ "$out/initramfs.cpio.gz" -nt "$here/../../board/rootfs/S90robotd" ]; then
    exit 0
fi

# The kernel the linux-image-arm64 metapackage points at today (its ABI number moves with
# Debian's security updates, so it is not pinned here).
kpkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -1)
[ -n "$kpkg" ] || { echo "make-image: no linux-image-arm64 in apt's lists (apt-get update?)" >&2; exit 1; }
kver=${kpkg#linux-image-}

# shellcheck source=tests/vm/debs.sh
. "$here/debs.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,lib,usr/bin,usr/share,etc,proc,sys,dev,tmp,root}

# Kernel and modules.
kdeb=$(fetch_deb "$out/debs" "$kpkg" arm64)
dpkg-deb -x "$kdeb" "$work/kernel"
moddir=$work/kernel/lib/modules/$kver
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"

# The modules to load, each after what it depends on ("depends=" in the module's .modinfo),
# in $root/etc/modules as "name.ko" lines.
declare -A modpath=() loaded=()
while IFS= read -r f; do
    n=$(basename "$f" .ko)
    modpath[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko')
# The modules built out of tree for this kernel (each kept in $out/NAME). Their vermagic must
# be the kernel's, or insmod refuses them: compare with a module of the kernel package.
oot=(vim2m v4l2loopback gpio-sim i2c-stub)
mapfile -t built < <("$here/build-modules.sh" "$out" "$kdeb" "${oot[@]}")
[ ${#built[@]} -eq ${#oot[@]} ] || { echo "make-image: build-modules.sh failed" >&2; exit 1; }
vermagic() { strings -a "$1" | sed -n 's/^vermagic=//p' | head -1; }
for i in "${!oot[@]}"; do
    modpath[${oot[$i]//-/_}]=${built[$i]}
    [ "$(vermagic "${built[$i]}")" = "$(vermagic "${modpath[v4l2_mem2mem]}")" ] || {
        echo "make-image: vermagic of ${built[$i]} is not $kpkg's" >&2; exit 1; }
done
mkdir -p "$root/lib/modules"
add_module() {
    local key=${1//-/_} f deps d
    [ -z "${loaded[$key]:-}" ] || return 0
    f=${modpath[$key]:-}
    [ -n "$f" ] || { echo "make-image: module $1 not in $kpkg" >&2; exit 1; }
    loaded[$key]=1
    deps=$(strings -a "$f" | sed -n 's/^depends=//p' | head -1)
    for d in ${deps//,/ }; do add_module "$d"; done
    cp "$f" "$root/lib/modules/"
    echo "$(basename "$f")" >>"$root/etc/modules"
}
# vivid before vim2m: it takes /dev/video0, vim2m the next node; v4l2loopback asks for
# /dev/video9 (tests/vm/init), last so that it cannot take either. gpio-sim brings configfs
# (its chip is made there, by tests/vm/init); i2c-dev gives i2c-stub's bus its /dev/i2c-N;
# i6300esb drives QEMU's -device i6300esb, the hardware watchdog (/dev/watchdog) of the boot
# test (without the device it loads and waits, harmless).
for m in virtio_mmio virtio_net vivid snd-aloop vim2m v4l2loopback \
    xhci-pci ftdi_sio gpio-sim i2c-stub i2c-dev i6300esb; do add_module "$m"; done

# busybox, and speaker-test and aplay (arecord too: the same program) from alsa-utils.
bbdeb=$(fetch_deb "$out/debs" busybox-static arm64)
dpkg-deb -x "$bbdeb" "$work/busybox"
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for applet in $(qemu-aarch64-static "$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
audeb=$(fetch_deb "$out/debs" alsa-utils arm64)
dpkg-deb -x "$audeb" "$work/alsa-utils"
cp "$work/alsa-utils/usr/bin/speaker-test" "$work/alsa-utils/usr/bin/aplay" "$root/usr/bin/"
ln -s aplay "$root/usr/bin/arecord"
# alsa-lib reads its configuration (where "hw:..." is defined) from /usr/share/alsa.
cp -r /usr/share/alsa "$root/usr/share/"

cp "$robotd" "$root/usr/bin/robotd"
# The BusyBox init script, as a board installs it; tests/vm/init runs it at boot when a test
# put a config at /etc/robotd/robotd.conf (none here: most tests start robotd themselves).
mkdir -p "$root/etc/init.d"
install -m 755 "$here/../../board/rootfs/S90robotd" "$root/etc/init.d/S90robotd"

# The MJPEG camera: mjpeg_feeder writes JPEG files into v4l2loopback's /dev/video9. The
# pictures are FFmpeg's test pattern (colour bars, a moving gradient and a frame counter),
# 4:2:2 as a USB webcam's MJPEG mostly is; made once and kept in $out/jpeg.
if [ ! -e "$out/jpeg/10.jpg" ]; then
    rm -rf "$out/jpeg.tmp"
    mkdir -p "$out/jpeg.tmp"
    ffmpeg -nostdin -v error -f lavfi -i testsrc=size=640x480:rate=25 -frames:v 10 \
        -pix_fmt yuvj422p -q:v 5 "$out/jpeg.tmp/%02d.jpg"
    rm -rf "$out/jpeg"
    mv "$out/jpeg.tmp" "$out/jpeg"
fi
mkdir -p "$root/usr/share/robotd-test"
cp "$out"/jpeg/*.jpg "$root/usr/share/robotd-test/"
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$root/usr/bin/mjpeg_feeder" \
    "$here/mjpeg_feeder.c"
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$root/usr/bin/board_probe" \
    "$here/board_probe.c"

# libgpiod's command line tools, for tests that set, read and watch lines beside robotd
# (gpiomon timestamps each edge); their library comes from its own .deb, unpacked.
for p in gpiod libgpiod2; do dpkg-deb -x "$(fetch_deb "$out/debs" "$p" arm64)" "$work/gpiod"; done
for t in gpiodetect gpioinfo gpioget gpioset gpiomon; do cp "$work/gpiod/usr/bin/$t" "$root/usr/bin/"; done

# Text-to-speech for robotd's [tts] type = espeak: Debian's espeak-ng, its library and libsonic,
# with the data for English only (phoneme tables, the English dictionary, the English voices
# and the voice variants such as en+m3): espeak-ng-data's other languages are 12 of its 13 MB.
# The library looks for its data where Debian put it. libpcaudio.so.0 is not Debian's but
# tests/vm/pcaudio_stub.c (why: there).
for p in espeak-ng libespeak-ng1 libsonic0 espeak-ng-data; do
    dpkg-deb -x "$(fetch_deb "$out/debs" "$p" arm64)" "$work/espeak"
done
cp "$work/espeak/usr/bin/espeak-ng" "$root/usr/bin/"
edata=usr/lib/aarch64-linux-gnu/espeak-ng-data
mkdir -p "$root/$edata/lang/gmw"
for f in phontab phonindex phondata intonations en_dict; do cp "$work/espeak/$edata/$f" "$root/$edata/"; done
cp -r "$work/espeak/$edata/lang/gmw"/en* "$root/$edata/lang/gmw/"
mkdir -p "$root/$edata/voices"
cp -r "$work/espeak/$edata/voices/!v" "$root/$edata/voices/"
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -Wl,-soname,libpcaudio.so.0 \
    -o "$root/lib/libpcaudio.so.0" "$here/pcaudio_stub.c"

# Shared libraries, NEEDED by NEEDED: the cross toolchain's C and C++ runtime first (what
# the binary was linked against), then the :arm64 -dev packages' libraries, then those of the
# .debs unpacked above.
lib_dirs=(/usr/aarch64-linux-gnu/lib /usr/lib/aarch64-linux-gnu /lib/aarch64-linux-gnu
    "$work/gpiod/usr/lib/aarch64-linux-gnu" "$work/espeak/usr/lib/aarch64-linux-gnu")
copy_needed() {
    local lib d
    for lib in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [ ! -e "$root/lib/$lib" ] || continue
        for d in "${lib_dirs[@]}"; do
            if [ -e "$d/$lib" ]; then
                cp -L "$d/$lib" "$root/lib/$lib"
                copy_needed "$root/lib/$lib"
                continue 2
            fi
        done
        echo "make-image: $lib (needed by $1) not found" >&2
        exit 1
    done
}
copy_needed "$root/usr/bin/robotd"
copy_needed "$root/usr/bin/speaker-test"
copy_needed "$root/usr/bin/aplay"
copy_needed "$root/usr/bin/espeak-ng"
copy_needed "$root/usr/bin/mjpeg_feeder"
copy_needed "$root/usr/bin/board_probe"
for t in gpiodetect gpioinfo gpioget gpioset gpiomon; do copy_needed "$root/usr/bin/$t"; done

install -m 755 "$here/init" "$root/init"
echo "$kver" >"$out/kernel-version"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "make-image: $out: kernel $kver, $(wc -l <"$root/etc/modules") modules, initramfs $(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB"
