# Make fragment: native build on the Debian host (`make`). Same variables as aarch64.mk and
# armhf.mk, so the top Makefile includes toolchain/$(CROSS or host).mk and uses only these.
TOOLCHAIN_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ARCH          := host
CROSS_PREFIX  :=
# CC/CXX/AR may come from the command line or environment (e.g. CC=clang); else gcc.
ifneq ($(filter default undefined,$(origin CC)),)
CC            := gcc
endif
ifneq ($(filter default undefined,$(origin CXX)),)
CXX           := g++
endif
ifneq ($(filter default undefined,$(origin AR)),)
AR            := ar
endif
RANLIB        ?= ranlib
STRIP         ?= strip
PKG_CONFIG    ?= pkg-config
DEB_ARCH      := $(shell dpkg --print-architecture 2>/dev/null)
TRIPLET       := $(shell $(CC) -print-multiarch 2>/dev/null)
QEMU          :=
ARCH_CFLAGS   :=
ARCH_LDFLAGS  :=
CMAKE_TOOLCHAIN_FILE :=
