# Make fragment shared by the cross builds: aarch64.mk and armhf.mk set ARCH, TRIPLET,
# DEB_ARCH and QEMU_BIN, then include this for everything that follows from them.
TOOLCHAIN_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

CROSS_PREFIX  := $(TRIPLET)-
CC            := $(CROSS_PREFIX)gcc
CXX           := $(CROSS_PREFIX)g++
AR            := $(CROSS_PREFIX)gcc-ar
RANLIB        := $(CROSS_PREFIX)gcc-ranlib
STRIP         := $(CROSS_PREFIX)strip
# pkg-config that sees only the target's .pc files.
PKG_CONFIG    := PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_LIBDIR=/usr/lib/$(TRIPLET)/pkgconfig:/usr/share/pkgconfig pkg-config
# Runs a cross-built program on the host: $(QEMU) ./prog args
# -E LD_LIBRARY_PATH: with only -L, qemu pairs the cross toolchain's loader with the
# foreign-arch libc6 the :arch -dev packages bring, and threaded programs hang or crash.
QEMU          := $(QEMU_BIN) -L /usr/$(TRIPLET) -E LD_LIBRARY_PATH=/usr/$(TRIPLET)/lib
ARCH_CFLAGS   ?=
ARCH_LDFLAGS  ?=
CMAKE_TOOLCHAIN_FILE := $(TOOLCHAIN_DIR)/$(ARCH).cmake
