// Several drivers at once, the type list, and a driver's own pulse lengths reaching the
// dead-man. The drivers are recording fakes: what reaches the hardware is each driver's test.
#include "hw/multi_driver.h"

#include <gtest/gtest.h>

#include "core/text.h"
#include "hw/motion.h"
#include "loop_harness.h"

namespace robotd {
namespace {

class FakeRecordingDriver : public Driver {
  public:
    FakeRecordingDriver(std::string name, std::vector<std::string>* calls,
                        std::vector<std::string> mapped = {},
                        std::map<std::string, uint32_t> pulses = {})
        : name_(std::move(name)),
          calls_(calls),
          mapped_(std::move(mapped)),
          pulses_(std::move(pulses)) {}
    ~FakeRecordingDriver() override { calls_->push_back(name_ + " gone"); }
    const char* name() const override { return name_.c_str(); }
    void command(const DriveCommand& c) override { calls_->push_back(name_ + " " + c.command); }
    void stop(const DriveCommand& c) override {
        calls_->push_back(name_ + " stop" + (c.reason.empty() ? "" : " (" + c.reason + ")"));
    }
    void pointer(const PointerEvent& p) override { calls_->push_back(name_ + " " + p.kind); }
    DriverStats stats() const override { return {3, 1, 0, name_ == "b"}; }
    bool maps(std::string_view command) const override {
        if (mapped_.empty()) return true;
        for (const auto& m : mapped_)
            if (iequals(m, command)) return true;
        return false;
    }
    std::optional<uint32_t> pulse_ms(std::string_view command) const override {
        for (const auto& [c, ms] : pulses_)
            if (iequals(c, command)) return ms;
        return std::nullopt;
    }

  private:
    std::string name_;
    std::vector<std::string>* calls_;
    std::vector<std::string> mapped_;
    std::map<std::string, uint32_t> pulses_;
};

DriveCommand cmd(const std::string& c) {
    DriveCommand d;
    d.command = c;
    return d;
}

TEST(MultiDriver, CommandsGoWhereTheyAreMappedStopsGoEverywhere) {
    std::vector<std::string> calls;
    {
        std::vector<std::unique_ptr<Driver>> ds;
        ds.push_back(
            std::make_unique<FakeRecordingDriver>("hat", &calls, std::vector<std::string>{"F", "B"},
                                                  std::map<std::string, uint32_t>{{"F", 300}}));
        ds.push_back(std::make_unique<FakeRecordingDriver>(
            "led", &calls, std::vector<std::string>{"LED_ON", "f"},
            std::map<std::string, uint32_t>{{"f", 700}}));
        MultiDriver multi(std::move(ds));
        EXPECT_STREQ(multi.name(), "hat,led");
        multi.command(cmd("F"));
        multi.command(cmd("LED_ON"));
        multi.command(cmd("X"));
        multi.stop(cmd("stop"));
        PointerEvent p;
        p.kind = "mousedown";
        multi.pointer(p);
        EXPECT_TRUE(multi.maps("led_on"));
        EXPECT_FALSE(multi.maps("X"));
        EXPECT_EQ(multi.pulse_ms("F"), 700u);  // the longest of the drivers that map it
        EXPECT_EQ(multi.pulse_ms("B"), std::nullopt);
        EXPECT_EQ(multi.stats().written, 6u);
        EXPECT_EQ(multi.stats().dropped, 2u);
    }
    EXPECT_EQ(calls,
              (std::vector<std::string>{"hat F", "led F", "led LED_ON", "hat stop", "led stop",
                                        "hat mousedown", "led mousedown", "led gone", "hat gone"}));
}

TEST(MultiDriver, AnUntimedDriverKeepsMotionsDeadmanWhateverTheOthersPulse) {
    // motor_hat (no pulse: straight_delay) with a gpio map that gives F 3 s: the HAT's
    // motors must stop after straight_delay, not after the map's 3 s.
    std::vector<std::string> calls;
    std::vector<std::unique_ptr<Driver>> ds;
    ds.push_back(
        std::make_unique<FakeRecordingDriver>("hat", &calls, std::vector<std::string>{"F"}));
    ds.push_back(std::make_unique<FakeRecordingDriver>(
        "gpio", &calls, std::vector<std::string>{"F", "W"},
        std::map<std::string, uint32_t>{{"F", 3000}, {"W", 200}}));
    MultiDriver multi(std::move(ds));
    EXPECT_EQ(multi.pulse_ms("F"), std::nullopt);
    EXPECT_EQ(multi.pulse_ms("W"), 200u);  // only the timed driver maps it
}

TEST(DriverNames, ACommaListWithAliasesAndClearErrors) {
    std::string error;
    EXPECT_EQ(driver_names("none", &error), std::vector<std::string>{"none"});
    EXPECT_EQ(driver_names(" pipe , none ", &error), (std::vector<std::string>{"pipe", "none"}));
    EXPECT_TRUE(driver_names("pipe,", &error).empty());
    EXPECT_NE(error.find("names no driver"), std::string::npos) << error;
    EXPECT_TRUE(driver_names("pipe,pipe", &error).empty());
    EXPECT_NE(error.find("'pipe' twice"), std::string::npos) << error;
    EXPECT_TRUE(driver_names("cozmo", &error).empty());
    EXPECT_NE(error.find("'cozmo' is not supported by this version (supported: none, pipe"),
              std::string::npos)
        << error;
}

class MotionPulseTest : public LoopTest {};

TEST_F(MotionPulseTest, ADriversOwnPulseArmsTheDeadmanEvenForACommandOutsideTheLists) {
    std::vector<std::string> calls;
    FakeRecordingDriver driver("d", &calls, {}, {{"F", 30}, {"WAVE", 40}});
    Config config;
    config.robot.straight_delay = 5;  // the driver's 30 ms wins over Motion's 5 s
    {
        Motion motion(loop_, log_, driver, config);
        motion.command(cmd("F"));
        EXPECT_TRUE(motion.moving());
        ASSERT_TRUE(run_until([&] { return calls.size() == 2; }));
        EXPECT_EQ(calls[1], "d stop (deadman)");
        motion.command(cmd("WAVE"));  // in no motion list, yet a pulse: stopped after it
        EXPECT_TRUE(motion.moving());
        ASSERT_TRUE(run_until([&] { return calls.size() == 4; }));
        EXPECT_EQ(calls[3], "d stop (deadman)");
        motion.command(cmd("LED_ON"));  // no pulse, no list: no timer
        EXPECT_FALSE(motion.moving());
    }
    EXPECT_EQ(calls.back(), "d stop (exit)");
}

}  // namespace
}  // namespace robotd
