# robotd: host and cross builds, tests, the local demo.
#   make                  build build/host/robotd
#   make CROSS=aarch64    build build/aarch64/robotd (also CROSS=armhf)
#   make test             install what is missing, build, run every test suite
#   make run              install what is missing, build, start the local peer and robotd
#   make soak MINUTES=N   the chaos soak (faults of every kind), N minutes
#                         (ARGS="-v" passes options on to robotd)
#   make bench            benchmarks against the reference (printed, not asserted)
#   make install          install robotd, its systemd unit and config (board/rootfs/install.mk)
#   make deb              build/deb/robotd_<version>_<arch>.deb (also with CROSS=...)
#   make SYSTEM_LIBS=1    build against the system's libraries (pkg-config), in build/<arch>-system
#   make test-system      robotd tested against Debian 12's and Debian 13's libraries
# Every target that needs packages runs toolchain/install-deps.sh first (a no-op when
# everything is there).

# One compile per CPU unless `make -jN` says otherwise (before this, `make test` built
# everything on one core).
# Not with clean among the goals: `make clean all` must not clean while it builds.
ifeq ($(filter -j%,$(MAKEFLAGS))$(filter clean,$(MAKECMDGOALS)),)
MAKEFLAGS += -j$(shell nproc)
endif

CROSS ?=
ARCH := $(if $(CROSS),$(CROSS),host)
.DEFAULT_GOAL := all
ifeq ($(wildcard toolchain/$(ARCH).mk),)
$(error unknown CROSS=$(CROSS): expected aarch64 or armhf)
endif
include toolchain/$(ARCH).mk

# SYSTEM_LIBS=1: link the libraries the system ships, found through $(PKG_CONFIG) (a Buildroot
# or Yocto recipe sets PKG_CONFIG, PKG_CONFIG_SYSROOT_DIR/LIBDIR and CC/CXX/AR/CXXFLAGS/LDFLAGS
# in the environment), in a build directory of its own; nothing of third_party/ is built and
# nothing is installed. The default stays the pinned third_party/ builds.
SYSTEM_LIBS ?=
ifeq ($(SYSTEM_LIBS),1)
BUILD := $(or $(SYSTEM_BUILD),build/$(ARCH)-system)
# The pkg-config modules robotd links in system mode (tests/images/check.sh compares this list
# with board/buildroot and board/yocto). libavdevice is used when there (the host's test
# inputs); mbedTLS 2.28 ships no .pc files, 3.x does: without them, plain -l flags.
SYSTEM_PC_MODULES := libwebsockets libcjson inih alsa libgpiod \
  libavformat libavcodec libswscale libswresample libavutil
SYSTEM_PC_OPTIONAL := libavdevice mbedtls
SYSTEM_PC_MISSING := $(strip $(foreach m,$(SYSTEM_PC_MODULES),$(if $(shell $(PKG_CONFIG) --exists $(m) && echo y),,$(m))))
ifneq ($(SYSTEM_PC_MISSING),)
$(error SYSTEM_LIBS=1: pkg-config ($(PKG_CONFIG)) finds no $(SYSTEM_PC_MISSING): install their -dev packages or set PKG_CONFIG_LIBDIR)
endif
SYSTEM_AVDEVICE := $(shell $(PKG_CONFIG) --exists libavdevice && echo libavdevice)
SYSTEM_MBEDTLS_PC := $(shell $(PKG_CONFIG) --exists mbedtls mbedx509 mbedcrypto && echo mbedtls mbedx509 mbedcrypto)
SYSTEM_PC := $(SYSTEM_AVDEVICE) $(SYSTEM_PC_MODULES) $(SYSTEM_MBEDTLS_PC)
MEDIA_DEFS := $(if $(SYSTEM_AVDEVICE),-DROBOTD_HAVE_AVDEVICE=1)
CPPFLAGS += -Isrc $(shell $(PKG_CONFIG) --cflags $(SYSTEM_PC)) $(MEDIA_DEFS) -MMD -MP
LDLIBS := $(shell $(PKG_CONFIG) --libs $(SYSTEM_PC)) \
  $(if $(SYSTEM_MBEDTLS_PC),,-lmbedtls -lmbedx509 -lmbedcrypto) -lm -lpthread
# libgpiod 2.x has another API: src/hw/gpio_lines.cpp has both, picked from the version.
GPIOD_CFLAGS := $(if $(filter 2.%,$(shell $(PKG_CONFIG) --modversion libgpiod)),-DROBOTD_GPIOD_V2)
THIRD_PARTY :=
else
BUILD := build/$(ARCH)
LWS := $(BUILD)/lws
LWS_LIB := $(LWS)/lib/libwebsockets.a

# Media libraries: a minimal static FFmpeg built from Debian's own source (third_party/ffmpeg),
# on the host too: Debian's libav* would drag some 200 shared libraries (OpenSSL among
# them) into robotd. The host's build adds libav's lavfi/v4l2/alsa inputs for tests and demos.
# Recursive (=) so pkg-config runs only after `deps` has installed what it asks about.
FFMPEG := $(BUILD)/ffmpeg
FFMPEG_LIB := $(FFMPEG)/lib/libavformat.a
FFMPEG_LIBS := libavformat.a libavcodec.a libswscale.a libswresample.a libavutil.a
ifeq ($(ARCH),host)
FFMPEG_LIBS := libavdevice.a libavfilter.a $(FFMPEG_LIBS)
MEDIA_DEFS := -DROBOTD_HAVE_AVDEVICE=1
endif
MEDIA_CFLAGS = -I$(FFMPEG)/include $(MEDIA_DEFS) $(shell $(PKG_CONFIG) --cflags alsa)
MEDIA_LIBS = $(addprefix $(FFMPEG)/lib/,$(FFMPEG_LIBS)) $(shell $(PKG_CONFIG) --libs alsa) -lm
$(FFMPEG_LIB): third_party/ffmpeg/build.sh third_party/ffmpeg/SHA256SUMS | deps
	third_party/ffmpeg/build.sh $(ARCH)

# ROBOTD_LWS_PATCHED: this lws 4.1.6 has robotd's MQTT fixes (src/hw/mqtt_driver.cpp asks).
CPPFLAGS += -Isrc -I$(LWS)/include -DROBOTD_LWS_PATCHED=1 $(MEDIA_CFLAGS) -MMD -MP
LDLIBS = $(LWS_LIB) $(MEDIA_LIBS) -lmbedtls -lmbedx509 -lmbedcrypto -linih -lcjson \
  $(shell $(PKG_CONFIG) --libs libgpiod) -lpthread

# libgpiod 1.x and 2.x have different APIs: src/hw/gpio_lines.cpp has both, chosen here.
GPIOD_CFLAGS = $(shell $(PKG_CONFIG) --cflags libgpiod) \
  $(if $(filter 2.%,$(shell $(PKG_CONFIG) --modversion libgpiod)),-DROBOTD_GPIOD_V2)
# Built before any object: the objects include their headers.
THIRD_PARTY = $(LWS_LIB) $(FFMPEG_LIB)

$(LWS_LIB): third_party/libwebsockets/build.sh third_party/libwebsockets/SHA256SUMS | deps
	third_party/libwebsockets/build.sh $(ARCH)
endif

# -g1: line tables for backtraces from a board; full -g made every compile half as slow again.
CXXFLAGS ?= -O2 -g1
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -Wno-missing-field-initializers $(ARCH_CFLAGS)
# 64-bit off_t/ino_t on 32-bit targets (armhf), a no-op on 64-bit ones: without it readdir()
# and stat() fail with EOVERFLOW on a filesystem with 64-bit inodes or directory cookies.
CPPFLAGS += -D_FILE_OFFSET_BITS=64
$(BUILD)/obj/src/hw/gpio_lines.o: CPPFLAGS += $(GPIOD_CFLAGS)

SRCS := $(shell find src -name '*.cpp' ! -name main.cpp | sort)
OBJS := $(SRCS:%.cpp=$(BUILD)/obj/%.o)
# The board pin maps (board/<name>/pins) are compiled in: a generated source holds their text.
BOARD_PINS := $(sort $(wildcard board/*/pins))
PINS_SRC := $(BUILD)/gen/board_pins.cpp
OBJS += $(BUILD)/obj/gen/board_pins.o
MAIN_OBJ := $(BUILD)/obj/src/main.o
UNIT_SRCS := $(sort $(wildcard tests/unit/*.cpp))
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/obj/%.o)

.PHONY: all deps deps-peer test test-system run soak bench bench-board clean format qemu-smoke vm-image
all: $(BUILD)/robotd

deps:
	@toolchain/install-deps.sh --arch $(ARCH)

$(BUILD)/obj/%.o: %.cpp | $(THIRD_PARTY)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

# Test code (not what goes on a robot) is compiled for build speed: the code under test in
# librobotd.a keeps CXXFLAGS. -Og after CXXFLAGS wins over its -O2; it halves these compiles.
TEST_CXXFLAGS ?= -Og -g0
$(BUILD)/obj/tests/%.o: tests/%.cpp | $(THIRD_PARTY)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(TEST_CXXFLAGS) -c $< -o $@

$(PINS_SRC): $(BOARD_PINS) Makefile
	@mkdir -p $(@D)
	@{ echo '// Generated by the Makefile from board/*/pins: do not edit.'; \
	  echo '#include "hw/pin_map.h"'; \
	  echo 'namespace robotd {'; \
	  echo 'const BuiltinPinMap kBuiltinPinMaps[] = {'; \
	  for f in $(BOARD_PINS); do \
	    n=$${f#board/}; printf '{"%s", R"robotd_pins(' "$${n%/pins}"; cat "$$f"; echo ')robotd_pins"},'; \
	  done; \
	  echo '};'; \
	  echo 'const size_t kBuiltinPinMapCount = sizeof kBuiltinPinMaps / sizeof kBuiltinPinMaps[0];'; \
	  echo '}  // namespace robotd'; } >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/board_pins.o: $(PINS_SRC)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/librobotd.a: $(OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/robotd: $(MAIN_OBJ) $(BUILD)/librobotd.a $(THIRD_PARTY)
	$(CXX) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(BUILD)/librobotd.a $(LDLIBS)
	@# What goes on the board: the stripped size and the shared libraries the image must have.
	@$(STRIP) -o $@.stripped $@ && echo "robotd ($(ARCH)): $$(stat -c %s $@.stripped) bytes stripped; needs:" \
	  "$$(readelf -d $@ | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"; rm -f $@.stripped

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/librobotd.a $(THIRD_PARTY)
	$(CXX) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(BUILD)/librobotd.a $(LDLIBS) -lgtest -lgtest_main

# A probe on the real socket.io client, for the integration tests.
$(BUILD)/sio-probe: $(BUILD)/obj/tests/integration/sio_probe.o $(BUILD)/librobotd.a $(THIRD_PARTY)
	$(CXX) $(LDFLAGS) -o $@ $< $(BUILD)/librobotd.a $(LDLIBS)

# Stands in for systemd's notify socket in the integration tests (node has no AF_UNIX datagrams).
$(BUILD)/notify-sink: $(BUILD)/obj/tests/integration/notify_sink.o
	$(CXX) $(LDFLAGS) -o $@ $<

# Tests and the demo also need the peer's npm packages.
# After deps: two installs at once would fight over dpkg's lock on a fresh machine.
deps-peer: deps
	@toolchain/install-deps.sh --arch $(ARCH) --npm

test: deps-peer $(BUILD)/robotd $(BUILD)/unit-tests $(BUILD)/sio-probe $(BUILD)/notify-sink
	@tests/run-all.sh

# System-library mode proven on this host, for two distributions' library sets built from their
# own source packages (tests/system/run.sh): Debian 12's (lws 4.1.6 unpatched, mbedTLS 2.28,
# libgpiod 1.6) and Debian 13's (lws 4.3.5, mbedTLS 3.6.6, libgpiod 2.2.1), each with robotd's
# unit tests and an integration subset; built once into build/system/<set> and reused.
test-system:
	@rc=0; tests/system/run.sh deb12 || rc=1; tests/system/run.sh deb13 || rc=1; exit $$rc

# ARGS: options for robotd, e.g. make run ARGS="-v".
ARGS ?=
# The chaos soak (tests/soak): `make soak MINUTES=60`; `make test` runs 5 minutes of it.
MINUTES ?= 10
soak: deps-peer $(BUILD)/robotd
	node tests/soak/soak.mjs --minutes $(MINUTES)

run: deps-peer $(BUILD)/robotd
	@tests/run-local.sh $(ARGS)

# The daemon for this ARCH starts and reads a whole file in the reference layout, the
# project's own fixture (under qemu-user for a cross build): more than linking.
qemu-smoke: all
	$(QEMU) $(BUILD)/robotd --version
	$(QEMU) $(BUILD)/robotd --check-config --config tests/fixtures/letsrobot.conf >/dev/null

# The virtual board (tests/vm): Debian's arm64 kernel and an initramfs with the aarch64 robotd,
# for QEMU's 'virt' machine. make-image.sh does nothing when its outputs are up to date.
vm-image:
	@toolchain/install-deps.sh --vm
	@$(MAKE) --no-print-directory CROSS=aarch64 all
	@tests/vm/make-image.sh build/aarch64/robotd build/vm

# Benchmarks print figures; they assert nothing.
bench: deps-peer $(BUILD)/robotd
	node tests/bench/command_latency.mjs
	node tests/bench/media_bench.mjs

# robotd on the virtual board, native V4L2 and ALSA capture: CPU, peak RSS, latency; and
# command emit -> GPIO line / PCA9685 channel change on the board.
bench-board: deps-peer vm-image
	node tests/bench/board_bench.mjs
	node tests/bench/drive_latency_board.mjs

format:
	clang-format -i $(SRCS) src/main.cpp $(wildcard src/*/*.h) $(UNIT_SRCS)

clean:
	rm -rf build/host/obj build/aarch64/obj build/armhf/obj build/*/robotd build/*/*.a build/*/unit-tests

include board/rootfs/install.mk

-include $(OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d) $(BUILD)/obj/tests/integration/sio_probe.d \
  $(BUILD)/obj/tests/integration/notify_sink.d
