#!/usr/bin/env bash
# Builds out-of-tree kernel modules for the board's kernel, with the cross compiler against
# that kernel's own headers (Debian's arm64 kernel builds none of them):
#   vim2m         the virtual V4L2 mem2mem device (CONFIG_VIDEO_VIM2M is not set), from the
#                 kernel's own source of vim2m.c (linux-source, same version)
#   v4l2loopback  a V4L2 device whose capture side gives what a program writes to its output
#                 side, from Debian's v4l2loopback-dkms (the board's MJPEG camera)
#   gpio-sim      a GPIO chip made through configfs whose inputs a test pulls from sysfs
#                 (CONFIG_GPIO_SIM is not set), with the interrupt simulator it needs linked
#                 in (CONFIG_IRQ_SIM is not set either), both from the kernel's own source
#   i2c-stub      an I2C adapter with fake SMBus chips whose registers read back what was
#                 written (CONFIG_I2C_STUB is not set), from the kernel's own source
#
# usage: tests/vm/build-modules.sh OUTDIR KERNEL_DEB MODULE...
#   KERNEL_DEB  the linux-image-*-arm64 .deb the board boots (its name and version select
#               the headers, the kbuild tools and the kernel source, all at exactly that version)
# Prints the path of each module, OUTDIR/MODULE/VERSION/MODULE.ko, one a line in the order
# asked; each is kept and reused while it is newer than this script. The .debs it needs are
# fetched (apt-get download) into OUTDIR/debs and kept there, so a rebuild needs no network.
# Nothing is installed: the packages are unpacked into a scratch directory.
set -euo pipefail
out=$(realpath -m "$1")
kdeb=$(realpath "$2")
shift 2
[ $# -gt 0 ] || { echo "usage: $0 OUTDIR KERNEL_DEB MODULE..." >&2; exit 2; }

kpkg=$(dpkg-deb -f "$kdeb" Package)       # linux-image-6.1.0-50-arm64
version=$(dpkg-deb -f "$kdeb" Version)    # 6.1.176-1
kver=${kpkg#linux-image-}                 # 6.1.0-50-arm64
upstream=${version%-*}                    # 6.1.176
series=$(echo "$upstream" | cut -d. -f1,2) # 6.1: the source and kbuild packages' suffix
ko() { echo "$out/$1/$version/$1.ko"; }

# Up to date: nothing to build.
stale=()
for m in "$@"; do
    case $m in vim2m | v4l2loopback | gpio-sim | i2c-stub) ;; *) echo "build-modules: unknown module $m" >&2; exit 2 ;; esac
    { [ -e "$(ko "$m")" ] && [ "$(ko "$m")" -nt "$0" ]; } || stale+=("$m")
done
if [ ${#stale[@]} -eq 0 ]; then
    for m in "$@"; do ko "$m"; done
    exit 0
fi

# shellcheck source=tests/vm/debs.sh
. "$(dirname "$0")/debs.sh"
# Pinned to the kernel's version (headers, kbuild and source come from the same upload)
# when a version is given.
fetch() { fetch_deb "$out/debs" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
x=$work/x

# The arm64 headers (config, Module.symvers for modversions, generated headers) need the
# common headers of the same ABI, and the host's kbuild tools (fixdep, modpost, genksyms
# run here, so linux-kbuild is the native-arch package, not arm64's).
hdeb=$(fetch "linux-headers-$kver" arm64 "$version")
common=$(dpkg-deb -f "$hdeb" Depends | grep -o 'linux-headers-[^ ,]*-common' | head -1)
[ -n "$common" ] || { echo "build-modules: no -common headers in $hdeb's Depends" >&2; exit 1; }
cdeb=$(fetch "$common" all "$version")
kbdeb=$(fetch "linux-kbuild-$series" "$(dpkg --print-architecture)" "$version")
for d in "$hdeb" "$cdeb" "$kbdeb"; do dpkg-deb -x "$d" "$x"; done

# The packages expect to sit in /: the flavour's Makefile includes the common one by its
# absolute /usr/src path, and absolute symlinks point into /usr. Point both into $x instead.
headers=$x/usr/src/linux-headers-$kver
sed -i "s|^include /usr/src/|include $x/usr/src/|" "$headers/Makefile"
grep -q "^include $x/" "$headers/Makefile" ||
    { echo "build-modules: unexpected $headers/Makefile:" >&2; cat "$headers/Makefile" >&2; exit 1; }
while IFS= read -r link; do
    target=$(readlink "$link")
    case $target in /*) ln -sfn "$x$target" "$link" ;; esac
done < <(find "$x" -type l)

# The members of the kernel's source the modules below take, extracted together on first
# use: the source is a ~140 MB tar.xz, streamed out of the .deb once, never written to disk
# whole.
kernel_members=(drivers/media/test-drivers/vim2m.c drivers/gpio/gpio-sim.c drivers/gpio/gpiolib.h
    kernel/irq/irq_sim.c drivers/i2c/i2c-stub.c)
kernel_source() {
    local sdeb
    if [ ! -d "$work/linux" ]; then
        sdeb=$(fetch "linux-source-$series" all "$version")
        mkdir -p "$work/linux"
        dpkg-deb --fsys-tarfile "$sdeb" | tar -xO "./usr/src/linux-source-$series.tar.xz" |
            tar -xJ -C "$work/linux" --strip-components=1 --wildcards "${kernel_members[@]/#/*/}"
    fi
    echo "$work/linux/$1"
}

# Each module's sources, copied into DIR; a Kbuild of its own when it is more than one file.
source_vim2m() {
    cp "$(kernel_source drivers/media/test-drivers/vim2m.c)" "$1/"
}
source_gpio-sim() {
    # gpio-sim.c includes gpiolib's private header. irq_sim.c joins it in the module under
    # its own name; it calls handle_simple_irq(irq_to_desc(irq)), but irq_to_desc is not
    # exported to modules: generic_handle_irq(irq) runs the same handler (the one irq_sim
    # sets for each of its interrupts) and is exported.
    cp "$(kernel_source drivers/gpio/gpio-sim.c)" "$1/gpio-sim-main.c"
    cp "$(kernel_source drivers/gpio/gpiolib.h)" "$(kernel_source kernel/irq/irq_sim.c)" "$1/"
    sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$1/irq_sim.c"
    grep -q 'generic_handle_irq(irqnum);' "$1/irq_sim.c" ||
        { echo "build-modules: irq_sim.c no longer calls handle_simple_irq(irq_to_desc(...))" >&2; exit 1; }
    printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\n' >"$1/Kbuild"
}
source_i2c-stub() {
    cp "$(kernel_source drivers/i2c/i2c-stub.c)" "$1/"
}
source_v4l2loopback() {
    # The DKMS package's source (bookworm: 0.12.7); its Makefile is for DKMS, not needed.
    local ddeb src
    ddeb=$(fetch v4l2loopback-dkms all)
    dpkg-deb -x "$ddeb" "$work/dkms"
    src=$(ls -d "$work/dkms/usr/src/v4l2loopback-"* | head -1)
    cp "$src"/v4l2loopback.c "$src"/v4l2loopback_formats.h "$1/"
}

# An outer make's MAKEFLAGS (its command-line variables, e.g. CC=...) must not leak into the
# kernel's make. The headers' .kernelvariables set CC to $(CROSS_COMPILE)gcc-12, the
# compiler the kernel was built with. The modules are left unsigned: the kernel has
# CONFIG_MODULE_SIG but not MODULE_SIG_FORCE, so they load (and taint the kernel).
for m in "${stale[@]}"; do
    dir=$work/m/$m
    mkdir -p "$dir"
    "source_$m" "$dir"
    [ -e "$dir/Kbuild" ] || echo "obj-m := $m.o" >"$dir/Kbuild"
    if ! env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS -u MAKELEVEL \
        make -C "$headers" M="$dir" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- modules \
        >"$work/make-$m.log" 2>&1; then
        cat "$work/make-$m.log" >&2
        echo "build-modules: make of $m failed" >&2
        exit 1
    fi
    # Only the module for the current kernel is kept.
    rm -rf "${out:?}/$m"
    mkdir -p "$(dirname "$(ko "$m")")"
    cp "$dir/$m.ko" "$(ko "$m").tmp"
    mv "$(ko "$m").tmp" "$(ko "$m")"
    echo "build-modules: $(ko "$m"): $(strings -a "$(ko "$m")" | sed -n 's/^vermagic=//p' | head -1)" >&2
done
for m in "$@"; do ko "$m"; done
