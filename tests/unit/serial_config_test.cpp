// The [serial] keys of the reference layout: defaults, values, the baud rate range-checked
// at file:line, and a serial_board robot passing the runnable check without its board.
#include <gtest/gtest.h>

#include <string>

#include "core/config.h"
#include "hw/driver.h"
#include "hw/serial_port.h"
#include "robot/daemon.h"

using namespace robotd;

namespace {
std::string dump(const ConfigResult& r) {
    std::string out;
    for (const ConfigDiag& d : r.diags) out += d.where + ": " + d.message + "\n";
    return out;
}

constexpr const char* kRobot = "[robot]\nrobot_id=r\ncamera_id=c\ntype=serial_board\n";
}  // namespace

TEST(SerialConfig, DefaultsAreTheReferenceOnes) {
    const Config c;
    EXPECT_EQ(c.serial.serial_device, "/dev/ttyACM0");
    EXPECT_EQ(c.serial.serial_name, "");
    EXPECT_EQ(c.serial.baud_rate, 9600);
}

TEST(SerialConfig, ReferenceSectionIsReadWithoutDiagnostics) {
    const ConfigResult r = parse_config(std::string(kRobot) +
                                            "[serial]\nserial_device=/dev/ttyUSB1\n"
                                            "SERIAL_NAME = CH340\nbaud_rate=115200\n",
                                        "s.conf");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.diags.empty()) << dump(r);  // read and acted on: no "not used" notice
    EXPECT_EQ(r.config.serial.serial_device, "/dev/ttyUSB1");
    EXPECT_EQ(r.config.serial.serial_name, "CH340");
    EXPECT_EQ(r.config.serial.baud_rate, 115200);
    EXPECT_EQ(check_runnable(r.config), "");
    const std::string shown = format_config(r.config);
    EXPECT_NE(shown.find("[serial]\nserial_device=/dev/ttyUSB1\nserial_name=CH340\n"
                         "baud_rate=115200\n"),
              std::string::npos)
        << shown;
}

TEST(SerialConfig, TheAliasTypeIsRunnable) {
    Config c;
    c.robot.robot_id = "r";
    c.robot.camera_id = "c";
    c.robot.type = "serial";
    EXPECT_EQ(check_runnable(c), "");
}

TEST(SerialConfig, OnlyStandardBaudRatesAreAccepted) {
    for (const char* bad : {"9601", "0", "-9600", "fast", "9600.0", "", "4000001", "115200 8N1"}) {
        const ConfigResult r =
            parse_config(std::string(kRobot) + "[serial]\nbaud_rate=" + bad + "\n", "b.conf");
        EXPECT_FALSE(r.ok()) << bad;
        ASSERT_EQ(r.diags.size(), 1u) << dump(r);
        EXPECT_EQ(r.diags[0].where, "b.conf:6") << bad;
        EXPECT_EQ(r.diags[0].message.rfind("[serial] baud_rate: expected a standard serial rate in "
                                           "bit/s: 50, 75,",
                                           0),
                  0u)
            << r.diags[0].message;
        EXPECT_EQ(r.config.serial.baud_rate, 9600) << "unchanged";
    }
    for (const int good :
         {50,     75,     110,     134,     150,     200,     300,     600,     1200,    1800,
          2400,   4800,   9600,    19200,   38400,   57600,   115200,  230400,  460800,  500000,
          576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000}) {
        const ConfigResult r = parse_config(
            std::string(kRobot) + "[serial]\nbaud_rate=" + std::to_string(good) + "\n", "g.conf");
        ASSERT_TRUE(r.ok()) << dump(r);
        EXPECT_EQ(r.config.serial.baud_rate, good);
        // Every rate the config takes has a termios speed for the port.
        speed_t speed;
        EXPECT_TRUE(baud_to_speed(good, &speed)) << good;
    }
    speed_t speed;
    EXPECT_FALSE(baud_to_speed(9601, &speed));
}

TEST(SerialConfig, ASighupSeesTheSerialKeysChange) {
    Config a, b;
    b.serial.serial_name = "arduino";
    b.serial.baud_rate = 57600;
    const std::vector<std::string> changed = changed_keys(a, b);
    EXPECT_EQ(changed, (std::vector<std::string>{"serial.serial_name", "serial.baud_rate"}));
}
