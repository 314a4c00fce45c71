// A recording stand-in for libgpiod (hw/gpio_lines.h), named as the fake it is: it writes
// every request, set and release (with its time) into a log the test reads, scripts failures,
// and gives inputs a pipe the test writes edges into (the event source the loop watches).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/unique_fd.h"
#include "hw/gpio_lines.h"

namespace robotd {

struct FakeGpioLog {
    std::mutex m;
    std::condition_variable cv;
    // "request robotd-sim 16,25 = 0,0", "set robotd-sim 1,0", "release robotd-sim",
    // "input robotd-sim 5 active-low", "release input robotd-sim 5"
    std::vector<std::string> calls;
    std::vector<int64_t> at_us;     // mono_us() of each call
    std::set<std::string> missing;  // chips that are not there: requests fail
    int fail_sets = 0;              // the next N sets fail (the chip vanished)
    int input_level = 0;            // an input's level when requested
    UniqueFd input_writer;          // the far end of the last input's event pipe

    void record(std::string what) {
        std::lock_guard<std::mutex> l(m);
        calls.push_back(std::move(what));
        at_us.push_back(mono_us());
        cv.notify_all();
    }
    std::vector<std::string> snapshot() {
        std::lock_guard<std::mutex> l(m);
        return calls;
    }
    // The time of the first call equal to `what` after index `from`; -1 when none.
    int64_t time_of(const std::string& what, size_t from = 0) {
        std::lock_guard<std::mutex> l(m);
        for (size_t i = from; i < calls.size(); ++i)
            if (calls[i] == what) return at_us[i];
        return -1;
    }
    // An edge on the last requested input: its new level, as the kernel reports it.
    void edge(int level) {
        const char c = level ? '1' : '0';
        if (write(input_writer.get(), &c, 1) != 1) calls.push_back("edge write failed");
    }
    void input_gone() { input_writer.reset(); }  // the reader sees EOF: the line is gone
};

inline std::string fake_join(const std::vector<unsigned>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s;
}
inline std::string fake_join(const std::vector<int>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s;
}

class FakeGpioOutputs : public GpioOutputs {
  public:
    FakeGpioOutputs(std::shared_ptr<FakeGpioLog> log, std::string chip)
        : log_(std::move(log)), chip_(std::move(chip)) {}
    ~FakeGpioOutputs() override { log_->record("release " + chip_); }
    bool set(const std::vector<int>& values, std::string* error) override {
        {
            std::lock_guard<std::mutex> l(log_->m);
            if (log_->fail_sets > 0) {
                --log_->fail_sets;
                *error = chip_ + ": No such device";
                log_->calls.push_back("set failed " + chip_);
                log_->at_us.push_back(mono_us());
                log_->cv.notify_all();
                return false;
            }
        }
        log_->record("set " + chip_ + " " + fake_join(values));
        return true;
    }

  private:
    std::shared_ptr<FakeGpioLog> log_;
    std::string chip_;
};

class FakeGpioInput : public GpioInput {
  public:
    FakeGpioInput(std::shared_ptr<FakeGpioLog> log, std::string what, UniqueFd reader)
        : log_(std::move(log)), what_(std::move(what)), reader_(std::move(reader)) {}
    ~FakeGpioInput() override { log_->record("release input " + what_); }
    int fd() const override { return reader_.get(); }
    bool read_edges(std::vector<int>* levels, std::string* error) override {
        char buf[64];
        while (true) {
            const ssize_t n = read(reader_.get(), buf, sizeof buf);
            if (n < 0) return errno == EAGAIN;
            if (n == 0) {
                *error = what_ + ": No such device";
                return false;
            }
            for (ssize_t i = 0; i < n; ++i) levels->push_back(buf[i] == '1' ? 1 : 0);
        }
    }

  private:
    std::shared_ptr<FakeGpioLog> log_;
    std::string what_;
    UniqueFd reader_;
};

class FakeGpio : public GpioApi {
  public:
    std::unique_ptr<GpioOutputs> request_outputs(const std::string& chip,
                                                 const std::vector<unsigned>& lines,
                                                 const std::vector<int>& values,
                                                 std::string* error) override {
        if (gone(chip)) {
            *error = "no GPIO chip named, labelled or at '" + chip + "'";
            log->record("request failed " + chip);
            return nullptr;
        }
        log->record("request " + chip + " " + fake_join(lines) + " = " + fake_join(values));
        return std::make_unique<FakeGpioOutputs>(log, chip);
    }
    std::unique_ptr<GpioInput> request_input(const std::string& chip, unsigned line,
                                             const GpioInputOptions& options, int* level,
                                             std::string* error) override {
        const std::string what = chip + " " + std::to_string(line);
        if (gone(chip)) {
            *error = "no GPIO chip named, labelled or at '" + chip + "'";
            log->record("input failed " + what);
            return nullptr;
        }
        int fds[2];
        if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
            *error = "pipe failed";
            return nullptr;
        }
        UniqueFd reader(fds[0]);
        {
            std::lock_guard<std::mutex> l(log->m);
            log->input_writer.reset(fds[1]);
            *level = log->input_level;
        }
        log->record("input " + what + (options.active_low ? " active-low" : ""));
        return std::make_unique<FakeGpioInput>(log, what, std::move(reader));
    }

    std::shared_ptr<FakeGpioLog> log = std::make_shared<FakeGpioLog>();

  private:
    bool gone(const std::string& chip) {
        std::lock_guard<std::mutex> l(log->m);
        return log->missing.count(chip) != 0;
    }
};

}  // namespace robotd
