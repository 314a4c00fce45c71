// A fake sysfs for the serial tests: a directory tree shaped like the kernel's /sys for USB
// serial adapters (no USB device can be plugged into this machine on demand), removed at
// the end. Links are relative, as the kernel's are.
#pragma once

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace robotd {

class FakeSysfs {
  public:
    FakeSysfs() {
        std::string tmpl = "/tmp/robotd-fake-sysfs-XXXXXX";
        if (mkdtemp(&tmpl[0])) root_ = tmpl;
        mkdirs(root_ + "/class/tty");
    }
    ~FakeSysfs() {
        nftw(
            root_.c_str(),
            [](const char* path, const struct stat*, int, FTW*) { return remove(path); }, 16,
            FTW_DEPTH | FTW_PHYS);
    }
    FakeSysfs(const FakeSysfs&) = delete;
    FakeSysfs& operator=(const FakeSysfs&) = delete;

    const std::string& root() const { return root_; }

    // The xHCI controller's root hub, usb1: it has the USB device files too (and its own
    // strings), so a lookup that walked past the adapter's device would find these.
    void add_hub() {
        usb_device("usb1", "1d6b", "Linux 6.1.0-18-arm64 xhci-hcd", "xHCI Host Controller",
                   "0000:00:04.0");
    }

    // An ftdi_sio adapter on USB device `dev` ("1-1"): /sys/class/tty/ttyUSB0 ->
    // ../../devices/.../usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0, whose device is the
    // usb-serial port 1-1:1.0/ttyUSB0.
    void add_ftdi(const std::string& tty, const std::string& dev, const std::string& manufacturer,
                  const std::string& product, const std::string& serial,
                  const std::string& devname = "") {
        const std::string usb = usb_device(dev, "0403", manufacturer, product, serial);
        const std::string port = usb + "/" + dev + ":1.0/" + tty;
        const std::string node = port + "/tty/" + tty;
        mkdirs(node);
        write(usb + "/" + dev + ":1.0/bInterfaceNumber", "00");
        link_tty(tty, node, devname, "../../../" + tty);
    }

    // A cdc_acm board on USB device `dev` ("1-1.2"): /sys/class/tty/ttyACM0 ->
    // .../1-1.2/1-1.2:1.0/tty/ttyACM0, whose device is the interface 1-1.2:1.0.
    void add_acm(const std::string& tty, const std::string& dev, const std::string& manufacturer,
                 const std::string& product, const std::string& serial) {
        const std::string usb = usb_device(dev, "2341", manufacturer, product, serial);
        const std::string intf = usb + "/" + dev + ":1.0";
        const std::string node = intf + "/tty/" + tty;
        mkdirs(node);
        write(intf + "/bInterfaceNumber", "00");
        link_tty(tty, node, "", "../../../" + dev + ":1.0");
    }

    // A PC UART: a device link, but no USB device above it.
    void add_uart(const std::string& tty) {
        const std::string node = root_ + "/devices/platform/serial8250/tty/" + tty;
        mkdirs(node);
        link_tty(tty, node, "", "../../../serial8250");
    }

    // A virtual terminal: no device link at all.
    void add_virtual(const std::string& tty) {
        const std::string node = root_ + "/devices/virtual/tty/" + tty;
        mkdirs(node);
        link_tty(tty, node, "", "");
    }

    // The adapter unplugged: its class link goes (the device tree may linger a moment).
    void unplug(const std::string& tty) { unlink((root_ + "/class/tty/" + tty).c_str()); }

  private:
    // The directory of USB device `dev` under the controller: "1-1.2" is below hub "1-1",
    // "1-1" below root hub "usb1". Hubs on the way are made as such.
    std::string usb_device(const std::string& dev, const std::string& vendor,
                           const std::string& manufacturer, const std::string& product,
                           const std::string& serial) {
        const std::string dir = usb_path(dev);
        mkdirs(dir);
        write(dir + "/idVendor", vendor);
        write(dir + "/idProduct", "6001");
        if (!manufacturer.empty()) write(dir + "/manufacturer", manufacturer);
        if (!product.empty()) write(dir + "/product", product);
        if (!serial.empty()) write(dir + "/serial", serial);
        return dir;
    }

    std::string usb_path(const std::string& dev) const {
        const std::string controller = root_ + "/devices/pci0000:00/0000:00:04.0";
        if (dev.rfind("usb", 0) == 0) return controller + "/" + dev;
        const size_t dot = dev.rfind('.');
        const std::string parent =
            dot != std::string::npos ? dev.substr(0, dot) : "usb" + dev.substr(0, dev.find('-'));
        const std::string up = usb_path(parent);
        struct stat st;
        if (stat((up + "/idVendor").c_str(), &st) != 0) {  // a hub on the way
            mkdirs(up);
            write(up + "/idVendor", "1d6b");
            write(up + "/product", "USB 2.0 Hub");
        }
        return up + "/" + dev;
    }

    void link_tty(const std::string& tty, const std::string& node, const std::string& devname,
                  const std::string& device) {
        write(node + "/uevent",
              "MAJOR=188\nMINOR=0\nDEVNAME=" + (devname.empty() ? tty : devname) + "\n");
        if (!device.empty() && symlink(device.c_str(), (node + "/device").c_str()) != 0)
            ADD_FAILURE() << "symlink " << node << "/device";
        // class/tty/X is two levels below the root.
        const std::string target = "../.." + node.substr(root_.size());
        if (symlink(target.c_str(), (root_ + "/class/tty/" + tty).c_str()) != 0)
            ADD_FAILURE() << "symlink class/tty/" << tty;
    }

    static void write(const std::string& path, const std::string& text) {
        std::ofstream(path) << text << "\n";
    }

    static void mkdirs(const std::string& path) {
        for (size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
            mkdir(path.substr(0, at).c_str(), 0755);
            if (at == std::string::npos) break;
        }
    }

    std::string root_;
};

}  // namespace robotd
