// The GPIO drivers end to end on a real loop, down to the line API (the recording fake,
// fake_gpio.h): the generic map across two chips, and the l298n, motozero and mdd10 presets'
// exact line patterns and timings from the reference sample's sections; their config keys
// and checks.
#include "hw/gpio_driver.h"

#include <gtest/gtest.h>

#include "fake_gpio.h"
#include "loop_harness.h"

namespace robotd {
namespace {

using Calls = std::vector<std::string>;

// The reference sample's sections (letsrobot.sample.conf), values unchanged.
const char kSampleL298n[] =
    "[l298n]\nStepPinForward=12,16\nStepPinBackward=11,15\nStepPinLeft=15,12\n"
    "StepPinRight=11,16\nsleeptime=0.2\nrotatetimes=5\n";
const char kSampleMotozero[] =
    "[motozero]\nMotorDelay = 0.3\nMotor1A = 24\nMotor1B = 27\nMotor1Enable = 5\n"
    "Motor2A = 6\nMotor2B = 22\nMotor2Enable = 17\nMotor3A = 23\nMotor3B = 16\n"
    "Motor3Enable = 12\nMotor4A = 13\nMotor4B = 18\nMotor4Enable = 25\n";

Config config_of(const std::string& text) {
    const ConfigResult r = parse_config(text, "t.conf");
    for (const ConfigDiag& d : r.diags)
        EXPECT_NE(d.level, ConfigDiag::Level::Error) << d.where << ": " << d.message;
    return r.config;
}

class GpioDriverTest : public LoopTest {
  protected:
    std::unique_ptr<MapDriver> make(const char* type, const std::string& text) {
        std::string error;
        auto d = make_gpio_type(type, config_of(text), loop_, log_, api_, "/nonexistent", &error);
        EXPECT_TRUE(d) << error;
        if (d) {
            EXPECT_TRUE(run_until([&] { return d->worker().stats().up; }));
        }
        return d;
    }
    bool wait_calls(size_t n, uint32_t ms = 3000) {
        return run_until([&] { return log().snapshot().size() >= n; }, ms);
    }
    FakeGpioLog& log() { return *api_->log; }
    static DriveCommand cmd(const std::string& c) {
        DriveCommand d;
        d.command = c;
        return d;
    }
    std::shared_ptr<FakeGpio> api_ = std::make_shared<FakeGpio>();
};

TEST_F(GpioDriverTest, L298nDrivesTheSamplePinPairsForSleeptimeAndTurnsForRotatetimesMore) {
    // BOARD 12,16 / 11,15 / 15,12 / 11,16 on a Pi 4: GPIO 18,23 / 17,22 / 22,18 / 17,23.
    auto d = make("l298n", std::string(kSampleL298n) + "[gpio]\npin_map = rpi4\n");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pulse_ms("F"), 200u);
    EXPECT_EQ(d->pulse_ms("b"), 200u);
    EXPECT_EQ(d->pulse_ms("L"), 1000u);  // sleeptime * rotatetimes
    EXPECT_EQ(d->pulse_ms("r"), 1000u);
    EXPECT_FALSE(d->maps("U"));

    d->command(cmd("f"));  // the site sends F; the reference compared lower case: both work
    ASSERT_TRUE(wait_calls(3));
    d->command(cmd("L"));
    ASSERT_TRUE(wait_calls(5, 4000));
    EXPECT_EQ(log().snapshot(),
              (Calls{"request pinctrl-bcm2711 18,23,17,22 = 0,0,0,0", "set pinctrl-bcm2711 1,1,0,0",
                     "set pinctrl-bcm2711 0,0,0,0", "set pinctrl-bcm2711 1,0,0,1",
                     "set pinctrl-bcm2711 0,0,0,0"}));
    // High for sleeptime, low after: never earlier (lower bound), generous above.
    const int64_t f_on = log().time_of("set pinctrl-bcm2711 1,1,0,0");
    const int64_t f_off = log().time_of("set pinctrl-bcm2711 0,0,0,0", 2);
    EXPECT_GE(f_off - f_on, 190000);
    EXPECT_LT(f_off - f_on, 2000000);
    const int64_t l_on = log().time_of("set pinctrl-bcm2711 1,0,0,1");
    const int64_t l_off = log().time_of("set pinctrl-bcm2711 0,0,0,0", 4);
    EXPECT_GE(l_off - l_on, 990000);
}

TEST_F(GpioDriverTest, L298nStopsAtOnceOnAStop) {
    auto d = make("l298n", std::string(kSampleL298n) + "[gpio]\npin_map = rpi4\n");
    ASSERT_TRUE(d);
    d->command(cmd("R"));
    ASSERT_TRUE(wait_calls(2));
    d->stop(cmd("stop"));
    ASSERT_TRUE(wait_calls(3));
    run_for(150);
    EXPECT_EQ(log().snapshot(),
              (Calls{"request pinctrl-bcm2711 18,23,17,22 = 0,0,0,0", "set pinctrl-bcm2711 0,1,1,0",
                     "set pinctrl-bcm2711 0,0,0,0"}));
    d.reset();
    EXPECT_EQ(log().snapshot().back(), "release pinctrl-bcm2711");
}

TEST_F(GpioDriverTest, MotozeroDrivesTheSamplePatternsWithTheEnablesOnTheVirtualBoardsTwoChips) {
    auto d =
        make("motozero", std::string(kSampleMotozero) + "[gpio]\npin_map = qemu-aarch64-virt\n");
    ASSERT_TRUE(d);
    for (const char* c : {"F", "B", "L", "R"}) EXPECT_EQ(d->pulse_ms(c), 300u) << c;
    // Outputs in first use: F's 1B 27, 2B 22, 3A 23, 4B 18, the enables 5 17 12 25, then B's
    // 1A 24, 2A 6, 3B 16, 4A 13. On the PL061: 27 22 23 18 5 17 24 6 = lines 5 2 3 1 6 0 4 7;
    // on robotd-sim: 12 25 16 13.
    const std::string pl = "9030000.pl061 ", sim = "robotd-sim ";
    const struct {
        const char* command;
        std::string pl061, robotd_sim;
    } cases[] = {
        // f = 1B 2B 3A 4B: PL061 27 22 23 18 and the enables 5 17; sim the enables 12 25.
        {"F", "1,1,1,1,1,1,0,0", "1,1,0,0"},
        // b = 1A 2A 3B 4A: PL061 24 6; sim 16 13.
        {"B", "0,0,0,0,1,1,1,1", "1,1,1,1"},
        // l = 3B 1A 2B 4B: PL061 22 18 24; sim 16.
        {"L", "0,1,0,1,1,1,1,0", "1,1,1,0"},
        // r = 3A 1B 2A 4A: PL061 27 23 6; sim 13.
        {"R", "1,0,1,0,1,1,0,1", "1,1,0,1"},
    };
    size_t n = 2;
    for (const auto& c : cases) {
        const size_t from = log().snapshot().size();
        d->command(cmd(c.command));
        n += 4;  // two chips set, then both back to 0
        ASSERT_TRUE(wait_calls(n)) << c.command;
        const Calls calls = log().snapshot();
        EXPECT_EQ(Calls(calls.begin() + long(from), calls.end()),
                  (Calls{"set " + pl + c.pl061, "set " + sim + c.robotd_sim,
                         "set " + pl + "0,0,0,0,0,0,0,0", "set " + sim + "0,0,0,0"}))
            << c.command;
        const int64_t on = log().time_of("set " + pl + c.pl061, from);
        const int64_t off = log().time_of("set " + pl + "0,0,0,0,0,0,0,0", from);
        EXPECT_GE(off - on, 290000) << c.command;  // MotorDelay
    }
    EXPECT_EQ(log().snapshot()[0], "request 9030000.pl061 5,2,3,1,6,0,4,7 = 0,0,0,0,0,0,0,0");
    EXPECT_EQ(log().snapshot()[1], "request robotd-sim 12,25,16,13 = 0,0,0,0");
}

TEST_F(GpioDriverTest, Mdd10SetsFullSpeedAndDirectionAndHoldsForMotionsDelay) {
    auto d = make("mdd10", "[gpio]\npin_map = rpi4\n");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pulse_ms("F"), std::nullopt);  // straight_delay / turn_delay: Motion's
    // AN1 12, AN2 13 (speed), DIG1 26, DIG2 24 (direction).
    const struct {
        const char* command;
        const char* levels;
    } cases[] = {{"F", "1,1,0,0"}, {"B", "1,1,1,1"}, {"L", "1,1,0,1"}, {"R", "1,1,1,0"}};
    Calls want{"request pinctrl-bcm2711 12,13,26,24 = 0,0,0,0"};
    for (const auto& c : cases) {
        d->command(cmd(c.command));
        want.push_back(std::string("set pinctrl-bcm2711 ") + c.levels);
        ASSERT_TRUE(wait_calls(want.size())) << c.command;
        run_for(50);  // held: no pulse of its own
        EXPECT_EQ(log().snapshot().size(), want.size()) << c.command;
        d->stop(cmd("stop"));
        want.push_back("set pinctrl-bcm2711 0,0,0,0");
        ASSERT_TRUE(wait_calls(want.size())) << c.command;
    }
    EXPECT_EQ(log().snapshot(), want);
}

TEST_F(GpioDriverTest, TheGenericMapSpansTwoChipsThroughThePinMapOrOneChipByOffset) {
    auto d = make("gpio",
                  "[gpio]\npin_map = qemu-aarch64-virt\nF = 17=1 16=1 for 0.05 then 16=0 for 0.05\n"
                  "LED = 4=high\nsafe = 4=1\n");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pulse_ms("F"), 100u);
    d->command(cmd("F"));
    ASSERT_TRUE(wait_calls(6));
    EXPECT_EQ(
        log().snapshot(),
        (Calls{"request robotd-sim 4,16 = 1,0", "request 9030000.pl061 0 = 0", "set robotd-sim 1,1",
               "set 9030000.pl061 1", "set robotd-sim 1,0", "set 9030000.pl061 0"}));
    d.reset();

    api_ = std::make_shared<FakeGpio>();
    d = make("gpio", "[gpio]\nchip = gpiochip3\nnumbering = board\nUP = 40=1\n");
    ASSERT_TRUE(d);
    d->command(cmd("up"));
    ASSERT_TRUE(wait_calls(2));
    EXPECT_EQ(log().snapshot(), (Calls{"request gpiochip3 40 = 0", "set gpiochip3 1"}));
}

TEST_F(GpioDriverTest, HeldLinesStayThroughStopsEvenOnesNoCommandSets) {
    // Line 9 is held but set by no command: it is requested (safe) like the others.
    auto d = make("gpio", "[gpio]\nchip = robotd-sim\nLED = 4=1\nF = 5=1\nhold = 4,9\n");
    ASSERT_TRUE(d);
    d->command(cmd("LED"));
    ASSERT_TRUE(wait_calls(2));
    d->command(cmd("F"));
    ASSERT_TRUE(wait_calls(3));
    d->stop(cmd("stop"));
    ASSERT_TRUE(wait_calls(4));
    EXPECT_EQ(log().snapshot(), (Calls{"request robotd-sim 4,9,5 = 0,0,0", "set robotd-sim 1,0,0",
                                       "set robotd-sim 1,0,1", "set robotd-sim 1,0,0"}));
}

TEST_F(GpioDriverTest, HeldLinesStayThroughCommandsAndStopsAndAreSafeAtTheEnd) {
    // [gpio] hold, as the README documents it: an LED a stop leaves on.
    auto d = make("gpio", "[gpio]\nchip = robotd-sim\nhold = 4\nLED_ON = 4=1\nF = 17=1\n");
    ASSERT_TRUE(d);
    d->command(cmd("LED_ON"));
    ASSERT_TRUE(wait_calls(2));
    d->command(cmd("F"));
    ASSERT_TRUE(wait_calls(3));
    d->stop(cmd("stop"));
    ASSERT_TRUE(wait_calls(4));
    d.reset();
    EXPECT_EQ(log().snapshot(),
              (Calls{"request robotd-sim 4,17 = 0,0", "set robotd-sim 1,0", "set robotd-sim 1,1",
                     "set robotd-sim 1,0", "set robotd-sim 0,0", "release robotd-sim"}));
}

TEST_F(GpioDriverTest, AVanishedChipIsALossAndTheReopenDrivesItSafeFirst) {
    auto d = make("gpio", "[gpio]\nchip = robotd-sim\nF = 5=1\n");
    ASSERT_TRUE(d);
    log().fail_sets = 1;
    d->command(cmd("F"));
    ASSERT_TRUE(run_until([&] { return !d->worker().stats().up; }));
    ASSERT_TRUE(run_until([&] { return d->worker().stats().up; }, 5000));  // reopened
    EXPECT_EQ(log().snapshot(), (Calls{"request robotd-sim 5 = 0", "set failed robotd-sim",
                                       "release robotd-sim", "request robotd-sim 5 = 0"}));
}

TEST_F(GpioDriverTest, APinTheBoardLacksIsAnErrorAtStart) {
    std::string error;
    auto d = make_gpio_type("l298n",
                            config_of("[l298n]\nStepPinForward=5,6\nStepPinBackward=7,8\n"
                                      "StepPinLeft=6,7\nStepPinRight=5,8\n[gpio]\npin_map=rpi3\n"),
                            loop_, log_, api_, "/nonexistent", &error);
    EXPECT_FALSE(d);
    EXPECT_EQ(error.find("BOARD pin 6 is not a GPIO in pin map rpi3"), 0u) << error;
    EXPECT_TRUE(log().snapshot().empty());
}

// --check-config's part: keys and pins, without hardware.
TEST(GpioDriverCheck, TheSampleSectionsPassForEachType) {
    const std::string sections =
        std::string(kSampleL298n) + kSampleMotozero + "[gpio]\npin_map = rpi4\nF = 17=1 for 0.3\n";
    for (const char* type : {"l298n", "motozero", "mdd10", "gpio"})
        EXPECT_EQ(check_gpio_type(type, config_of(sections)), "") << type;
}

TEST(GpioDriverCheck, MissingAndBadKeysAreNamed) {
    EXPECT_EQ(check_gpio_type("l298n", config_of("[l298n]\nStepPinForward=12,16\n")),
              "[l298n] StepPinBackward is not set (the BOARD pins B drives, e.g. 11,15)");
    EXPECT_EQ(check_gpio_type("l298n", config_of(std::string(kSampleL298n) +
                                                 "[l298n]\nsleeptime=30\nrotatetimes=3\n")),
              "[l298n] sleeptime * rotatetimes is 90 s: a turn must last 0.001..60 s");
    EXPECT_EQ(check_gpio_type("motozero", config_of("[motozero]\nMotor1A = 24\n")),
              "[motozero] Motor1B is not set (a BCM pin number)");
    EXPECT_EQ(check_gpio_type("motozero",
                              config_of(std::string(kSampleMotozero) + "[motozero]\nMotor4B=24\n")),
              "[motozero] Motor1A and Motor4B are both BCM pin 24");
    EXPECT_EQ(check_gpio_type("gpio", config_of("[gpio]\nsafe = 4=0\n")),
              "[gpio] maps no command (add one, e.g. F = 17=1 27=0 for 0.3)");
    // A pin the named board lacks; with pin_map = auto off a device-tree board it cannot
    // be known (the check may run on another machine than the robot).
    EXPECT_EQ(check_gpio_type("gpio", config_of("[gpio]\npin_map = rpi4\nF = 40=1\n")),
              "gpio: BCM pin 40 is not a GPIO in pin map rpi4 (its BCM pins: "
              "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27)");
    EXPECT_EQ(check_gpio_type("gpio", config_of("[gpio]\nF = 40=1\n"), "/nonexistent"), "");
}

TEST(GpioDriverCheck, TheKeysKeepTheReferenceNamesAnyCaseAndAreRangeChecked) {
    const Config c = config_of(
        "[l298n]\nstepPINforward = 3, 5\nSLEEPTIME=0.5\n[motozero]\nmotor2enable=9\n"
        "motordelay=1.5\n");
    EXPECT_EQ(c.l298n.forward, (std::vector<int>{3, 5}));
    EXPECT_EQ(c.l298n.sleeptime, 0.5);
    EXPECT_EQ(c.motozero.motors[1].enable, 9);
    EXPECT_EQ(c.motozero.motor_delay, 1.5);
    for (const char* bad : {"[l298n]\nStepPinLeft = 12,x\n", "[l298n]\nsleeptime = 0\n",
                            "[l298n]\nrotatetimes = -1\n", "[motozero]\nMotor1A = 2000\n",
                            "[motozero]\nMotorDelay = 61\n", "[l298n]\nStepPinRight = ,\n"}) {
        const ConfigResult r = parse_config(bad, "t.conf");
        EXPECT_FALSE(r.ok()) << bad;
        ASSERT_FALSE(r.diags.empty()) << bad;
        EXPECT_EQ(r.diags[0].where, "t.conf:2") << bad;
    }
}

}  // namespace
}  // namespace robotd
