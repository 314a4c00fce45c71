# robotd: host and cross builds, tests, the local demo.
#   make                  build build/host/robotd
#   make CROSS=aarch64    build build/aarch64/robotd (also CROSS=armhf)
#   make test             install what is missing, build, run every test suite
#   make run              install what is missing, build, start the local peer and robotd
#   make soak MINUTES=N   the chaos soak (faults of every kind), N minutes
#                         (ARGS="-v" passes options on to robotd)
#   make bench            benchmarks against the reference (printed, not asserted)
# Every target that needs packages runs toolchain/install-deps.sh first (a no-op when
# everything is there).

CROSS ?=
ARCH := $(if $(CROSS),$(CROSS),host)
.DEFAULT_GOAL := all
ifeq ($(wildcard toolchain/$(ARCH).mk),)
$(error unknown CROSS=$(CROSS): expected aarch64 or armhf)
endif
include toolchain/$(ARCH).mk

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

CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -Wno-missing-field-initializers $(ARCH_CFLAGS)
CPPFLAGS += -Isrc -I$(LWS)/include $(MEDIA_CFLAGS) -MMD -MP
LDLIBS = $(LWS_LIB) $(MEDIA_LIBS) -lmbedtls -lmbedx509 -lmbedcrypto -linih -lcjson -lpthread

SRCS := $(shell find src -name '*.cpp' ! -name main.cpp | sort)
OBJS := $(SRCS:%.cpp=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/src/main.o
UNIT_SRCS := $(sort $(wildcard tests/unit/*.cpp))
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/obj/%.o)

.PHONY: all deps deps-peer test run soak bench bench-board clean format qemu-smoke vm-image
all: $(BUILD)/robotd

deps:
	@toolchain/install-deps.sh --arch $(ARCH)

$(LWS_LIB): third_party/libwebsockets/build.sh third_party/libwebsockets/SHA256SUMS | deps
	third_party/libwebsockets/build.sh $(ARCH)

$(BUILD)/obj/%.o: %.cpp | $(LWS_LIB) $(FFMPEG_LIB)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/librobotd.a: $(OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/robotd: $(MAIN_OBJ) $(BUILD)/librobotd.a $(LWS_LIB) $(FFMPEG_LIB)
	$(CXX) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(BUILD)/librobotd.a $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/librobotd.a $(LWS_LIB)
	$(CXX) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(BUILD)/librobotd.a $(LDLIBS) -lgtest -lgtest_main

# A probe on the real socket.io client, for the integration tests.
$(BUILD)/sio-probe: $(BUILD)/obj/tests/integration/sio_probe.o $(BUILD)/librobotd.a $(LWS_LIB)
	$(CXX) $(LDFLAGS) -o $@ $< $(BUILD)/librobotd.a $(LDLIBS)

# Tests and the demo also need the peer's npm packages.
deps-peer:
	@toolchain/install-deps.sh --arch $(ARCH) --npm

test: deps-peer $(BUILD)/robotd $(BUILD)/unit-tests $(BUILD)/sio-probe
	@tests/run-all.sh

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

-include $(OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d) $(BUILD)/obj/tests/integration/sio_probe.d
