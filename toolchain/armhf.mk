# Make fragment: cross build for 32-bit ARM hard-float (`make CROSS=armhf`) with Debian's
# crossbuild-essential-armhf and :armhf -dev packages (toolchain/install-deps.sh --arch armhf).
# Debian armhf's compiler defaults (ARMv7-A, Thumb-2, VFPv3-D16, hard float) are kept:
# no ARCH_CFLAGS needed. ARMv6 boards (Pi 1, Zero) need a Buildroot/Yocto toolchain instead.
ARCH          := armhf
TRIPLET       := arm-linux-gnueabihf
DEB_ARCH      := armhf
QEMU_BIN      := qemu-arm-static
include $(dir $(lastword $(MAKEFILE_LIST)))cross.mk
