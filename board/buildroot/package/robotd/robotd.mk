################################################################################
#
# robotd
#
################################################################################

# Built from the robotd tree this br2-external lives in (board/buildroot): for a release,
# use ROBOTD_SITE = a git URL, ROBOTD_SITE_METHOD = git, ROBOTD_VERSION = its tag.
ROBOTD_VERSION = 1.0
ROBOTD_SITE = $(BR2_EXTERNAL_ROBOTD_PATH)/../..
ROBOTD_SITE_METHOD = local
# The tree's own build outputs and the test peer's npm packages are not sources.
ROBOTD_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude build --exclude node_modules
ROBOTD_LICENSE = MIT
ROBOTD_DEPENDENCIES = host-pkgconf libwebsockets mbedtls cjson libinih alsa-lib libgpiod ffmpeg

# robotd's mqtt_pub driver runs on lws' MQTT client role, which lws leaves off by default
# (without it robotd still builds, and type mqtt_pub is a config error that says why).
LIBWEBSOCKETS_CONF_OPTS += -DLWS_ROLE_MQTT=ON

ROBOTD_BOARD = $(call qstrip,$(BR2_PACKAGE_ROBOTD_BOARD))

# The Makefile's system-library mode: pkg-config (Buildroot's, with the staging sysroot)
# finds every library; CC/CXX/AR/CXXFLAGS/LDFLAGS come from TARGET_CONFIGURE_OPTS.
define ROBOTD_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(TARGET_CONFIGURE_OPTS) $(MAKE) -C $(@D) \
		SYSTEM_LIBS=1 SYSTEM_BUILD=build/buildroot build/buildroot/robotd
endef

define ROBOTD_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/build/buildroot/robotd $(TARGET_DIR)/usr/bin/robotd
	$(INSTALL) -D -m 0640 $(@D)/board/$(ROBOTD_BOARD)/robotd.conf \
		$(TARGET_DIR)/etc/robotd/robotd.conf
endef

# The config holds the robot's API key: readable by root and the robotd group only.
define ROBOTD_PERMISSIONS
	/etc/robotd/robotd.conf f 640 root robotd - - - - -
endef

define ROBOTD_USERS
	robotd -1 robotd -1 * /var/lib/robotd - video,audio,gpio,i2c,dialout robotd daemon
endef

define ROBOTD_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/board/rootfs/robotd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/robotd.service
endef

define ROBOTD_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/board/rootfs/S90robotd $(TARGET_DIR)/etc/init.d/S90robotd
endef

$(eval $(generic-package))
