// serial_name matching against a fake sysfs: a directory tree shaped like the kernel's for a
// QEMU usb-serial (ftdi_sio, ttyUSB0), an Arduino (cdc_acm, ttyACM0), a PC UART (serial8250,
// no USB above it) and a virtual terminal (no device link), each behind its xHCI root hub.
#include "hw/usb_serial_find.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "serial_fake_sysfs.h"

using namespace robotd;

TEST(SerialFind, ListsUsbTtysWithTheirUsbDeviceStrings) {
    FakeSysfs sys;
    sys.add_hub();
    sys.add_ftdi("ttyUSB0", "1-1", "FTDI", "FT232R USB UART", "A50285BI");
    sys.add_acm("ttyACM0", "1-3.2", "Arduino (www.arduino.cc)", "Arduino Uno",
                "75237333536351F0F0");
    sys.add_uart("ttyS0");
    sys.add_virtual("tty1");

    const std::vector<UsbSerialPort> ports = list_usb_serial_ports(sys.root());
    ASSERT_EQ(ports.size(), 2u) << describe_usb_serial_ports(ports);
    // In tty name order, whatever order readdir gave.
    EXPECT_EQ(ports[0].tty, "ttyACM0");
    EXPECT_EQ(ports[0].dev_name, "ttyACM0");
    EXPECT_EQ(ports[0].manufacturer, "Arduino (www.arduino.cc)");
    EXPECT_EQ(ports[0].product, "Arduino Uno");
    EXPECT_EQ(ports[0].serial, "75237333536351F0F0");
    EXPECT_EQ(ports[1].tty, "ttyUSB0");
    // The strings of the device 1-1, not of the root hub usb1 above it (which has them too).
    EXPECT_EQ(ports[1].manufacturer, "FTDI");
    EXPECT_EQ(ports[1].product, "FT232R USB UART");
    EXPECT_EQ(ports[1].serial, "A50285BI");
    EXPECT_EQ(describe_usb_serial_ports(ports),
              "ttyACM0 (Arduino (www.arduino.cc) / Arduino Uno / 75237333536351F0F0), "
              "ttyUSB0 (FTDI / FT232R USB UART / A50285BI)");
}

TEST(SerialFind, MatchesManufacturerProductOrSerialIgnoringCase) {
    FakeSysfs sys;
    sys.add_hub();
    sys.add_ftdi("ttyUSB0", "1-1", "FTDI", "FT232R USB UART", "A50285BI");
    sys.add_acm("ttyACM0", "1-3.2", "Arduino (www.arduino.cc)", "Arduino Uno", "7523733353");
    const std::vector<UsbSerialPort> ports = list_usb_serial_ports(sys.root());

    const auto match = [&](const char* name) -> std::string {
        const UsbSerialPort* p = match_usb_serial(ports, name);
        return p ? p->tty : "";
    };
    EXPECT_EQ(match("ftdi"), "ttyUSB0");         // manufacturer, other case
    EXPECT_EQ(match("ft232r usb"), "ttyUSB0");   // product, a substring
    EXPECT_EQ(match("a50285bi"), "ttyUSB0");     // serial number
    EXPECT_EQ(match("ARDUINO UNO"), "ttyACM0");  // product
    EXPECT_EQ(match("7523733353"), "ttyACM0");   // serial number
    // Both have "u" somewhere: the first in tty order wins.
    EXPECT_EQ(match("U"), "ttyACM0");
    EXPECT_EQ(match("CH340"), "");
    EXPECT_EQ(match("xHCI"), "");  // the root hub's product is not a serial port's
    EXPECT_EQ(match(""), "");
}

TEST(SerialFind, DevNameComesFromUevent) {
    FakeSysfs sys;
    sys.add_hub();
    sys.add_ftdi("ttyUSB3", "1-1", "FTDI", "FT232R USB UART", "A1", "serial/ttyUSB3");
    const std::vector<UsbSerialPort> ports = list_usb_serial_ports(sys.root());
    ASSERT_EQ(ports.size(), 1u);
    EXPECT_EQ(ports[0].dev_name, "serial/ttyUSB3");
}

TEST(SerialFind, MissingStringsAndMissingRootAreNotErrors) {
    FakeSysfs sys;
    sys.add_hub();
    sys.add_acm("ttyACM0", "1-1.4", "", "", "");  // a cheap board that names nothing
    const std::vector<UsbSerialPort> ports = list_usb_serial_ports(sys.root());
    ASSERT_EQ(ports.size(), 1u);
    EXPECT_EQ(describe_usb_serial_ports(ports), "ttyACM0 (- / - / -)");
    EXPECT_EQ(match_usb_serial(ports, "a"), nullptr);

    EXPECT_TRUE(list_usb_serial_ports(sys.root() + "/nowhere").empty());
    EXPECT_EQ(describe_usb_serial_ports({}), "no USB serial devices");
}
