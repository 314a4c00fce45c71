# Shared body of the cross toolchain files: Debian's cross gcc (crossbuild-essential-*)
# with the target's libraries from Debian multiarch (pkg:arm64 / pkg:armhf -dev packages).
# The including file sets ROBOTD_TRIPLET and CMAKE_SYSTEM_PROCESSOR first.

set(CMAKE_SYSTEM_NAME Linux)

set(CMAKE_C_COMPILER   ${ROBOTD_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${ROBOTD_TRIPLET}-g++)
# gcc-ar/gcc-ranlib also handle LTO objects.
set(CMAKE_AR     ${ROBOTD_TRIPLET}-gcc-ar     CACHE FILEPATH "archiver")
set(CMAKE_RANLIB ${ROBOTD_TRIPLET}-gcc-ranlib CACHE FILEPATH "ranlib")
set(CMAKE_STRIP  ${ROBOTD_TRIPLET}-strip      CACHE FILEPATH "strip")

# Debian multiarch: target libraries live in /usr/lib/<triplet>, arch-specific headers in
# /usr/include/<triplet>, shared headers in /usr/include; the cross libc in /usr/<triplet>.
# CMAKE_LIBRARY_ARCHITECTURE makes find_library() look in lib/<triplet> under each root
# and never in the host's own /usr/lib/<host triplet>.
set(CMAKE_LIBRARY_ARCHITECTURE ${ROBOTD_TRIPLET})
set(CMAKE_FIND_ROOT_PATH /usr/${ROBOTD_TRIPLET} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools run on the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config sees only the target's .pc files (and arch-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${ROBOTD_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Cross-built test programs (ctest, try_run) run under qemu-user-static.
set(CMAKE_CROSSCOMPILING_EMULATOR ${ROBOTD_QEMU} -L /usr/${ROBOTD_TRIPLET})
