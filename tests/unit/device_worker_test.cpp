// DeviceWorker: outputs written off the loop, stops never lost, a lost device reopened and
// driven safe first, a slow or stuck device never blocking the loop. The device is a
// recording fake whose faults each test scripts (fake_device.h).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "fake_device.h"
#include "hw/device_worker.h"
#include "loop_harness.h"
#include "stderr_capture.h"

namespace robotd {
namespace {

class DeviceWorkerTest : public LoopTest {
  protected:
    std::unique_ptr<DeviceWorker> make(RetryRules rules = {20, 100, 0}) {
        auto w = std::make_unique<DeviceWorker>(loop_, log_, "test",
                                                std::make_unique<FakeRecordingDevice>(script_),
                                                Outputs{0, 0}, rules);
        w->on_change([this](bool up) { changes_.push_back(up); });
        return w;
    }
    bool has(const std::string& call) {
        const auto c = script_->snapshot();
        return std::find(c.begin(), c.end(), call) != c.end();
    }
    size_t count(const std::string& call) {
        const auto c = script_->snapshot();
        return std::count(c.begin(), c.end(), call);
    }
    std::shared_ptr<Script> script_ = std::make_shared<Script>();
    std::vector<bool> changes_;
};

TEST_F(DeviceWorkerTest, OpensSafeThenWritesMotionAndStops) {
    auto w = make();
    w->start();
    ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
    EXPECT_TRUE(changes_[0]);
    w->set({1, 0});
    ASSERT_TRUE(run_until([&] { return has("apply 1,0"); }));
    w->stop();
    ASSERT_TRUE(run_until([&] { return has("apply 0,0"); }));
    w.reset();
    EXPECT_EQ(script_->snapshot(), (std::vector<std::string>{"open 0,0", "apply 1,0", "apply 0,0",
                                                             "apply 0,0", "close"}));
}

TEST_F(DeviceWorkerTest, ASlowBusKeepsOnlyTheNewestMotionAndNeverLosesTheStop) {
    auto w = make();
    w->start();
    ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
    {
        std::lock_guard<std::mutex> l(script_->m);
        script_->hold = true;
    }
    w->set({1, 1});
    ASSERT_TRUE(run_until([&] { return script_->in_apply.load() == 1; }));
    // The loop goes on while the device is stuck: these return at once.
    w->set({2, 2});
    w->set({3, 3});
    w->stop();
    w->set({4, 4});
    script_->release();
    ASSERT_TRUE(run_until([&] { return has("apply 4,4"); }));
    const auto calls = script_->snapshot();
    EXPECT_EQ(calls, (std::vector<std::string>{"open 0,0", "apply 1,1", "apply 0,0", "apply 4,4"}));
    EXPECT_EQ(w->stats().dropped, 2u);  // 2,2 and 3,3: superseded, the stop went first
}

TEST_F(DeviceWorkerTest, ALostDeviceIsOneLineThenReopenedSafeBeforeAnythingElse) {
    StderrCapture log;
    auto w = make();
    w->start();
    ASSERT_TRUE(run_until([&] { return changes_.size() == 1; }));
    {
        std::lock_guard<std::mutex> l(script_->m);
        script_->fail_applies = 1;
        script_->fail_opens = 3;
    }
    w->set({1, 0});
    ASSERT_TRUE(run_until([&] { return changes_.size() == 2; }));
    EXPECT_FALSE(changes_[1]);
    w->set({5, 5});  // the device is down: dropped, never written late
    ASSERT_TRUE(run_until([&] { return changes_.size() == 3; }, 5000));
    EXPECT_TRUE(changes_[2]);
    log.restore();
    const auto calls = script_->snapshot();
    EXPECT_EQ(calls, (std::vector<std::string>{"open 0,0", "apply failed", "close", "open failed",
                                               "open failed", "open failed", "open 0,0"}));
    EXPECT_EQ(log.count("fake device lost: Remote I/O error; motors considered stopped"), 1u)
        << log.text();
    // The loss was the outage's line: the failed reopens after it are quiet (a summary comes
    // after a minute), and the return is one line.
    EXPECT_EQ(log.count("trying again"), 0u) << log.text();
    EXPECT_EQ(log.count("fake device is back"), 1u) << log.text();
    EXPECT_EQ(w->stats().dropped, 1u);
}

TEST_F(DeviceWorkerTest, ADeviceThatNeverOpensIsRetriedAndTheDestructorDoesNotWait) {
    StderrCapture log;
    {
        std::lock_guard<std::mutex> l(script_->m);
        script_->fail_opens = 1000;
    }
    auto w = make();
    w->start();
    ASSERT_TRUE(run_until([&] { return count("open failed") >= 3; }));
    w->stop();
    w.reset();
    log.restore();
    EXPECT_FALSE(has("close"));  // never opened: nothing to let go of
    EXPECT_EQ(log.count("trying again"), 1u) << log.text();
}

TEST_F(DeviceWorkerTest, ADeviceStuckAtTheEndCostsTheLoopAtMostTheFlushTime) {
    StderrCapture log;
    auto w = make();
    w->start();
    ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
    {
        std::lock_guard<std::mutex> l(script_->m);
        script_->hold = true;
    }
    w->set({1, 1});
    ASSERT_TRUE(run_until([&] { return script_->in_apply.load() == 1; }));
    w.reset();  // returns after Driver::kStopFlushMs with an error line
    log.restore();
    EXPECT_EQ(log.count("did not answer within"), 1u) << log.text();
    script_->release();  // the thread finishes on its own: the stop, then close
    std::unique_lock<std::mutex> l(script_->m);
    ASSERT_TRUE(script_->cv.wait_for(l, std::chrono::seconds(5), [&] {
        return !script_->calls.empty() && script_->calls.back() == "close";
    }));
    EXPECT_EQ(script_->calls[script_->calls.size() - 2], "apply 0,0");
}

}  // namespace
}  // namespace robotd
