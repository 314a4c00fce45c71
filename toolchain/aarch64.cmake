# CMake toolchain file: cross-compile for 64-bit ARM (Raspberry Pi 3/4/5, arm64 images)
# with Debian's aarch64-linux-gnu gcc and :arm64 libraries (toolchain/install-deps.sh --arch aarch64).
set(ROBOTD_TRIPLET aarch64-linux-gnu)
set(ROBOTD_QEMU qemu-aarch64-static)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
