// The adafruit_pwm preset on a real loop, the chip on the recording fake bus: the ESC and
// steering steps of each command with their times, the held servo on channel 2, stops.
#include "hw/adafruit_pwm.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "hw/map_driver.h"
#include "hw/pca9685.h"
#include "loop_harness.h"
#include "pca9685_fake_bus.h"
#include "stderr_capture.h"

namespace robotd {
namespace {

// One channel taking a value: the device writes a channel's four registers one after another.
struct Change {
    int channel;
    int32_t value;
    int64_t at_us;
};

std::vector<Change> changes(BusScript& bus, size_t from_write) {
    std::lock_guard<std::mutex> l(bus.m);
    std::vector<Change> out;
    std::array<uint8_t, 256> regs{};  // each group writes all four registers
    for (size_t i = from_write; i + 3 < bus.writes.size(); ++i) {
        const uint8_t reg = bus.writes[i].reg;
        if (reg < pca9685::kLed0OnL || reg >= pca9685::kLed0OnL + 64) continue;
        const int ch = (reg - pca9685::kLed0OnL) / 4;
        const uint8_t base = uint8_t(pca9685::kLed0OnL + 4 * ch);
        bool group = true;
        for (size_t k = 1; k < 4; ++k)
            group = group && bus.writes[i + k].reg >= base && bus.writes[i + k].reg < base + 4;
        if (!group) continue;
        for (size_t k = 0; k < 4; ++k) regs[bus.writes[i + k].reg] = bus.writes[i + k].value;
        int32_t value = regs[base + 2] | ((regs[base + 3] & 0x0F) << 8);
        if (regs[base + 3] & pca9685::kFullBit)
            value = 0;
        else if (regs[base + 1] & pca9685::kFullBit)
            value = pca9685::kFullOn;
        out.push_back({ch, value, bus.writes[i].at_us});
        i += 3;
    }
    return out;
}

class AdafruitPwmTest : public LoopTest {
  protected:
    std::unique_ptr<MapDriver> make(const std::string& section = "") {
        const ConfigResult r = parse_config("[adafruit_pwm]\n" + section, "t.conf");
        EXPECT_TRUE(r.ok());
        const Config::AdafruitPwm& c = r.config.adafruit_pwm;
        auto d = std::make_unique<MapDriver>(
            loop_, log_, "adafruit_pwm", adafruit_pwm_commands(c), adafruit_pwm_safe(c),
            [&](const std::vector<int>& channels) {
                return std::make_unique<Pca9685Device>(channels, c.pwm_freq, "PWM board",
                                                       fake_bus_opener(bus_));
            },
            adafruit_pwm_hold());
        d->start();
        EXPECT_TRUE(run_until([&] { return d->worker().stats().up; }));
        return d;
    }
    DriveCommand cmd(const std::string& c) {
        DriveCommand d;
        d.command = c;
        return d;
    }
    size_t writes() {
        std::lock_guard<std::mutex> l(bus_->m);
        return bus_->writes.size();
    }
    // Runs `command`, waits for `n` channel changes, and returns them.
    std::vector<Change> run(MapDriver& d, const std::string& command, size_t n) {
        const size_t from = writes();
        d.command(cmd(command));
        EXPECT_TRUE(run_until([&] { return changes(*bus_, from).size() >= n; }, 5000)) << command;
        run_for(20);  // nothing more comes
        return changes(*bus_, from);
    }
    std::shared_ptr<BusScript> bus_ = std::make_shared<BusScript>();
};

// Steps of a timed command are at least their length apart (a timer never fires early).
// The times are the bus writes of the device worker, not the timer's: a worker that was late
// writing the first step (a loaded machine, 2.6 ms seen) shortens the gap by as much. 20 ms
// still tells a step that came early from one that came on time.
void expect_after(const Change& a, const Change& b, int64_t ms) {
    EXPECT_GE(b.at_us - a.at_us, ms * 1000 - 20000) << "ch" << b.channel << "=" << b.value;
}

TEST_F(AdafruitPwmTest, OpensAt60HzWithTheEscAndSteeringNeutral) {
    auto d = make();
    EXPECT_EQ(d->outputs(), (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(bus_->snapshot(), init_writes(101, {0, 1, 2}, {335, 400, 0}));  // 60 Hz
    EXPECT_EQ(bus_->regs[pca9685::kPrescale], 101);
    EXPECT_EQ(d->pulse_ms("F"), 700u);
    EXPECT_EQ(d->pulse_ms("b"), 700u);
    for (const char* turn : {"L", "R", "BL", "br"}) EXPECT_EQ(d->pulse_ms(turn), 500u) << turn;
    for (const char* servo : {"S2INC", "S2DEC", "POS60", "NEG60"})
        EXPECT_EQ(d->pulse_ms(servo), std::nullopt) << servo;
}

TEST_F(AdafruitPwmTest, ForwardIsFastThenSlowThenNeutral) {
    auto d = make();
    const auto c = run(*d, "f", 3);
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].channel, 0);
    EXPECT_EQ(c[0].value, 445);
    EXPECT_EQ(c[1].value, 345);
    EXPECT_EQ(c[2].value, 335);
    expect_after(c[0], c[1], 300);
    expect_after(c[1], c[2], 400);
}

TEST_F(AdafruitPwmTest, BackwardIsFastThenSlowThenNeutral) {
    auto d = make();
    const auto c = run(*d, "B", 3);
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].value, 270);
    EXPECT_EQ(c[1].value, 325);
    EXPECT_EQ(c[2].value, 335);
    expect_after(c[0], c[1], 300);
    expect_after(c[1], c[2], 400);
}

TEST_F(AdafruitPwmTest, TurnsSteerAndDriveForHalfASecondThenBothNeutral) {
    auto d = make();
    auto c = run(*d, "L", 4);
    ASSERT_EQ(c.size(), 4u);
    // Steering and ESC together (in channel order), then both neutral.
    EXPECT_EQ(c[0].channel, 0);
    EXPECT_EQ(c[0].value, 445);
    EXPECT_EQ(c[1].channel, 1);
    EXPECT_EQ(c[1].value, 300);
    EXPECT_EQ(c[2].value, 335);
    EXPECT_EQ(c[3].value, 400);
    expect_after(c[0], c[2], 500);
    c = run(*d, "BR", 4);
    ASSERT_EQ(c.size(), 4u);
    EXPECT_EQ(c[0].value, 270);
    EXPECT_EQ(c[1].value, 500);
    EXPECT_EQ(c[2].value, 335);
    EXPECT_EQ(c[3].value, 400);
    expect_after(c[0], c[2], 500);
}

TEST_F(AdafruitPwmTest, TheOtherTurnsAsTheReference) {
    const std::vector<OutputCommand> cs = adafruit_pwm_commands(Config::AdafruitPwm{});
    const auto sets = [&](const char* name) {
        for (const OutputCommand& c : cs)
            if (c.command == name) return c.steps[0].sets;
        return std::vector<OutputSet>{};
    };
    EXPECT_EQ(sets("R"), (std::vector<OutputSet>{{1, 500}, {0, 445}}));
    EXPECT_EQ(sets("BL"), (std::vector<OutputSet>{{1, 300}, {0, 270}}));
    EXPECT_EQ(sets("S2DEC"), (std::vector<OutputSet>{{2, 400}}));
    EXPECT_EQ(sets("POS60"), (std::vector<OutputSet>{{2, 490}}));
    EXPECT_EQ(sets("NEG60"), (std::vector<OutputSet>{{2, 100}}));
}

TEST_F(AdafruitPwmTest, TheServoHoldsItsPositionThroughStopsAndDrives) {
    auto d = make();
    auto c = run(*d, "S2INC", 1);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].channel, 2);
    EXPECT_EQ(c[0].value, 300);
    const size_t from = writes();
    run_for(100);
    EXPECT_EQ(writes(), from);  // no time of its own
    d->command(cmd("F"));
    ASSERT_TRUE(run_until([&] { return bus_->channel(0) == 445; }));
    d->stop(cmd("stop"));
    ASSERT_TRUE(run_until([&] { return bus_->channel(0) == 335; }));
    EXPECT_EQ(bus_->channels({0, 1, 2}), (std::vector<int32_t>{335, 400, 300}));
    d.reset();  // the end: every channel safe, the servo's too
    EXPECT_EQ(bus_->channels({0, 1, 2}), (std::vector<int32_t>{335, 400, 0}));
}

TEST_F(AdafruitPwmTest, AStopDuringForwardIsNeutralAtOnceAndTheSlowStepNeverComes) {
    auto d = make("esc_forward = 450\nesc_neutral = 340\n");
    const size_t from = writes();
    d->command(cmd("F"));
    ASSERT_TRUE(run_until([&] { return bus_->channel(0) == 450; }));
    d->stop(cmd("stop"));
    ASSERT_TRUE(run_until([&] { return bus_->channel(0) == 340; }));
    run_for(800);
    const auto c = changes(*bus_, from);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[1].value, 340);
}

TEST_F(AdafruitPwmTest, TheTypeIsRegisteredWithTheReferenceAddress) {
    const ConfigResult r = parse_config(
        "[robot]\ntype = adafruit_pwm\n[adafruit_pwm]\naddress=41\npwm_freq=60\n"
        "bus = /nonexistent/i2c-2\n",
        "t");
    ASSERT_TRUE(r.ok());
    StderrCapture log;
    std::string error;
    auto d = make_driver(r.config, loop_, log_, &error);
    ASSERT_NE(d, nullptr) << error;
    EXPECT_STREQ(d->name(), "adafruit_pwm");
    EXPECT_EQ(d->pulse_ms("F"), 700u);
    ASSERT_TRUE(run_until([&] { return log.count("trying again") >= 1; }));
    d.reset();
    log.restore();
    EXPECT_EQ(log.count("PCA9685 at 0x41 on /nonexistent/i2c-2: /nonexistent/i2c-2: No such file"),
              1u)
        << log.text();
}

}  // namespace
}  // namespace robotd
