// The motor_hat preset on a real loop, the chip on the recording fake bus: each motor's PWM
// duty and IN1/IN2 after F, B, L, R and the stop, day and night speeds by an injected clock.
#include "hw/motor_hat.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "hw/pca9685.h"
#include "loop_harness.h"
#include "pca9685_fake_bus.h"
#include "stderr_capture.h"

namespace robotd {
namespace {

using Values = std::vector<int32_t>;

constexpr int kOn = 4096;
constexpr int at(int h, int m, int s = 0) {
    return (h * 60 + m) * 60 + s;
}

// Every motor's channels, M1..M4, each PWM, IN1, IN2.
const std::vector<int> kAllChannels = {8, 10, 9, 13, 11, 12, 2, 4, 3, 7, 5, 6};

class MotorHatTest : public LoopTest {
  protected:
    std::unique_ptr<MotorHatDriver> make(const std::string& section) {
        const ConfigResult r = parse_config(section, "t.conf");
        EXPECT_TRUE(r.ok());
        auto d = std::make_unique<MotorHatDriver>(
            loop_, log_, r.config.motor_hat,
            [&](const std::vector<int>& channels) {
                channels_ = channels;
                return std::make_unique<Pca9685Device>(channels, kMotorHatPwmFreq, "motor HAT",
                                                       fake_bus_opener(bus_));
            },
            [this] { return now_; });
        d->start();
        EXPECT_TRUE(run_until([&] { return d->worker().stats().up; }));
        return d;
    }
    DriveCommand cmd(const std::string& c) {
        DriveCommand d;
        d.command = c;
        return d;
    }
    // Runs `command` and waits for the chip to hold `expected` on kAllChannels.
    bool drives(MotorHatDriver& d, const std::string& command, const Values& expected) {
        if (command == "stop")
            d.stop(cmd(command));
        else
            d.command(cmd(command));
        const bool ok = run_until([&] { return bus_->channels(kAllChannels) == expected; });
        if (!ok)
            ADD_FAILURE() << command << " left the channels at "
                          << testing::PrintToString(bus_->channels(kAllChannels));
        return ok;
    }
    std::shared_ptr<BusScript> bus_ = std::make_shared<BusScript>();
    std::vector<int> channels_;
    int now_ = at(12, 0);
};

constexpr const char* kReference =
    "[motor_hat]\nday_speed = 200\nnight_speed = 100\nturning_speed = 250\n"
    "forward=[-1,1,-1,1]\nleft=[1,1,1,1]\n";

TEST_F(MotorHatTest, ForwardTurnAndStopSetEachMotorsBridgeAsAdafruitsLibrary) {
    auto d = make(kReference);
    EXPECT_EQ(channels_, kAllChannels);
    EXPECT_EQ(bus_->snapshot(), init_writes(3, kAllChannels, Values(12, 0)));  // 1600 Hz
    EXPECT_EQ(bus_->regs[pca9685::kPrescale], 3);
    // F: M1 and M3 backward (IN1 off, IN2 on), M2 and M4 forward (IN1 on, IN2 off), each PWM
    // at day_speed * 16.
    ASSERT_TRUE(drives(*d, "F", {3200, 0, kOn, 3200, kOn, 0, 3200, 0, kOn, 3200, kOn, 0}));
    // On the chip: IN1 of M2 (channel 11) always on, IN2 (12) always off.
    EXPECT_EQ(bus_->regs[0x06 + 4 * 11 + 1], 0x10);
    EXPECT_EQ(bus_->regs[0x06 + 4 * 12 + 3], 0x10);
    ASSERT_TRUE(drives(*d, "B", {3200, kOn, 0, 3200, 0, kOn, 3200, kOn, 0, 3200, 0, kOn}));
    // L: every motor forward at turning_speed; R: every motor backward.
    ASSERT_TRUE(drives(*d, "l", {4000, kOn, 0, 4000, kOn, 0, 4000, kOn, 0, 4000, kOn, 0}));
    ASSERT_TRUE(drives(*d, "R", {4000, 0, kOn, 4000, 0, kOn, 4000, 0, kOn, 4000, 0, kOn}));
    // The stop releases every motor (IN1 = IN2 = off) with its PWM off.
    ASSERT_TRUE(drives(*d, "stop", Values(12, 0)));
    EXPECT_EQ(d->pulse_ms("F"), std::nullopt);  // Motion's straight_delay / turn_delay
    EXPECT_TRUE(d->maps("b"));
    EXPECT_FALSE(d->maps("U"));
}

TEST_F(MotorHatTest, FAndBAreSlowerFrom2130To0930LocalTime) {
    auto d = make(kReference);
    const Values day = {3200, 0, kOn, 3200, kOn, 0, 3200, 0, kOn, 3200, kOn, 0};
    const Values night = {1600, 0, kOn, 1600, kOn, 0, 1600, 0, kOn, 1600, kOn, 0};
    const Values turn = {4000, kOn, 0, 4000, kOn, 0, 4000, kOn, 0, 4000, kOn, 0};
    const std::pair<int, const Values*> cases[] = {
        {at(21, 29, 59), &day}, {at(21, 30), &night}, {at(3, 0), &night},
        {at(9, 30), &night},    {at(9, 30, 1), &day}, {at(23, 59, 59), &night},
    };
    for (const auto& [time, expected] : cases) {
        now_ = time;
        ASSERT_TRUE(drives(*d, "F", *expected)) << time;
        ASSERT_TRUE(drives(*d, "stop", Values(12, 0)));
    }
    now_ = at(22, 0);
    ASSERT_TRUE(drives(*d, "L", turn));  // turns keep turning_speed at night
}

TEST_F(MotorHatTest, HalfDirectionsRunAtSpeed128AndZeroLeavesTheMotorReleased) {
    auto d = make("[motor_hat]\nday_speed = 255\nforward = [0.5,-0.5,0,1]\n");
    ASSERT_TRUE(drives(*d, "F", {2048, kOn, 0, 2048, 0, kOn, 0, 0, 0, 4080, kOn, 0}));
    ASSERT_TRUE(drives(*d, "B", {2048, 0, kOn, 2048, kOn, 0, 0, 0, 0, 4080, 0, kOn}));
}

TEST_F(MotorHatTest, TheTypeIsRegisteredAt0x60) {
    const ConfigResult r = parse_config(
        std::string("[robot]\ntype = motor_hat\n") + kReference + "bus = /nonexistent/i2c-1\n",
        "t");
    ASSERT_TRUE(r.ok());
    StderrCapture log;
    std::string error;
    auto d = make_driver(r.config, loop_, log_, &error);
    ASSERT_NE(d, nullptr) << error;
    EXPECT_STREQ(d->name(), "motor_hat");
    ASSERT_TRUE(run_until([&] { return log.count("trying again") >= 1; }));
    d.reset();
    log.restore();
    EXPECT_EQ(log.count("PCA9685 at 0x60 on /nonexistent/i2c-1: /nonexistent/i2c-1: No such file"),
              1u)
        << log.text();
}

}  // namespace
}  // namespace robotd
