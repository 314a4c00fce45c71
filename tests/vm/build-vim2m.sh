#!/usr/bin/env bash
# Builds vim2m.ko, the virtual V4L2 mem2mem device, for the board's kernel: Debian's arm64
# kernel does not build it (CONFIG_VIDEO_VIM2M is not set), so it is built out of tree with
# the cross compiler against that kernel's own headers and its own source of vim2m.c.
#
# usage: tests/vm/build-vim2m.sh OUTDIR KERNEL_DEB
#   KERNEL_DEB  the linux-image-*-arm64 .deb the board boots (its name and version select
#               the headers, the kbuild tools and the source, all at exactly that version)
# Prints the path of the module, OUTDIR/vim2m/VERSION/vim2m.ko, which is kept and reused
# while it is newer than this script. The .debs it needs are fetched (apt-get download) into
# OUTDIR/debs and kept there, so a rebuild needs no network. Nothing is installed: the
# packages are unpacked into a scratch directory.
set -euo pipefail
out=$(realpath -m "$1")
kdeb=$(realpath "$2")

kpkg=$(dpkg-deb -f "$kdeb" Package)       # linux-image-6.1.0-50-arm64
version=$(dpkg-deb -f "$kdeb" Version)    # 6.1.176-1
kver=${kpkg#linux-image-}                 # 6.1.0-50-arm64
upstream=${version%-*}                    # 6.1.176
series=$(echo "$upstream" | cut -d. -f1,2) # 6.1: the source and kbuild packages' suffix
ko=$out/vim2m/$version/vim2m.ko

if [ -e "$ko" ] && [ "$ko" -nt "$0" ]; then
    echo "$ko"
    exit 0
fi

mkdir -p "$out/debs"
fetch() {  # name arch version -> path of its .deb in $out/debs
    # Pinned to the kernel's version: headers, kbuild and source come from the same upload.
    local deb=$out/debs/${1}_${3//:/%3a}_$2.deb spec=$1
    [ "$2" = all ] || spec=$1:$2
    if [ ! -e "$deb" ]; then
        # apt-get download writes to the working directory; as root it warns about _apt.
        (cd "$out/debs" && apt-get download -q "$spec=$3" >/dev/null 2>&1) ||
            { echo "build-vim2m: apt-get download $spec=$3 failed" >&2; exit 1; }
    fi
    echo "$deb"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
x=$work/x

# The arm64 headers (config, Module.symvers for modversions, generated headers) need the
# common headers of the same ABI, and the host's kbuild tools (fixdep, modpost, genksyms
# run here, so linux-kbuild is the native-arch package, not arm64's).
hdeb=$(fetch "linux-headers-$kver" arm64 "$version")
common=$(dpkg-deb -f "$hdeb" Depends | grep -o 'linux-headers-[^ ,]*-common' | head -1)
[ -n "$common" ] || { echo "build-vim2m: no -common headers in $hdeb's Depends" >&2; exit 1; }
cdeb=$(fetch "$common" all "$version")
kbdeb=$(fetch "linux-kbuild-$series" "$(dpkg --print-architecture)" "$version")
for d in "$hdeb" "$cdeb" "$kbdeb"; do dpkg-deb -x "$d" "$x"; done

# The packages expect to sit in /: the flavour's Makefile includes the common one by its
# absolute /usr/src path, and absolute symlinks point into /usr. Point both into $x instead.
headers=$x/usr/src/linux-headers-$kver
sed -i "s|^include /usr/src/|include $x/usr/src/|" "$headers/Makefile"
grep -q "^include $x/" "$headers/Makefile" ||
    { echo "build-vim2m: unexpected $headers/Makefile:" >&2; cat "$headers/Makefile" >&2; exit 1; }
while IFS= read -r link; do
    target=$(readlink "$link")
    case $target in /*) ln -sfn "$x$target" "$link" ;; esac
done < <(find "$x" -type l)

# vim2m.c from the kernel's source, the only member needed of a ~140 MB tar.xz: streamed
# out of the .deb, never written to disk whole.
sdeb=$(fetch "linux-source-$series" all "$version")
mkdir -p "$work/src" "$work/m"
dpkg-deb --fsys-tarfile "$sdeb" | tar -xO "./usr/src/linux-source-$series.tar.xz" |
    tar -xJ -C "$work/src" --wildcards '*/drivers/media/test-drivers/vim2m.c'
cp "$work/src"/*/drivers/media/test-drivers/vim2m.c "$work/m/"
echo 'obj-m := vim2m.o' >"$work/m/Kbuild"

# An outer make's MAKEFLAGS (its command-line variables, e.g. CC=...) must not leak into the
# kernel's make. The headers' .kernelvariables set CC to $(CROSS_COMPILE)gcc-12, the
# compiler the kernel was built with. The module is left unsigned: the kernel has
# CONFIG_MODULE_SIG but not MODULE_SIG_FORCE, so it loads (and taints the kernel).
if ! env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS -u MAKELEVEL \
    make -C "$headers" M="$work/m" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- modules \
    >"$work/make.log" 2>&1; then
    cat "$work/make.log" >&2
    echo "build-vim2m: make failed" >&2
    exit 1
fi

# Only the module for the current kernel is kept.
rm -rf "$out/vim2m"
mkdir -p "$(dirname "$ko")"
cp "$work/m/vim2m.ko" "$ko.tmp"
mv "$ko.tmp" "$ko"
echo "build-vim2m: $ko: $(strings -a "$ko" | sed -n 's/^vermagic=//p' | head -1)" >&2
echo "$ko"
