#include "hw/usb_serial_find.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "core/text.h"
#include "core/unique_fd.h"

namespace robotd {

namespace {

// A USB device's strings are at most 126 UTF-16 characters: this is room enough.
constexpr size_t kMaxAttr = 1024;
// ttyUSB0/tty/ttyUSB0 -> ttyUSB0 -> 1-1:1.0 -> 1-1: a few steps; more is not a USB serial.
constexpr int kMaxWalkUp = 8;

std::string real_path(const std::string& path) {
    char buf[PATH_MAX];
    return realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

bool exists(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

// A sysfs attribute's text without its trailing newline; empty when absent.
std::string read_attr(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) return {};
    std::string text(kMaxAttr, '\0');
    const ssize_t n = read(fd.get(), &text[0], text.size());
    text.resize(n > 0 ? size_t(n) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == '\0'))
        text.pop_back();
    return text;
}

// The DEVNAME= line of a uevent file ("ttyUSB0"), or empty.
std::string dev_name_of(const std::string& uevent_path) {
    const std::string text = read_attr(uevent_path);
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        const std::string_view line(text.data() + at, end - at);
        if (line.rfind("DEVNAME=", 0) == 0) return std::string(line.substr(8));
        at = end + 1;
    }
    return {};
}

// The USB device directory above `dir` (inside `root`), or empty.
std::string usb_device_above(std::string dir, const std::string& root) {
    for (int i = 0; i <= kMaxWalkUp; ++i) {
        if (dir.size() <= root.size() || dir.compare(0, root.size() + 1, root + "/") != 0)
            return {};
        if (exists(dir + "/idVendor")) return dir;
        dir.erase(dir.rfind('/'));
    }
    return {};
}

bool contains_nocase(const std::string& text, const std::string& lowered_needle) {
    return !text.empty() && lower(text).find(lowered_needle) != std::string::npos;
}

// readdir() below ends early, as if the directory were empty, when 32-bit off_t/ino_t
// cannot hold a cookie or inode (EOVERFLOW): the Makefile builds with -D_FILE_OFFSET_BITS=64.
static_assert(sizeof(off_t) == 8 && sizeof(ino_t) == 8, "build with -D_FILE_OFFSET_BITS=64");

}  // namespace

std::vector<UsbSerialPort> list_usb_serial_ports(const std::string& sysfs_root) {
    std::vector<UsbSerialPort> ports;
    const std::string root = real_path(sysfs_root);
    if (root.empty()) return ports;
    const std::string class_dir = root + "/class/tty";
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(class_dir.c_str()), closedir);
    if (!dir) return ports;
    while (const dirent* e = readdir(dir.get())) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        // Virtual terminals and ptys have no device link; serial8250 and platform UARTs
        // have one, but no USB device above it.
        const std::string device = real_path(class_dir + "/" + name + "/device");
        if (device.empty()) continue;
        const std::string usb = usb_device_above(device, root);
        if (usb.empty()) continue;
        UsbSerialPort port;
        port.tty = name;
        port.dev_name = dev_name_of(class_dir + "/" + name + "/uevent");
        if (port.dev_name.empty() || port.dev_name.find("..") != std::string::npos)
            port.dev_name = name;
        port.manufacturer = read_attr(usb + "/manufacturer");
        port.product = read_attr(usb + "/product");
        port.serial = read_attr(usb + "/serial");
        ports.push_back(std::move(port));
    }
    std::sort(ports.begin(), ports.end(),
              [](const UsbSerialPort& a, const UsbSerialPort& b) { return a.tty < b.tty; });
    return ports;
}

const UsbSerialPort* match_usb_serial(const std::vector<UsbSerialPort>& ports,
                                      std::string_view name) {
    if (name.empty()) return nullptr;
    const std::string needle = lower(name);
    for (const UsbSerialPort& port : ports) {
        if (contains_nocase(port.manufacturer, needle) || contains_nocase(port.product, needle) ||
            contains_nocase(port.serial, needle))
            return &port;
    }
    return nullptr;
}

std::string describe_usb_serial_ports(const std::vector<UsbSerialPort>& ports) {
    if (ports.empty()) return "no USB serial devices";
    std::string out;
    for (const UsbSerialPort& port : ports) {
        if (!out.empty()) out += ", ";
        const auto shown = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
        out += port.tty + " (" + shown(port.manufacturer) + " / " + shown(port.product) + " / " +
               shown(port.serial) + ")";
    }
    return out;
}

}  // namespace robotd
