// A real event loop for unit tests: the daemon's signals blocked, the loop started without
// TLS, and serviced until an awaited condition holds (never a sleep). Fixtures derive from it.
#pragma once

#include <signal.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/log.h"
#include "net/loop.h"

namespace robotd {

class LoopTest : public ::testing::Test {
  protected:
    explicit LoopTest(LogLevel level = LogLevel::Info)
        : log_(level, LogSink::Stderr), loop_(log_) {}

    static void SetUpTestSuite() {
        const sigset_t set = handled_signals();
        sigprocmask(SIG_BLOCK, &set, nullptr);
        signal(SIGPIPE, SIG_IGN);
        lws_set_log_level(LLL_ERR, nullptr);
    }

    void SetUp() override {
        std::string error;
        ASSERT_TRUE(loop_.start(TlsSettings{"", false}, &error)) << error;
    }

    // Services the loop until `done` holds; false when `timeout_ms` passed first.
    bool run_until(const std::function<bool()>& done, uint32_t timeout_ms = 2000) {
        bool timed_out = false;
        Timer deadline(loop_, [&] { timed_out = true; });
        Timer tick(loop_, [&] { tick.start_ms(2); });  // wakes the loop to look again
        deadline.start_ms(timeout_ms);
        tick.start_ms(2);
        while (!done()) {
            if (timed_out) return false;
            lws_service(loop_.context(), 0);
        }
        return true;
    }

    // Runs the loop for `ms` (to show that nothing more happens meanwhile).
    void run_for(uint32_t ms) {
        bool over = false;
        Timer t(loop_, [&] { over = true; });
        t.start_ms(ms);
        run_until([&] { return over; }, ms + 1000);
    }

    Logger log_;
    Loop loop_;
};

}  // namespace robotd
