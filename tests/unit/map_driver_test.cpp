// MapDriver: output maps with steps, the safe state between commands, pulses, stops that
// win over steps; on a real loop with the recording fake device (fake_device.h).
#include "hw/map_driver.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "fake_device.h"
#include "loop_harness.h"

namespace robotd {
namespace {

class MapDriverTest : public LoopTest {
  protected:
    std::unique_ptr<MapDriver> make(const std::string& section, std::vector<int> hold = {}) {
        const ConfigResult r = parse_config(section, "t.conf");
        EXPECT_TRUE(r.ok());
        auto d = std::make_unique<MapDriver>(
            loop_, log_, "gpio", r.config.gpio.map.commands, r.config.gpio.map.safe,
            [this](const std::vector<int>& outputs) {
                outputs_ = outputs;
                return std::make_unique<FakeRecordingDevice>(script_);
            },
            hold, RetryRules{20, 100, 0});
        d->start();
        EXPECT_TRUE(run_until([&] { return d->worker().stats().up; }));
        return d;
    }
    DriveCommand cmd(const std::string& c) {
        DriveCommand d;
        d.command = c;
        return d;
    }
    bool wait_calls(size_t n) {
        return run_until([&] { return script_->snapshot().size() >= n; });
    }
    std::shared_ptr<Script> script_ = std::make_shared<Script>();
    std::vector<int> outputs_;
};

TEST_F(MapDriverTest, StepsRunInOrderThenEverythingIsSafe) {
    auto d = make("[gpio]\nF = 17=1 27=1 for 0.05 then 27=0 for 0.05\nsafe = 4=1\n");
    EXPECT_EQ(outputs_, (std::vector<int>{4, 17, 27}));
    EXPECT_EQ(d->pulse_ms("f"), 100u);
    EXPECT_TRUE(d->maps("F"));
    EXPECT_FALSE(d->maps("B"));
    d->command(cmd("F"));
    ASSERT_TRUE(wait_calls(4));
    EXPECT_EQ(script_->snapshot(), (std::vector<std::string>{"open 1,0,0", "apply 1,1,1",
                                                             "apply 1,1,0", "apply 1,0,0"}));
}

TEST_F(MapDriverTest, ACommandStartsFromSafeAndAStopWinsOverItsSteps) {
    auto d = make("[gpio]\nF = 17=1 for 0.05 then 17=0 27=1 for 5\nL = 27=1\n");
    d->command(cmd("F"));
    ASSERT_TRUE(wait_calls(2));
    d->command(cmd("L"));  // 17 back to safe: a turn never drives with the forward pin
    ASSERT_TRUE(wait_calls(3));
    d->stop(cmd("stop"));
    ASSERT_TRUE(wait_calls(4));
    run_for(120);  // F's second step would have come by now: it never does
    EXPECT_EQ(script_->snapshot(),
              (std::vector<std::string>{"open 0,0", "apply 1,0", "apply 0,1", "apply 0,0"}));
    EXPECT_EQ(d->pulse_ms("L"), std::nullopt);  // holds until a stop
    d->command(cmd("B"));                       // not in the map: nothing
    run_for(20);
    EXPECT_EQ(script_->snapshot().size(), 4u);
}

TEST_F(MapDriverTest, TheEndIsSafe) {
    auto d = make("[gpio]\nLED = 4=1\n");
    d->command(cmd("LED"));
    ASSERT_TRUE(wait_calls(2));
    d.reset();
    EXPECT_EQ(script_->snapshot(),
              (std::vector<std::string>{"open 0", "apply 1", "apply 0", "close"}));
}

TEST_F(MapDriverTest, HeldOutputsStayThroughStopsAndOtherCommandsButNotTheEnd) {
    auto d = make("[gpio]\nPAN = 2=1\nF = 17=1 for 0.05\n", {2});
    d->command(cmd("PAN"));  // a servo's position, an LED: held
    ASSERT_TRUE(wait_calls(2));
    d->command(cmd("F"));
    ASSERT_TRUE(wait_calls(4));  // F, then its end: PAN's output untouched by both
    d->stop(cmd("stop"));
    ASSERT_TRUE(wait_calls(5));
    d.reset();
    EXPECT_EQ(script_->snapshot(),
              (std::vector<std::string>{"open 0,0", "apply 1,0", "apply 1,1", "apply 1,0",
                                        "apply 1,0", "apply 0,0", "close"}));
}

TEST_F(MapDriverTest, ALostDeviceEndsTheRunningCommand) {
    auto d = make("[gpio]\nF = 17=1 for 0.1 then 17=0 27=1 for 0.1\n");
    {
        std::lock_guard<std::mutex> l(script_->m);
        script_->fail_applies = 1;
    }
    d->command(cmd("F"));  // its first write fails: the device is lost
    ASSERT_TRUE(run_until([&] { return !d->worker().stats().up; }));
    ASSERT_TRUE(run_until([&] { return d->worker().stats().up; }, 3000));  // reopened, safe
    run_for(250);  // F's second step is never written to the reopened device
    EXPECT_EQ(script_->snapshot(),
              (std::vector<std::string>{"open 0,0", "apply failed", "close", "open 0,0"}));
}

}  // namespace
}  // namespace robotd
