# CMake toolchain file: cross-compile for 32-bit ARM hard-float (Debian armhf: ARMv7-A,
# Thumb-2, VFPv3-D16) with arm-linux-gnueabihf gcc and :armhf libraries
# (toolchain/install-deps.sh --arch armhf). ARMv6 boards (Pi 1, Zero) cannot run these.
set(ROBOTD_TRIPLET arm-linux-gnueabihf)
set(ROBOTD_QEMU qemu-arm-static)
set(CMAKE_SYSTEM_PROCESSOR arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
