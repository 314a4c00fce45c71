// DeviceWorker: outputs written off the loop, stops never lost, a lost device reopened and
// driven safe first, a slow or stuck device never blocking the loop. The device is a
// recording fake whose faults each test scripts.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "hw/device_worker.h"
#include "loop_harness.h"
#include "stderr_capture.h"

namespace robotd {
namespace {

using Outputs = DeviceWorker::Outputs;

// What the worker did to the device, shared with the test (the worker thread may outlive it).
struct Script {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> calls;  // "open 0,0", "apply 1,0", "close"
    int fail_opens = 0;              // the next N opens fail
    int fail_applies = 0;            // the next N applies fail
    bool hold = false;               // apply waits while set (a slow bus)
    std::atomic<int> in_apply{0};

    void record(const std::string& what, const Outputs& out) {
        std::string s = what;
        for (size_t i = 0; i < out.size(); ++i) s += (i ? "," : " ") + std::to_string(out[i]);
        calls.push_back(s);
    }
    std::vector<std::string> snapshot() {
        std::lock_guard<std::mutex> l(m);
        return calls;
    }
    void release() {
        std::lock_guard<std::mutex> l(m);
        hold = false;
        cv.notify_all();
    }
};

class FakeRecordingDevice : public DeviceWorker::Device {
  public:
    explicit FakeRecordingDevice(std::shared_ptr<Script> s) : s_(std::move(s)) {}
    std::string describe() const override { return "fake device"; }
    bool open(const Outputs& safe, std::string* error) override {
        std::lock_guard<std::mutex> l(s_->m);
        if (s_->fail_opens > 0) {
            --s_->fail_opens;
            s_->calls.push_back("open failed");
            *error = "no such device";
            return false;
        }
        s_->record("open", safe);
        return true;
    }
    bool apply(const Outputs& out, std::string* error) override {
        std::unique_lock<std::mutex> l(s_->m);
        ++s_->in_apply;
        s_->cv.wait(l, [&] { return !s_->hold; });
        --s_->in_apply;
        if (s_->fail_applies > 0) {
            --s_->fail_applies;
            s_->calls.push_back("apply failed");
            *error = "Remote I/O error";
            return false;
        }
        s_->record("apply", out);
        return true;
    }
    void close() override {
        std::lock_guard<std::mutex> l(s_->m);
        s_->calls.push_back("close");
        s_->cv.notify_all();
    }

  private:
    std::shared_ptr<Script> s_;
};

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
