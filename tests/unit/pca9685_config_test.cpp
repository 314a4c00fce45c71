// The [motor_hat] and [adafruit_pwm] keys: the reference sections read unchanged, robotd's own
// keys, range checks with file:line, and the keys accepted but not acted on.
#include <gtest/gtest.h>

#include "core/config.h"
#include "hw/driver.h"

namespace robotd {
namespace {

// The reference's [adafruit_pwm] and [motor_hat] keys with its default values.
constexpr const char* kReference =
    "[robot]\ntype = motor_hat\n"
    "[adafruit_pwm]\naddress=0x40\npwm_freq=60\nmore_debug=False\n"
    "[motor_hat]\nday_speed = 255\nnight_speed = 255\nturning_speed = 250\n"
    "forward=[-1,1,-1,1]\nleft=[1,1,1,1]\nslow_for_low_battery = false\n"
    "charge_hours = 3.0\ndischarge_hours = 8.0\nchargeCheckInterval=5\nchargeIONumber = 17\n";

std::string messages(const ConfigResult& r) {
    std::string out;
    for (const ConfigDiag& d : r.diags) out += d.where + ": " + d.message + "\n";
    return out;
}

TEST(Pca9685Config, TheReferenceSectionsReadUnchanged) {
    const ConfigResult r = parse_config(kReference, "letsrobot.conf");
    ASSERT_TRUE(r.ok()) << messages(r);
    const Config::MotorHat& m = r.config.motor_hat;
    EXPECT_EQ(m.day_speed, 255);
    EXPECT_EQ(m.night_speed, 255);
    EXPECT_EQ(m.turning_speed, 250);
    EXPECT_EQ(m.forward, (std::vector<double>{-1, 1, -1, 1}));
    EXPECT_EQ(m.left, (std::vector<double>{1, 1, 1, 1}));
    EXPECT_EQ(m.bus, "1");
    EXPECT_EQ(m.address, 0x60);
    EXPECT_EQ(r.config.adafruit_pwm.address, 0x40);
    EXPECT_EQ(r.config.adafruit_pwm.pwm_freq, 60);
    EXPECT_EQ(r.config.adafruit_pwm.esc_forward, 445);
    for (const char* type : {"motor_hat", "adafruit_pwm", "motor_hat,adafruit_pwm"}) {
        Config c = r.config;
        c.robot.type = type;
        EXPECT_EQ(check_driver_config(c), "") << type;
    }
    // The charge keys are charge sensing's; the battery guess is read but not acted on.
    const std::string text = messages(r);
    for (const char* key : {"slow_for_low_battery", "charge_hours", "discharge_hours"})
        EXPECT_NE(text.find(std::string("[motor_hat] ") + key +
                            ": accepted but not acted on by this version"),
                  std::string::npos)
            << key << "\n"
            << text;
    // Every [motor_hat] key is read now (the charge keys by charge sensing).
    EXPECT_NE(text.find("not used by this version of robotd: [adafruit_pwm] more_debug\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("unknown key"), std::string::npos) << text;
}

TEST(Pca9685Config, TheAddressIsHexAsTheReferenceReadIt) {
    // The reference: int(address, 16), so "41" is 0x41 there.
    EXPECT_EQ(parse_config("[adafruit_pwm]\naddress = 41\n", "t").config.adafruit_pwm.address,
              0x41);
    EXPECT_EQ(parse_config("[adafruit_pwm]\naddress = 0x7f\n", "t").ok(), false);
    // robotd's own [motor_hat] address follows [pca9685]: 0x.. hex, else decimal.
    EXPECT_EQ(
        parse_config("[motor_hat]\naddress = 0x61\nbus = i2c-3\n", "t").config.motor_hat.address,
        0x61);
}

TEST(Pca9685Config, DirectionsAndSpeedsAreRangeChecked) {
    const ConfigResult ok = parse_config(
        "[motor_hat]\nforward = [ 1, -1.0, 0.5 ,0]\nleft=[-0.5,1,1,-1]\nnight_speed=0\n", "t");
    ASSERT_TRUE(ok.ok()) << messages(ok);
    EXPECT_EQ(ok.config.motor_hat.forward, (std::vector<double>{1, -1, 0.5, 0}));
    EXPECT_EQ(ok.config.motor_hat.left, (std::vector<double>{-0.5, 1, 1, -1}));
    EXPECT_NE(format_config(ok.config).find("\nforward=[1,-1,0.5,0]\n"), std::string::npos);

    const ConfigResult bad = parse_config(
        "[motor_hat]\nforward = [1,1,1]\nleft = 1,1,1,1\nday_speed = 256\n"
        "turning_speed = -1\nforward = [2,1,1,1]\n[adafruit_pwm]\nesc_forward = 4097\n"
        "pwm_freq = 2000\n",
        "t.conf");
    EXPECT_FALSE(bad.ok());
    const std::string text = messages(bad);
    for (const char* where :
         {"t.conf:2: [motor_hat] forward: expected a list of 4 directions",
          "t.conf:3: [motor_hat] left: expected",
          "t.conf:4: [motor_hat] day_speed: expected a whole number 0..255",
          "t.conf:5: [motor_hat] turning_speed", "t.conf:6: [motor_hat] forward",
          "t.conf:8: [adafruit_pwm] esc_forward: expected a whole number of ticks 0..4096",
          "t.conf:9: [adafruit_pwm] pwm_freq"})
        EXPECT_NE(text.find(where), std::string::npos) << where << "\n" << text;
}

TEST(Pca9685Config, TheTickValuesCanBeOverridden) {
    const ConfigResult r = parse_config(
        "[adafruit_pwm]\nesc_forward = 450\nesc_neutral=340\nsteer_left = 280\nneg60 = 120\n"
        "bus = SMBus stub driver\n",
        "t");
    ASSERT_TRUE(r.ok()) << messages(r);
    EXPECT_EQ(r.config.adafruit_pwm.esc_forward, 450);
    EXPECT_EQ(r.config.adafruit_pwm.esc_neutral, 340);
    EXPECT_EQ(r.config.adafruit_pwm.steer_left, 280);
    EXPECT_EQ(r.config.adafruit_pwm.neg60, 120);
    EXPECT_EQ(r.config.adafruit_pwm.steer_right, 500);  // the reference's, unless set
    EXPECT_EQ(r.config.adafruit_pwm.bus, "SMBus stub driver");
    Config other = r.config;
    other.adafruit_pwm.esc_forward = 445;
    EXPECT_EQ(changed_keys(r.config, other),
              (std::vector<std::string>{"adafruit_pwm.esc_forward"}));
}

}  // namespace
}  // namespace robotd
