# make install / make uninstall / make deb (included by the Makefile).
#   make install [PREFIX=/usr] [DESTDIR=...] [BOARD=rpi4] [INIT=systemd|busybox]
#     $(PREFIX)/bin/robotd; the systemd unit in /lib/systemd/system (PREFIX=/usr, Debian's
#     place; $(PREFIX)/lib/systemd/system otherwise; UNITDIR= overrides), or with
#     INIT=busybox /etc/init.d/S90robotd; /etc/robotd/robotd.conf only when there is none
#     (board/$(BOARD)/robotd.conf, default board/rootfs/robotd.conf); /var/lib/robotd.
#   make deb [CROSS=aarch64|armhf] [BOARD=rpi4]
#     build/deb/robotd_<version>_<arch>.deb (board/rootfs/make-deb.sh)

PREFIX ?= /usr
DESTDIR ?=
BOARD ?=
INIT ?= systemd
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
BOARD_CONF := $(if $(BOARD),board/$(BOARD)/robotd.conf,board/rootfs/robotd.conf)
ifneq ($(BOARD),)
ifeq ($(wildcard $(BOARD_CONF)),)
$(error unknown BOARD=$(BOARD): no $(BOARD_CONF))
endif
endif

.PHONY: install uninstall deb
install: $(BUILD)/robotd
	install -D -m 0755 $(BUILD)/robotd $(DESTDIR)$(PREFIX)/bin/robotd
ifeq ($(INIT),busybox)
	install -D -m 0755 board/rootfs/S90robotd $(DESTDIR)/etc/init.d/S90robotd
else
	@mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|/usr/bin/robotd|$(PREFIX)/bin/robotd|' board/rootfs/robotd.service \
	  >$(DESTDIR)$(UNITDIR)/robotd.service
	@chmod 0644 $(DESTDIR)$(UNITDIR)/robotd.service
endif
	@if [ -e $(DESTDIR)/etc/robotd/robotd.conf ]; then \
	  echo "install: kept $(DESTDIR)/etc/robotd/robotd.conf (compare with $(BOARD_CONF))"; \
	else \
	  echo "install -D -m 0644 $(BOARD_CONF) $(DESTDIR)/etc/robotd/robotd.conf"; \
	  install -D -m 0644 $(BOARD_CONF) $(DESTDIR)/etc/robotd/robotd.conf; \
	fi
	install -d -m 0750 $(DESTDIR)/var/lib/robotd
	@if [ -z "$(DESTDIR)" ] && ! id robotd >/dev/null 2>&1; then \
	  echo "install: no user robotd yet; the unit runs robotd as robotd: see README, Put it on your robot"; \
	fi

# The config and the state stay: they are the owner's.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/robotd $(DESTDIR)$(UNITDIR)/robotd.service \
	  $(DESTDIR)/etc/init.d/S90robotd

deb: $(BUILD)/robotd
	@board/rootfs/make-deb.sh $(DEB_ARCH) $(BUILD)/robotd $(BOARD_CONF) $(STRIP) build/deb
