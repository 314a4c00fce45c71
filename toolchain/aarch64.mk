# Make fragment: cross build for 64-bit ARM (`make CROSS=aarch64`) with Debian's
# crossbuild-essential-arm64 and :arm64 -dev packages (toolchain/install-deps.sh --arch aarch64).
ARCH          := aarch64
TRIPLET       := aarch64-linux-gnu
DEB_ARCH      := arm64
QEMU_BIN      := qemu-aarch64-static
include $(dir $(lastword $(MAKEFILE_LIST)))cross.mk
