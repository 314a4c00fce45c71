// The `pca9685` type: the [pca9685] map through MapDriver, the device worker and the chip, on
// a real loop with the recording fake bus; a bus that stops answering mid-command; the
// registry's check and a bus that is not there.
#include <gtest/gtest.h>

#include "core/config.h"
#include "hw/map_driver.h"
#include "hw/pca9685.h"
#include "loop_harness.h"
#include "pca9685_fake_bus.h"
#include "stderr_capture.h"

namespace robotd {
namespace {

using Strings = std::vector<std::string>;

class Pca9685DriverTest : public LoopTest {
  protected:
    std::unique_ptr<MapDriver> make(const std::string& text) {
        const ConfigResult r = parse_config(text, "t.conf");
        EXPECT_TRUE(r.ok());
        const Config::Pca9685& c = r.config.pca9685;
        auto d = std::make_unique<MapDriver>(
            loop_, log_, "pca9685", c.map.commands, c.map.safe,
            [&](const std::vector<int>& channels) {
                return std::make_unique<Pca9685Device>(channels, c.pwm_freq, "PCA9685 at 0x40",
                                                       fake_bus_opener(bus_));
            },
            std::vector<int>{}, RetryRules{10, 100, 1000});
        d->start();
        EXPECT_TRUE(run_until([&] { return d->worker().stats().up; }));
        return d;
    }
    DriveCommand cmd(const std::string& c) {
        DriveCommand d;
        d.command = c;
        return d;
    }
    std::shared_ptr<BusScript> bus_ = std::make_shared<BusScript>();
};

TEST_F(Pca9685DriverTest, TheMapDrivesTheChannelsAndTheStopMakesThemSafe) {
    auto d = make("[pca9685]\npwm_freq = 1000\nF = 0=full 1=2048\nB = 1=off 0=100\nsafe = 1=300\n");
    EXPECT_EQ(d->outputs(), (std::vector<int>{1, 0}));
    EXPECT_EQ(bus_->snapshot(), init_writes(5, {1, 0}, {300, 0}));
    d->command(cmd("f"));
    ASSERT_TRUE(run_until([&] {
        return bus_->channels({0, 1}) == std::vector<int32_t>{4096, 2048};
    }));
    d->command(cmd("B"));
    ASSERT_TRUE(run_until([&] { return bus_->channels({0, 1}) == std::vector<int32_t>{100, 0}; }));
    d->stop(cmd("stop"));
    ASSERT_TRUE(run_until([&] { return bus_->channels({0, 1}) == std::vector<int32_t>{0, 300}; }));
    run_for(30);
    const size_t n = bus_->size();
    d.reset();  // already safe: nothing more to write
    EXPECT_EQ(bus_->size(), n);
}

TEST_F(Pca9685DriverTest, ABusErrorMidCommandIsALossThenTheChipIsSetUpAgainSafeFirst) {
    StderrCapture log;
    auto d = make("[pca9685]\nF = 0=4096 1=2048\n");
    {
        std::lock_guard<std::mutex> l(bus_->m);
        bus_->writes_before_failure = 3;  // channel 0's last register is not taken ...
        bus_->failing_writes = 2;         // ... nor close's try at making it safe
    }
    const size_t before = bus_->size();
    d->command(cmd("F"));
    ASSERT_TRUE(run_until([&] { return !d->worker().stats().up; }));
    ASSERT_TRUE(run_until([&] { return d->worker().stats().up; }));
    log.restore();
    const Strings all = bus_->snapshot();
    const Strings after(all.begin() + before, all.end());
    Strings expected = {"w 06=00", "w 07=10", "w 08=00", "w 09 failed", "w 09 failed"};
    for (const std::string& w : init_writes(pca9685::prescale_for(60), {0, 1}, {0, 0}))
        expected.push_back(w);
    EXPECT_EQ(after, expected);
    EXPECT_EQ(bus_->channels({0, 1}), (std::vector<int32_t>{0, 0}));
    EXPECT_EQ(log.count("PCA9685 at 0x40 lost: no answer from 0x60 on /dev/i2c-1 (Remote I/O "
                        "error); motors considered stopped, reopening"),
              1u)
        << log.text();
    EXPECT_EQ(log.count("PCA9685 at 0x40 is back"), 1u) << log.text();
    // Driven again after the reopen, as any command.
    d->command(cmd("F"));
    ASSERT_TRUE(run_until([&] {
        return bus_->channels({0, 1}) == std::vector<int32_t>{4096, 2048};
    }));
}

TEST_F(Pca9685DriverTest, TheTypeIsRegisteredAndAMissingBusIsRetriedWithOneLine) {
    const ConfigResult r = parse_config(
        "[robot]\ntype = pca9685\n[pca9685]\nbus = /nonexistent/i2c-9\n"
        "address = 0x41\nF = 0=4096\n",
        "t.conf");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(check_driver_config(r.config), "");
    Config empty = r.config;
    empty.pca9685.map.commands.clear();
    EXPECT_EQ(check_driver_config(empty),
              "[pca9685] maps no command: type pca9685 needs at least one, such as 'F = 0=4096 "
              "1=0' (CHANNEL=TICKS ...)");

    StderrCapture log;
    std::string error;
    auto d = make_driver(r.config, loop_, log_, &error);
    ASSERT_NE(d, nullptr) << error;  // the chip may come later: robotd runs meanwhile
    EXPECT_STREQ(d->name(), "pca9685");
    EXPECT_TRUE(d->maps("f"));
    ASSERT_TRUE(run_until([&] { return log.count("trying again") >= 1; }));
    d.reset();
    log.restore();
    EXPECT_EQ(log.count("PCA9685 at 0x41 on /nonexistent/i2c-9: /nonexistent/i2c-9: No such file "
                        "or directory (is I2C enabled, and the i2c-dev module loaded?); trying "
                        "again in"),
              1u)
        << log.text();
}

TEST(Pca9685Types, OneChipTakesOneType) {
    const ConfigResult r = parse_config(
        "[robot]\ntype = motor_hat, pca9685\n[pca9685]\nbus = i2c-1\naddress = 0x60\nF = 0=4096\n"
        "[motor_hat]\nbus = 1\n",
        "t.conf");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(check_driver_config(r.config),
              "types pca9685 and motor_hat both drive the PCA9685 at 0x60 on i2c-1: one chip "
              "takes one type (set [motor_hat] bus or address)");
    Config two = r.config;
    two.motor_hat.address = 0x61;  // a second HAT, its address jumper set
    EXPECT_EQ(check_driver_config(two), "");
    two.robot.type = "motor_hat,adafruit_pwm";
    two.adafruit_pwm.address = 0x61;
    EXPECT_NE(check_driver_config(two), "");
    two.robot.type = "motor_hat";  // [adafruit_pwm] is not used: no conflict
    EXPECT_EQ(check_driver_config(two), "");
}

}  // namespace
}  // namespace robotd
