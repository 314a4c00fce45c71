SUMMARY = "robotd: the LetsRobot telepresence robot daemon"
DESCRIPTION = "Streams a robot's camera and microphone to LetsRobot and drives its motors \
from viewers' commands (GPIO, PCA9685, serial, MQTT)."
HOMEPAGE = "https://letsrobot.tv"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

# The committed state of the robotd repository this layer lives in (board/yocto/meta-robotd);
# point ROBOTD_GIT at any clone or use a https:// git URL with protocol=https and a SRCREV.
ROBOTD_GIT ??= "${ROBOTD_LAYERDIR}/../../.."
ROBOTD_BRANCH ??= "main"
SRC_URI = "git://${ROBOTD_GIT};protocol=file;branch=${ROBOTD_BRANCH}"
SRCREV ??= "${AUTOREV}"
PV = "1.0+git${SRCPV}"
S = "${WORKDIR}/git"

# The libraries the Makefile's system mode (SYSTEM_LIBS=1) links through pkg-config.
DEPENDS = "libwebsockets mbedtls cjson ffmpeg alsa-lib libgpiod libinih"

inherit pkgconfig systemd useradd

# The build runs the Makefile's system-library mode: pkg-config (with the recipe sysroot)
# finds every library, CC/CXX/AR/CXXFLAGS/LDFLAGS come from the environment.
EXTRA_OEMAKE = "SYSTEM_LIBS=1 SYSTEM_BUILD=build/yocto"

do_compile() {
    oe_runmake build/yocto/robotd
}

do_install() {
    install -D -m 0755 ${S}/build/yocto/robotd ${D}${bindir}/robotd
    install -D -m 0640 ${S}/board/${ROBOTD_BOARD}/robotd.conf ${D}${sysconfdir}/robotd/robotd.conf
    chgrp robotd ${D}${sysconfdir}/robotd/robotd.conf
    install -D -m 0644 ${S}/board/rootfs/robotd.service ${D}${systemd_system_unitdir}/robotd.service
    install -D -m 0755 ${S}/board/rootfs/S90robotd ${D}${sysconfdir}/init.d/S90robotd
    install -d -m 0750 -o robotd -g robotd ${D}${localstatedir}/lib/robotd
}

# Which board/<name>/robotd.conf becomes /etc/robotd/robotd.conf: rpi4, rpizero2w, rpi3, qemu-aarch64-virt.
ROBOTD_BOARD ??= "rpi4"

SYSTEMD_SERVICE:${PN} = "robotd.service"

USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "-r gpio; -r i2c"
USERADD_PARAM:${PN} = "-r -U -d ${localstatedir}/lib/robotd -s /bin/false \
    -G video,audio,gpio,i2c,dialout robotd"

CONFFILES:${PN} = "${sysconfdir}/robotd/robotd.conf"
FILES:${PN} += "${systemd_system_unitdir}/robotd.service ${sysconfdir}/init.d/S90robotd \
    ${localstatedir}/lib/robotd"
RDEPENDS:${PN} = "ca-certificates"
