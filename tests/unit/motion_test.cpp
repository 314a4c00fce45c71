// The dead-man on a real loop: Motion drives the real PipeDriver, which writes into a FIFO
// this test reads; stop times are checked through the lines' t_us stamps.
#include "hw/motion.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "hw/pipe_driver.h"
#include "loop_harness.h"
#include "net/loop.h"

using namespace robotd;

namespace {

// Far apart, so a timer late by a loaded machine (make test runs suites side by side, the
// cross suite's qemu on every core) still tells a turn's delay from a straight one.
constexpr int64_t kStraightMs = 300;
constexpr int64_t kTurnMs = 50;
constexpr int64_t kSlackMs = 250;  // how late a timer may fire on a busy test machine

// A FIFO in a fresh directory, read without blocking; both gone at the end of the test.
class FifoReader {
  public:
    FifoReader() {
        char tmpl[] = "/tmp/robotd-motion-XXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/fifo";
        mkfifo(path_.c_str(), 0600);
        fd_ = open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
    ~FifoReader() {
        if (fd_ >= 0) close(fd_);
        unlink(path_.c_str());
        rmdir(dir_.c_str());
    }
    const std::string& path() const { return path_; }
    bool ok() const { return fd_ >= 0; }

    // Everything written so far, as parsed JSON lines, but the stop every new reader gets
    // first (pipe_driver_test checks that one).
    const std::vector<JsonPtr>& lines() {
        char buf[4096];
        for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) partial_.append(buf, size_t(n));
        for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
            std::string error;
            if (partial_.substr(0, nl).find("\"reason\":\"new reader\"") != std::string::npos) {
                partial_.erase(0, nl + 1);
                continue;
            }
            lines_.push_back(json_parse(partial_.substr(0, nl), &error));
            EXPECT_TRUE(lines_.back()) << error;
            partial_.erase(0, nl + 1);
        }
        return lines_;
    }

  private:
    std::string dir_, path_, partial_;
    int fd_ = -1;
    std::vector<JsonPtr> lines_;
};

std::string str(const JsonPtr& line, const char* key) {
    return line ? json_string(line.get(), key).value_or("<none>") : "<bad line>";
}
int64_t t_us(const JsonPtr& line) {
    return line ? json_int(line.get(), "t_us").value_or(-1) : -1;
}

class MotionTest : public LoopTest {
  protected:
    MotionTest() : LoopTest(LogLevel::Warn) {}

    void SetUp() override {
        ASSERT_TRUE(fifo_.ok());
        LoopTest::SetUp();
        if (HasFatalFailure()) return;
        std::string error;
        config_.robot.straight_delay = kStraightMs / 1000.0;
        config_.robot.turn_delay = kTurnMs / 1000.0;
        config_.pipe.path = fifo_.path();
        driver_ = std::make_unique<PipeDriver>(config_.pipe, loop_, log_);
        ASSERT_TRUE(driver_->start(&error)) << error;
        motion_ = std::make_unique<Motion>(loop_, log_, *driver_, config_);
    }

    bool lines_reach(size_t n) {
        return run_until([&] { return fifo_.lines().size() >= n; });
    }
    DriveCommand drive(const char* command, const char* key = "down") {
        DriveCommand c;
        c.command = command;
        c.user = "alice";
        c.key_position = key;
        c.received_us = mono_us();
        return c;
    }

    FifoReader fifo_;
    Config config_;
    std::unique_ptr<PipeDriver> driver_;
    std::unique_ptr<Motion> motion_;
};

}  // namespace

TEST_F(MotionTest, ForwardStopsAfterStraightDelay) {
    motion_->command(drive("F"));
    EXPECT_TRUE(motion_->moving());
    ASSERT_TRUE(lines_reach(2));
    const auto& lines = fifo_.lines();
    EXPECT_EQ(str(lines[0], "command"), "F");
    EXPECT_EQ(str(lines[0], "user"), "alice");
    EXPECT_EQ(str(lines[1], "command"), "stop");
    EXPECT_EQ(str(lines[1], "reason"), "deadman");
    EXPECT_EQ(str(lines[1], "user"), "");
    const int64_t ms = (t_us(lines[1]) - t_us(lines[0])) / 1000;
    EXPECT_GE(ms, kStraightMs);
    EXPECT_LT(ms, kStraightMs + kSlackMs);
    EXPECT_FALSE(motion_->moving());
}

TEST_F(MotionTest, TurnStopsAfterTurnDelay) {
    motion_->command(drive("L"));
    ASSERT_TRUE(lines_reach(2));
    const auto& lines = fifo_.lines();
    EXPECT_EQ(str(lines[0], "command"), "L");
    EXPECT_EQ(str(lines[1], "reason"), "deadman");
    const int64_t ms = (t_us(lines[1]) - t_us(lines[0])) / 1000;
    EXPECT_GE(ms, kTurnMs);
    EXPECT_LT(ms, kStraightMs);  // the turn's own delay, not the straight one
}

TEST_F(MotionTest, CommandNamesMatchCaseInsensitively) {
    motion_->command(drive("r"));
    EXPECT_TRUE(motion_->moving());
    ASSERT_TRUE(lines_reach(2));
    EXPECT_EQ(str(fifo_.lines()[1], "reason"), "deadman");
}

TEST_F(MotionTest, RepeatedForwardRearmsTheStop) {
    motion_->command(drive("F"));
    int64_t second_us = 0;
    Timer again(loop_, [&] {
        const DriveCommand c = drive("F", "intermediate");
        second_us = c.received_us;
        motion_->command(c);
    });
    again.start_ms(kStraightMs * 6 / 10);
    ASSERT_TRUE(lines_reach(3));
    const auto& lines = fifo_.lines();
    ASSERT_EQ(str(lines[1], "command"), "F");  // no stop between the two
    EXPECT_EQ(str(lines[1], "key_position"), "intermediate");
    EXPECT_EQ(str(lines[2], "reason"), "deadman");
    EXPECT_GE((t_us(lines[2]) - second_us) / 1000, kStraightMs);
    EXPECT_GE((t_us(lines[2]) - t_us(lines[0])) / 1000, kStraightMs * 16 / 10);
}

TEST_F(MotionTest, KeyUpStopsAtOnce) {
    motion_->command(drive("F"));
    motion_->command(drive("F", "up"));
    EXPECT_FALSE(motion_->moving());
    ASSERT_TRUE(lines_reach(2));
    const auto& lines = fifo_.lines();
    EXPECT_EQ(str(lines[1], "command"), "stop");  // "F up" itself is not forwarded
    EXPECT_EQ(str(lines[1], "reason"), "key up");
    EXPECT_LT((t_us(lines[1]) - t_us(lines[0])) / 1000, kSlackMs);
    run_for(kStraightMs + 30);
    EXPECT_EQ(fifo_.lines().size(), 2u);  // and no dead-man stop later
}

TEST_F(MotionTest, ExplicitStopCancelsTheTimer) {
    motion_->command(drive("B"));
    motion_->command(drive("stop", ""));
    motion_->command(drive("LED_ON", ""));  // not a motion: forwarded, arms nothing
    EXPECT_FALSE(motion_->moving());
    ASSERT_TRUE(lines_reach(3));
    EXPECT_EQ(str(fifo_.lines()[1], "command"), "stop");
    EXPECT_EQ(str(fifo_.lines()[1], "user"), "alice");
    EXPECT_EQ(str(fifo_.lines()[1], "reason"), "<none>");  // a viewer's stop has no reason
    EXPECT_EQ(str(fifo_.lines()[2], "command"), "LED_ON");
    run_for(kStraightMs + 30);
    EXPECT_EQ(fifo_.lines().size(), 3u);
}

TEST_F(MotionTest, StopIsSentEvenWhenNothingMoves) {
    motion_->stop("control session lost");
    motion_->command(drive("F"));
    motion_->stop("control session lost");
    ASSERT_TRUE(lines_reach(3));
    const auto& lines = fifo_.lines();
    EXPECT_EQ(str(lines[0], "reason"), "control session lost");
    EXPECT_EQ(str(lines[2], "reason"), "control session lost");
    EXPECT_FALSE(motion_->moving());
    run_for(kStraightMs + 30);
    EXPECT_EQ(fifo_.lines().size(), 3u);  // the timer went with the stop
}

TEST_F(MotionTest, DestructorSendsAnExitStop) {
    motion_->command(drive("F"));
    motion_.reset();  // before the dead-man: the exit stop must come from the destructor
    ASSERT_TRUE(lines_reach(2));
    const auto& lines = fifo_.lines();
    EXPECT_EQ(str(lines[1], "command"), "stop");
    EXPECT_EQ(str(lines[1], "reason"), "exit");
    run_for(kStraightMs + 30);
    EXPECT_EQ(fifo_.lines().size(), 2u);  // no dead-man from the destroyed one
}

TEST_F(MotionTest, DestroyingAMotionThatNeverMovedStillSendsAnExitStop) {
    {
        // Commands outside the motion lists may drive the hardware too (LED_ON here; a
        // "forward" a consumer knows), and a pulse may predate this Motion: stop regardless.
        Motion idle(loop_, log_, *driver_, config_);
        idle.command(drive("LED_ON"));
    }
    ASSERT_TRUE(lines_reach(2));
    EXPECT_EQ(str(fifo_.lines()[0], "command"), "LED_ON");
    EXPECT_EQ(str(fifo_.lines()[1], "command"), "stop");
    EXPECT_EQ(str(fifo_.lines()[1], "reason"), "exit");
    motion_.reset();
    ASSERT_TRUE(lines_reach(3));
    EXPECT_EQ(str(fifo_.lines()[2], "reason"), "exit");
}

TEST_F(MotionTest, EveryStopReachesTheDriverAsAStopItWillNotDrop) {
    // A reader that has stopped reading: the driver drops commands, but holds stops.
    for (int i = 0; i < 100000 && driver_->stats().dropped == 0; ++i)
        motion_->command(drive("LED_ON"));
    for (int i = 0; i < 100 && driver_->stats().dropped == 1; ++i) {
        DriveCommand tiny;
        tiny.command = "X";
        motion_->command(tiny);
    }
    ASSERT_EQ(driver_->stats().dropped, 2u);
    motion_->command(drive("stop", ""));  // a viewer's stop
    EXPECT_TRUE(driver_->stats().stop_held);
    EXPECT_EQ(driver_->stats().dropped, 2u);
    motion_->stop("control session lost");  // robotd's own: merged into the held one
    EXPECT_EQ(driver_->stats().merged, 1u);
    ASSERT_TRUE(run_until([&] {
        fifo_.lines();
        return !driver_->stats().stop_held;
    }));
    ASSERT_TRUE(run_until([&] { return str(fifo_.lines().back(), "command") == "stop"; }));
    EXPECT_EQ(str(fifo_.lines().back(), "user"), "alice");
}
