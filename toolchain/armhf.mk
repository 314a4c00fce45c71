# Make fragment: cross build for 32-bit ARM hard-float (`make CROSS=armhf`) with Debian's
# crossbuild-essential-armhf and :armhf -dev packages (toolchain/install-deps.sh --arch armhf).
# Debian armhf's compiler defaults (ARMv7-A, Thumb-2, VFPv3-D16, hard float) are kept:
# no ARCH_CFLAGS needed. ARMv6 boards (Pi 1, Zero) need a Buildroot/Yocto toolchain instead.
TOOLCHAIN_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ARCH          := armhf
TRIPLET       := arm-linux-gnueabihf
CROSS_PREFIX  := $(TRIPLET)-
CC            := $(CROSS_PREFIX)gcc
CXX           := $(CROSS_PREFIX)g++
AR            := $(CROSS_PREFIX)gcc-ar
RANLIB        := $(CROSS_PREFIX)gcc-ranlib
STRIP         := $(CROSS_PREFIX)strip
# pkg-config that sees only the target's .pc files.
PKG_CONFIG    := PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_LIBDIR=/usr/lib/$(TRIPLET)/pkgconfig:/usr/share/pkgconfig pkg-config
DEB_ARCH      := armhf
# Runs a cross-built program on the host: $(QEMU) ./prog args
QEMU          := qemu-arm-static -L /usr/$(TRIPLET)
ARCH_CFLAGS   :=
ARCH_LDFLAGS  :=
CMAKE_TOOLCHAIN_FILE := $(TOOLCHAIN_DIR)/armhf.cmake
