# Make fragment: cross build for 64-bit ARM (`make CROSS=aarch64`) with Debian's
# crossbuild-essential-arm64 and :arm64 -dev packages (toolchain/install-deps.sh --arch aarch64).
TOOLCHAIN_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ARCH          := aarch64
TRIPLET       := aarch64-linux-gnu
CROSS_PREFIX  := $(TRIPLET)-
CC            := $(CROSS_PREFIX)gcc
CXX           := $(CROSS_PREFIX)g++
AR            := $(CROSS_PREFIX)gcc-ar
RANLIB        := $(CROSS_PREFIX)gcc-ranlib
STRIP         := $(CROSS_PREFIX)strip
# pkg-config that sees only the target's .pc files.
PKG_CONFIG    := PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_LIBDIR=/usr/lib/$(TRIPLET)/pkgconfig:/usr/share/pkgconfig pkg-config
DEB_ARCH      := arm64
# Runs a cross-built program on the host: $(QEMU) ./prog args
QEMU          := qemu-aarch64-static -L /usr/$(TRIPLET)
ARCH_CFLAGS   :=
ARCH_LDFLAGS  :=
CMAKE_TOOLCHAIN_FILE := $(TOOLCHAIN_DIR)/aarch64.cmake
