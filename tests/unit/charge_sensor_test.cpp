// Charge sensing: the input line's edges watched on a real loop (the recording fake's event
// source is a pipe, polled by the same lws-adopted watch as a GPIO request's fd), the
// debounce, the periodic report, a line that cannot be had or goes away, and the config.
#include "hw/charge_sensor.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "fake_gpio.h"
#include "loop_harness.h"
#include "stderr_capture.h"

namespace robotd {
namespace {

class ChargeSensorTest : public LoopTest {
  protected:
    std::unique_ptr<ChargeSensor> make(uint32_t debounce_ms, bool active_high = true) {
        ChargeSensor::Settings s{{"robotd-sim", 5}, active_high, debounce_ms};
        auto sensor = std::make_unique<ChargeSensor>(loop_, log_, api_, s, [this](bool c) {
            changes_.push_back(c);
            change_at_us_.push_back(mono_us());
        });
        sensor->start();
        return sensor;
    }
    std::shared_ptr<FakeGpio> api_ = std::make_shared<FakeGpio>();
    std::vector<bool> changes_;
    std::vector<int64_t> change_at_us_;
};

TEST_F(ChargeSensorTest, TheFirstLevelThenOnlyLevelsThatHoldForTheDebounceTime) {
    api_->log->input_level = 0;
    auto sensor = make(80);
    ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
    EXPECT_TRUE(sensor->watching());
    EXPECT_EQ(changes_, (std::vector<bool>{false}));
    EXPECT_EQ(api_->log->snapshot(), (std::vector<std::string>{"input robotd-sim 5"}));

    // Contact bounce: 1, 0, 1 within the debounce time is one change, to 1, once the last
    // level has held for the debounce time.
    api_->log->edge(1);
    run_for(30);
    api_->log->edge(0);
    run_for(30);
    EXPECT_EQ(changes_.size(), 1u);
    const int64_t last_edge_at = mono_us();
    api_->log->edge(1);
    ASSERT_TRUE(run_until([&] { return changes_.size() == 2; }));
    EXPECT_EQ(changes_, (std::vector<bool>{false, true}));
    EXPECT_GE(change_at_us_[1] - last_edge_at, 80000);  // never before the level has held
    EXPECT_EQ(sensor->charging(), true);

    // A dip that comes back within the debounce time is no change at all.
    api_->log->edge(0);
    run_for(20);
    api_->log->edge(1);
    run_for(250);
    EXPECT_EQ(changes_.size(), 2u);

    api_->log->edge(0);
    ASSERT_TRUE(run_until([&] { return changes_.size() == 3; }));
    EXPECT_EQ(changes_.back(), false);
}

TEST_F(ChargeSensorTest, ActiveLowIsTheRequestsAndNoDebounceReportsAtOnce) {
    api_->log->input_level = 1;  // logical: the kernel inverts an active-low line
    auto sensor = make(0, false);
    ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
    EXPECT_EQ(api_->log->snapshot(), (std::vector<std::string>{"input robotd-sim 5 active-low"}));
    api_->log->edge(0);
    ASSERT_TRUE(run_until([&] { return changes_.size() == 2; }));
    EXPECT_EQ(changes_, (std::vector<bool>{true, false}));
}

TEST_F(ChargeSensorTest, ALineThatCannotBeHadIsOneErrorLineAndSensingStaysOff) {
    api_->log->missing.insert("robotd-sim");
    StderrCapture err;
    auto sensor = make(50);
    ASSERT_TRUE(run_until([&] { return api_->log->snapshot().size() == 1; }));
    run_for(50);
    err.restore();
    EXPECT_FALSE(sensor->watching());
    EXPECT_TRUE(changes_.empty());
    EXPECT_EQ(err.count("charge input robotd-sim line 5: no GPIO chip named, labelled or at "
                        "'robotd-sim'; charge sensing off"),
              1u)
        << err.text();
}

TEST_F(ChargeSensorTest, ALineThatGoesAwayIsOneErrorLineAndSensingStops) {
    auto sensor = make(20);
    ASSERT_TRUE(run_until([&] { return sensor->watching(); }));
    StderrCapture err;
    api_->log->input_gone();
    ASSERT_TRUE(run_until([&] { return !sensor->watching(); }));
    run_for(50);
    err.restore();
    EXPECT_EQ(err.count("charge input robotd-sim line 5 lost: robotd-sim 5: No such device; "
                        "charge sensing off"),
              1u)
        << err.text();
    EXPECT_EQ(api_->log->snapshot().back(), "release input robotd-sim 5");
}

TEST_F(ChargeSensorTest, ALineThatComesLaterOrComesBackIsWatchedAgain) {
    api_->log->missing.insert("robotd-sim");
    StderrCapture err;
    auto sensor = make(0);
    ASSERT_TRUE(run_until([&] { return api_->log->snapshot().size() == 1; }));
    {
        std::lock_guard<std::mutex> l(api_->log->m);
        api_->log->missing.clear();  // the chip's module is loaded late
    }
    ASSERT_TRUE(run_until([&] { return sensor->watching(); }, 5000));
    api_->log->input_gone();
    ASSERT_TRUE(run_until([&] { return !sensor->watching(); }));
    ASSERT_TRUE(run_until([&] { return sensor->watching(); }, 5000));  // asked for again
    err.restore();
    EXPECT_EQ(err.count("charge sensing off, trying again in"), 2u) << err.text();
    EXPECT_EQ(err.count("charge input robotd-sim line 5 is back"), 2u) << err.text();
}

TEST_F(ChargeSensorTest, DestroyedBeforeTheRequestAnswersIsSafe) {
    auto sensor = make(20);
    sensor.reset();  // the request thread may still run: it lets go of the line itself
    ASSERT_TRUE(run_until([&] {
        const auto calls = api_->log->snapshot();
        return !calls.empty() && calls.back() == "release input robotd-sim 5";
    }));
}

class ChargeReportTest : public LoopTest {
  protected:
    std::vector<bool> emits_;
    std::vector<int64_t> at_us_;
    ChargeReport report_{loop_, 60, [this](bool c) {
                             emits_.push_back(c);
                             at_us_.push_back(mono_us());
                         }};
};

TEST_F(ChargeReportTest, AtEachChangeAndEveryIntervalWhileConnected) {
    report_.connected(true);
    run_for(100);
    EXPECT_TRUE(emits_.empty());  // nothing known yet: nothing said
    report_.changed(true);
    EXPECT_EQ(emits_, (std::vector<bool>{true}));  // at once
    ASSERT_TRUE(run_until([&] { return emits_.size() >= 3; }));
    for (size_t i = 1; i < at_us_.size(); ++i) EXPECT_GE(at_us_[i] - at_us_[i - 1], 59000);
    report_.changed(false);
    EXPECT_EQ(emits_.back(), false);

    report_.connected(false);
    const size_t n = emits_.size();
    report_.changed(true);  // not connected: kept for later
    run_for(200);
    EXPECT_EQ(emits_.size(), n);
    report_.connected(true);
    EXPECT_EQ(emits_.size(), n + 1);
    EXPECT_EQ(emits_.back(), true);
}

TEST_F(ChargeSensorTest, SensingFeedsTheReport) {
    std::vector<bool> emits;
    api_->log->input_level = 1;
    ChargeSensing sensing(loop_, log_, api_, {{"robotd-sim", 7}, true, 10}, 60000,
                          [&](bool c) { emits.push_back(c); });
    sensing.connected(true);
    ASSERT_TRUE(run_until([&] { return emits.size() == 1; }));
    EXPECT_EQ(emits[0], true);
    api_->log->edge(0);
    ASSERT_TRUE(run_until([&] { return emits.size() == 2; }));
    EXPECT_EQ(emits[1], false);
}

Config config_of(const std::string& text) {
    const ConfigResult r = parse_config(text, "t.conf");
    for (const ConfigDiag& d : r.diags)
        EXPECT_NE(d.level, ConfigDiag::Level::Error) << d.where << ": " << d.message;
    return r.config;
}

TEST(ChargeConfig, WhichLineAndHowOften) {
    ChargeSensor::Settings s;
    std::string error;
    // Off: nothing named, or chargeIONumber without type motor_hat (the reference sample
    // sets chargeIONumber = 17 whatever the type).
    EXPECT_FALSE(charge_settings(config_of(""), "/none", &s, &error));
    EXPECT_EQ(error, "");
    EXPECT_FALSE(
        charge_settings(config_of("[motor_hat]\nchargeIONumber = 17\n"), "/none", &s, &error));
    EXPECT_EQ(error, "");

    ASSERT_TRUE(charge_settings(
        config_of("[charge]\nline = robotd-sim:5\nactive = low\ndebounce_ms = 20\n"), "/none", &s,
        &error))
        << error;
    EXPECT_EQ(s.line, (GpioLine{"robotd-sim", 5}));
    EXPECT_FALSE(s.active_high);
    EXPECT_EQ(s.debounce_ms, 20u);

    ASSERT_TRUE(charge_settings(
        config_of("[robot]\ntype = motor_hat, gpio\n[motor_hat]\nchargeIONumber = 17\n"
                  "[gpio]\npin_map = rpi4\n"),
        "/none", &s, &error))
        << error;
    EXPECT_EQ(s.line, (GpioLine{"pinctrl-bcm2711", 17}));
    EXPECT_TRUE(s.active_high);
    EXPECT_EQ(s.debounce_ms, 50u);

    ASSERT_TRUE(
        charge_settings(config_of("[charge]\nline = 4\n[gpio]\npin_map = qemu-aarch64-virt\n"),
                        "/none", &s, &error));
    EXPECT_EQ(s.line, (GpioLine{"robotd-sim", 4}));
    EXPECT_FALSE(charge_settings(config_of("[charge]\nline = 40\n[gpio]\npin_map = rpi4\n"),
                                 "/none", &s, &error));
    EXPECT_EQ(error.find("BCM pin 40 is not a GPIO in pin map rpi4"), 0u) << error;

    EXPECT_EQ(charge_interval_ms(config_of("")), 5000u);
    EXPECT_EQ(charge_interval_ms(config_of("[motor_hat]\nchargeCheckInterval=10\n")), 10000u);
    EXPECT_EQ(charge_interval_ms(
                  config_of("[motor_hat]\nchargeCheckInterval=10\n[charge]\ninterval = 2\n")),
              2000u);
}

TEST(ChargeConfig, BadValuesAreErrorsAtTheirLine) {
    for (const char* bad :
         {"[charge]\nline = :5\n", "[charge]\nline = chip:x\n", "[charge]\nline = -3\n",
          "[charge]\nactive = sometimes\n", "[charge]\ndebounce_ms = 10001\n",
          "[charge]\ninterval = 0\n", "[motor_hat]\nchargeIONumber = seventeen\n",
          "[motor_hat]\nchargeCheckInterval = 0\n"}) {
        const ConfigResult r = parse_config(bad, "t.conf");
        EXPECT_FALSE(r.ok()) << bad;
        ASSERT_FALSE(r.diags.empty()) << bad;
        EXPECT_EQ(r.diags[0].where, "t.conf:2") << bad;
    }
    EXPECT_TRUE(parse_config("[charge]\nline = /dev/gpiochip1:31\ninterval =\n", "t").ok());
}

}  // namespace
}  // namespace robotd
