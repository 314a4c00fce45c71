// A recording stand-in for a driver's device (GPIO lines, an I2C chip), named as the fake it
// is: it writes every call the worker makes into a Script a test reads and scripts faults in.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hw/device_worker.h"

namespace robotd {

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

}  // namespace robotd
