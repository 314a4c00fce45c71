// Finds a USB serial port by what its USB device says of itself in sysfs (manufacturer,
// product, serial number): a board's /dev name changes, and there may be no udev to name it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace robotd {

struct UsbSerialPort {
    std::string tty;           // the class name: "ttyUSB0", "ttyACM0"
    std::string dev_name;      // its node under /dev (uevent's DEVNAME; usually the same)
    std::string manufacturer;  // as the USB device's sysfs files show them; empty if absent
    std::string product;
    std::string serial;
};

// Every tty under `sysfs_root`/class/tty whose device sits below a USB device (the first
// directory up from it holding idVendor: 1-1 for an ftdi_sio ttyUSB0, 1-1.2 for a cdc_acm
// ttyACM0), in tty name order. Only sysfs reads: a USB device's strings are cached by the
// kernel at enumeration, so nothing here talks to the device. `sysfs_root` is "/sys" but
// for tests.
std::vector<UsbSerialPort> list_usb_serial_ports(const std::string& sysfs_root);

// The first port whose manufacturer, product or serial number contains `name`, ignoring
// ASCII case; null when none does (or `name` is empty).
const UsbSerialPort* match_usb_serial(const std::vector<UsbSerialPort>& ports,
                                      std::string_view name);

// For a log line: "ttyACM0 (Arduino LLC / Arduino Uno / 7523733353635), ttyUSB0 (...)",
// or "no USB serial devices".
std::string describe_usb_serial_ports(const std::vector<UsbSerialPort>& ports);

}  // namespace robotd
