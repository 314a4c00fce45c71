// The pipe driver on a real loop: a FIFO with and without a reader, a regular file, stdout,
// a consumer that exits (restarted) and one that never reads (the loop keeps its time).
// Also the line format (escaping, bounds) and the driver factory.
#include "hw/pipe_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "hw/pipe_line.h"
#include "loop_harness.h"
#include "net/loop.h"
#include "net/reaper.h"
#include "stderr_capture.h"
#include "temp_dir.h"

using namespace robotd;

namespace {

// Reads whole lines from a non-blocking fd as they come.
class LineReader {
  public:
    explicit LineReader(int fd = -1) : fd_(fd) {}
    ~LineReader() { close_fd(); }
    void reset(int fd) {
        close_fd();
        fd_ = fd;
    }
    void close_fd() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }
    bool open() const { return fd_ >= 0; }
    // The lines read so far, but the stop every new reader gets first, which is counted.
    const std::vector<std::string>& lines() {
        char buf[8192];
        if (fd_ >= 0)
            for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) partial_.append(buf, size_t(n));
        for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
            std::string line = partial_.substr(0, nl);
            partial_.erase(0, nl + 1);
            if (line.find("\"reason\":\"new reader\"") != std::string::npos) {
                ++new_reader_stops_;
                continue;
            }
            lines_.push_back(std::move(line));
        }
        return lines_;
    }
    size_t new_reader_stops() {
        lines();
        return new_reader_stops_;
    }

  private:
    int fd_ = -1;
    std::string partial_;
    std::vector<std::string> lines_;
    size_t new_reader_stops_ = 0;
};

JsonPtr parse(const std::string& line) {
    std::string error;
    JsonPtr doc = json_parse(line, &error);
    EXPECT_TRUE(doc) << error << ": " << line;
    return doc;
}

DriveCommand drive(const std::string& command, const std::string& user = "alice") {
    DriveCommand c;
    c.command = command;
    c.user = user;
    c.key_position = "down";
    c.received_us = mono_us();
    return c;
}

int64_t thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

long rss_kib() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

class PipeTest : public LoopTest {
  protected:
    // A FIFO's read end, opened without waiting for a writer.
    int open_reader(const std::string& path) {
        return open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }

    // A FIFO in the test's directory, and a pipe driver config that writes to it.
    Config::Pipe fifo_config() {
        Config::Pipe config;
        config.path = dir_.file("fifo");
        EXPECT_EQ(mkfifo(config.path.c_str(), 0600), 0) << strerror(errno);
        return config;
    }

    static PipeTimings fast() {
        PipeTimings t;
        t.reopen = {20, 20, 5000};
        t.restart = {20, 200, 5000};
        t.rewrite = {20, 20, 0};
        t.summary_ms = 100;
        return t;
    }

    TempDir dir_{"robotd-pipe"};
};

}  // namespace

TEST(PipeLine, CommandLineCarriesEveryFieldEscaped) {
    DriveCommand c;
    c.command = "F";
    c.user = "al\"ice\n\\";
    c.anonymous = true;
    c.key_position = "up";
    c.received_us = 1234567890123456;  // would print in exponent form as a double
    const std::string line = command_line(c);
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the name holds
    JsonPtr j = parse(line);
    ASSERT_TRUE(j);
    EXPECT_EQ(json_string(j.get(), "command"), "F");
    EXPECT_EQ(json_string(j.get(), "user"), c.user);
    EXPECT_EQ(json_bool(j.get(), "anonymous"), true);
    EXPECT_EQ(json_string(j.get(), "key_position"), "up");
    EXPECT_NE(line.find("\"t_us\":1234567890123456"), std::string::npos) << line;
    EXPECT_FALSE(cJSON_HasObjectItem(j.get(), "reason"));
    c.reason = "deadman";
    EXPECT_EQ(json_string(parse(command_line(c)).get(), "reason"), "deadman");
}

TEST(PipeLine, PointerLine) {
    PointerEvent p;
    p.kind = "mousedown";
    p.x = 0.52;
    p.y = 0.31;
    p.user = "bob";
    p.received_us = 7;
    JsonPtr j = parse(pointer_line(p));
    ASSERT_TRUE(j);
    EXPECT_EQ(json_string(j.get(), "command"), "pointer");
    EXPECT_EQ(json_string(j.get(), "kind"), "mousedown");
    EXPECT_DOUBLE_EQ(cJSON_GetObjectItem(j.get(), "x")->valuedouble, 0.52);
    EXPECT_DOUBLE_EQ(cJSON_GetObjectItem(j.get(), "y")->valuedouble, 0.31);
    EXPECT_EQ(json_string(j.get(), "user"), "bob");
    EXPECT_EQ(json_bool(j.get(), "anonymous"), false);
    EXPECT_EQ(json_int(j.get(), "t_us"), 7);
}

TEST(PipeLine, HugeHostileFieldsStayUnderPipeBuf) {
    DriveCommand c;
    c.command = std::string(100000, '\x01');  // each escapes to 6 bytes
    c.user = std::string(100000, '"');
    c.key_position = std::string(5000, 'k');
    c.reason = std::string(5000, '\x02');
    const std::string line = command_line(c);
    EXPECT_LE(line.size(), kMaxPipeLine);
    JsonPtr j = parse(line);
    ASSERT_TRUE(j);
    EXPECT_EQ(json_string(j.get(), "user")->size(), kMaxPipeField);
    EXPECT_EQ(json_string(j.get(), "command")->size(), kMaxPipeField);
    PointerEvent p;
    p.kind = std::string(100000, '\\');
    p.user = std::string(100000, '\x1f');
    EXPECT_LE(pointer_line(p).size(), kMaxPipeLine);
}

TEST(PipeLine, TruncationKeepsUtf8Whole) {
    const std::string e_acute = "\xc3\xa9";  // é: two bytes
    EXPECT_EQ(bounded_utf8(e_acute + e_acute, 3), e_acute);
    EXPECT_EQ(bounded_utf8("ab" + e_acute, 3), "ab");
    EXPECT_EQ(bounded_utf8("\xf0\x9f\xa4\x96!", 4), "\xf0\x9f\xa4\x96");  // 🤖
    // Invalid bytes (stray continuation, overlong, truncated sequence, NUL) become '?'.
    EXPECT_EQ(bounded_utf8("a\x80"
                           "b\xc0\xaf"
                           "c\xe2\x82",
                           100),
              "a?b??c??");
    EXPECT_EQ(bounded_utf8(std::string("x\0y", 3), 100), "x?y");
}

TEST_F(PipeTest, FifoWithAReaderGetsEveryLine) {
    const Config::Pipe config = fifo_config();
    LineReader reader(open_reader(config.path));
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    driver.command(drive("F", "eve\"\n"));
    PointerEvent p;
    p.kind = "mousedown";
    p.x = 0.25;
    p.y = 0.75;
    driver.pointer(p);
    ASSERT_TRUE(run_until([&] { return reader.lines().size() >= 2; }));
    JsonPtr first = parse(reader.lines()[0]);
    EXPECT_EQ(json_string(first.get(), "user"), "eve\"\n");
    EXPECT_EQ(json_string(parse(reader.lines()[1]).get(), "command"), "pointer");
    EXPECT_EQ(driver.stats().written, 2u);
    EXPECT_EQ(driver.stats().dropped, 0u);
}

TEST_F(PipeTest, FifoWithoutAReaderDropsThenFlowsOnceOneOpens) {
    StderrCapture log;
    const Config::Pipe config = fifo_config();
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    for (int i = 0; i < 3; ++i) driver.command(drive("F"));
    EXPECT_EQ(driver.stats().dropped, 3u);
    EXPECT_EQ(driver.stats().written, 0u);

    // A reader appears; the driver's retry timer finds it while we keep sending.
    LineReader reader(open_reader(config.path));
    Timer sender(loop_, [&] {
        driver.command(drive("L"));
        sender.start_ms(5);
    });
    sender.start_ms(5);
    ASSERT_TRUE(run_until([&] { return !reader.lines().empty(); }));
    sender.cancel();
    EXPECT_GE(driver.stats().written, 1u);
    EXPECT_EQ(json_string(parse(reader.lines()[0]).get(), "command"), "L");
    EXPECT_GE(driver.stats().dropped, 3u);
    log.restore();
    EXPECT_EQ(log.count("has no reader yet"), 1u) << log.text();  // not once per retry
    EXPECT_EQ(log.count("line dropped (no reader)"), 1u) << log.text();
}

TEST_F(PipeTest, FifoReaderThatLeavesIsWaitedForAgain) {
    const Config::Pipe config = fifo_config();
    LineReader reader(open_reader(config.path));
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    driver.command(drive("F"));
    ASSERT_TRUE(run_until([&] { return reader.lines().size() == 1; }));
    reader.close_fd();
    driver.command(drive("B"));  // EPIPE: dropped, and the driver waits for a reader again
    driver.command(drive("B"));
    EXPECT_EQ(driver.stats().dropped, 2u);
    reader.reset(open_reader(config.path));
    Timer sender(loop_, [&] {
        driver.command(drive("R"));
        sender.start_ms(5);
    });
    sender.start_ms(5);
    ASSERT_TRUE(run_until([&] { return reader.lines().size() >= 2; }));
    EXPECT_EQ(json_string(parse(reader.lines()[1]).get(), "command"), "R");
}

TEST_F(PipeTest, RegularFileIsAppendedTo) {
    const std::string path = dir_.file("lines.jsonl");
    { std::ofstream(path) << "earlier\n"; }
    Config::Pipe config;
    config.path = path;
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    driver.command(drive("F"));
    driver.command(drive("stop"));
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "earlier");
    EXPECT_EQ(json_string(parse(lines[2]).get(), "command"), "stop");
    EXPECT_EQ(driver.stats().written, 2u);
}

TEST_F(PipeTest, UnopenableFileIsAnError) {
    Config::Pipe config;
    config.path = "/nonexistent-dir/lines";
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    EXPECT_FALSE(driver.start(&error));
    EXPECT_NE(error.find("/nonexistent-dir/lines"), std::string::npos) << error;
}

TEST_F(PipeTest, StdoutThatNobodyReadsNeverBlocks) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    fflush(stdout);
    const int saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);  // a pipe whose reader never reads (until the end)
    close(fds[1]);
    Config::Pipe config;  // path "-"
    std::string error;
    DriverStats stats;
    bool started = false;
    int64_t took_us = 0, took_wall_us = 0;
    {
        StderrCapture quiet;
        PipeDriver driver(config, loop_, log_, fast());
        started = driver.start(&error);
        const int64_t t0 = thread_cpu_us();  // its own time: a loaded machine does not count
        const int64_t w0 = mono_us();
        for (int i = 0; started && i < 2000; ++i) driver.command(drive("F"));
        took_us = thread_cpu_us() - t0;
        took_wall_us = mono_us() - w0;
        stats = driver.stats();
    }
    dup2(saved, STDOUT_FILENO);
    close(saved);
    LineReader reader(fds[0]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    ASSERT_TRUE(started) << error;
    EXPECT_GT(stats.dropped, 0u);
    EXPECT_GT(stats.written, 0u);
    EXPECT_EQ(stats.written + stats.dropped, 2000u);
    EXPECT_LT(took_us, 500000);
    EXPECT_LT(took_wall_us, 5000000) << "a write waited for the reader";
    EXPECT_EQ(reader.lines().size(), stats.written);  // whole lines only, none torn
    for (const auto& line : reader.lines()) ASSERT_TRUE(parse(line)) << line;
}

TEST_F(PipeTest, ConsumerThatExitsIsRestartedWithBackoff) {
    StderrCapture log;
    const std::string out = dir_.file("out");
    Config::Pipe config;
    // Each instance takes one line, records it with its pid, and exits with status 3.
    config.command = "sh -c 'read -r line; echo \"$$ $line\" >> " + out + "; exit 3'";
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    Timer sender(loop_, [&] {
        driver.command(drive("F"));
        sender.start_ms(3);
    });
    sender.start_ms(3);
    auto out_lines = [&] {
        std::ifstream in(out);
        std::vector<std::string> lines;
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        return lines;
    };
    const int64_t t0 = mono_us();
    ASSERT_TRUE(
        run_until([&] { return out_lines().size() >= 4 && driver.consumer_starts() >= 4; }, 5000));
    const int64_t took_ms = (mono_us() - t0) / 1000;
    sender.cancel();
    const auto lines = out_lines();
    const auto pid = [](const std::string& l) { return l.substr(0, l.find(' ')); };
    EXPECT_NE(pid(lines[0]), pid(lines[1]));
    EXPECT_NE(pid(lines[1]), pid(lines[2]));
    // Each consumer reads one line: the stop every new reader gets first.
    for (const auto& l : lines)
        EXPECT_NE(l.find("\"command\":\"stop\",\"user\":\"\",\"anonymous\":false,\"key_position\":"
                         "\"\",\"reason\":\"new reader\""),
                  std::string::npos)
            << l;
    EXPECT_GT(driver.stats().dropped, 0u);  // lines while it was down
    // The backoff grows (20 ms, then at least 20 and 40 ms): three restarts take 80 ms or more.
    EXPECT_GE(took_ms, 80);
    log.restore();
    // One line for the outage, not one per restart (the rest are at debug level).
    EXPECT_EQ(log.count("exited with status 3"), 1u) << log.text();
    EXPECT_EQ(log.count("restarting it in 20 ms"), 1u) << log.text();
    EXPECT_EQ(log.count("started (pid"), 1u) << log.text();
}

TEST_F(PipeTest, ConsumerThatCannotStartIsRetriedQuietly) {
    StderrCapture log;
    log_.set_level(LogLevel::Debug);
    Config::Pipe config;
    config.command = "/nonexistent/consumer --flag";
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;  // retried, not fatal
    driver.command(drive("F"));
    EXPECT_EQ(driver.stats().dropped, 1u);
    ASSERT_TRUE(run_until([&] { return log.count("trying again in") >= 3; }));
    EXPECT_EQ(driver.consumer_starts(), 0u);
    log.restore();
    // The first failure is an error an owner sees; the retries are debug lines.
    EXPECT_EQ(log.count(" E pipe: consumer: cannot start '/nonexistent/consumer'"), 1u)
        << log.text();
    EXPECT_GE(log.count(" D pipe: consumer: cannot start"), 2u) << log.text();
}

TEST_F(PipeTest, ConsumerThatNeverReadsCostsNoTimeAndNoMemory) {
    StderrCapture log;
    Config::Pipe config;
    config.command = "sleep 30";  // holds its stdin open and never reads it
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    const std::string user(150, 'u');
    const size_t line_size = command_line(drive("F", user)).size();

    // Flood from a timer, 1000 lines a tick, measuring the loop thread's CPU time for each
    // tick (its own time, so a loaded test machine preempting the thread does not count).
    constexpr uint64_t kOffered = 40000;
    const long rss_before = rss_kib();
    const int64_t t0 = mono_us();
    uint64_t sent = 0;
    int64_t worst_tick_us = 0, worst_tick_wall_us = 0;
    Timer flood(loop_, [&] {
        const int64_t c0 = thread_cpu_us(), w0 = mono_us();
        for (int i = 0; i < 1000 && sent < kOffered; ++i, ++sent) driver.command(drive("F", user));
        worst_tick_us = std::max(worst_tick_us, thread_cpu_us() - c0);
        worst_tick_wall_us = std::max(worst_tick_wall_us, mono_us() - w0);
        if (sent < kOffered) flood.start_ms(1);
    });
    flood.start_ms(1);
    ASSERT_TRUE(run_until([&] { return sent == kOffered; }, 10000));
    const long rss_after = rss_kib();
    const int64_t elapsed_ms = (mono_us() - t0) / 1000;

    EXPECT_LT(worst_tick_us, 50000) << "1000 dropped lines held the loop that long";
    EXPECT_LT(worst_tick_wall_us, 500000) << "a write waited for the consumer";
    const DriverStats s = driver.stats();
    EXPECT_EQ(s.written + s.dropped, kOffered);
    EXPECT_GT(s.dropped, kOffered / 2);
    EXPECT_LE(s.written * line_size, 65536u);  // what a pipe holds: nothing queued here
    EXPECT_LT(rss_after - rss_before, 2048)
        << "KiB grown while " << kOffered * line_size << " bytes were offered";
    log.restore();
    // One first-drop line, then at most one summary per 100 ms: never a line per drop.
    EXPECT_EQ(log.count("line dropped (consumer not reading)"), 1u) << log.text();
    EXPECT_LE(log.count("lines dropped"), size_t(elapsed_ms / 100 + 1)) << log.text();
}

TEST_F(PipeTest, DropSummaryNamesTheCount) {
    StderrCapture log;
    const Config::Pipe config = fifo_config();
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    for (int i = 0; i < 38; ++i) driver.command(drive("F"));
    ASSERT_TRUE(run_until([&] { return log.count("lines dropped") > 0; }));
    log.restore();
    EXPECT_EQ(log.count("pipe: 37 lines dropped (no reader)"), 1u) << log.text();
}

TEST_F(PipeTest, FactoryKnowsNoneAndPipe) {
    Config config;
    std::string error;
    auto none = make_driver(config, loop_, log_, &error);
    ASSERT_TRUE(none) << error;
    EXPECT_STREQ(none->name(), "none");
    none->command(drive("F"));

    config.robot.type = "pipe";
    config.pipe.path = dir_.file("lines");
    auto pipe = make_driver(config, loop_, log_, &error);
    ASSERT_TRUE(pipe) << error;
    EXPECT_STREQ(pipe->name(), "pipe");
    pipe->command(drive("F"));
    EXPECT_EQ(pipe->stats().written, 1u);

    config.robot.type = "gopigo3";
    error.clear();
    EXPECT_FALSE(make_driver(config, loop_, log_, &error));
    EXPECT_NE(error.find("gopigo3"), std::string::npos) << error;
    EXPECT_NE(error.find("none, pipe"), std::string::npos) << error;

    config.robot.type = "pipe";
    config.pipe.command = "consumer 'unterminated";
    error.clear();
    EXPECT_FALSE(make_driver(config, loop_, log_, &error));
    EXPECT_NE(error.find("pipe.command"), std::string::npos) << error;
}

// --- Stops are never dropped (hw/driver.h): held, delivered first, flushed at the end. ---

namespace {

DriveCommand stop_cmd(const std::string& reason) {
    DriveCommand c;
    c.command = "stop";
    c.reason = reason;
    c.received_us = mono_us();
    return c;
}

std::string command_of(const std::string& line) {
    JsonPtr j = parse(line);
    return j ? json_string(j.get(), "command").value_or("?") : "<bad line>";
}

std::string reason_of(const std::string& line) {
    JsonPtr j = parse(line);
    return j ? json_string(j.get(), "reason").value_or("") : "<bad line>";
}

// A consumer's record, but the stop every new reader gets first (checked on its own).
std::vector<std::string> file_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        if (l.find("\"reason\":\"new reader\"") == std::string::npos) lines.push_back(l);
    return lines;
}

// Sends F lines until the destination is full: long ones, then short ones (shorter than any
// stop) for the room a long one did not fit in, so that a stop cannot go either.
void fill(PipeDriver& driver) {
    const std::string user(200, 'u');
    for (int i = 0; i < 100000 && driver.stats().dropped == 0; ++i)
        driver.command(drive("F", user));
    ASSERT_GT(driver.stats().dropped, 0u) << "the destination never filled up";
    DriveCommand shortest;
    shortest.command = "F";
    for (int i = 0; i < 100 && driver.stats().dropped == 1; ++i) driver.command(shortest);
    ASSERT_EQ(driver.stats().dropped, 2u);
}

}  // namespace

TEST_F(PipeTest, StopHeldBehindAStalledReaderGoesOutFirstWhenItReadsAgain) {
    StderrCapture log;
    const Config::Pipe config = fifo_config();
    LineReader reader(open_reader(config.path));  // reads only when the test looks
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    fill(driver);
    driver.stop(stop_cmd("deadman"));
    EXPECT_TRUE(driver.stats().stop_held);
    const uint64_t dropped = driver.stats().dropped;
    for (int i = 0; i < 50; ++i) driver.command(drive("F"));  // none may pass the stop
    PointerEvent p;
    p.kind = "mousedown";
    driver.pointer(p);
    EXPECT_EQ(driver.stats().dropped, dropped + 51);
    driver.stop(stop_cmd("key up"));  // says the same: merges into the held one
    EXPECT_EQ(driver.stats().merged, 1u);

    // The reader catches up; the driver hears the pipe has room and delivers the stop.
    ASSERT_TRUE(run_until([&] {
        reader.lines();
        return !driver.stats().stop_held;
    }));
    driver.command(drive("L"));
    ASSERT_TRUE(run_until(
        [&] { return !reader.lines().empty() && command_of(reader.lines().back()) == "L"; }));
    const auto& lines = reader.lines();
    ASSERT_GE(lines.size(), 3u);
    const size_t n = lines.size();
    EXPECT_EQ(command_of(lines[n - 2]), "stop");
    EXPECT_EQ(reason_of(lines[n - 2]), "deadman");
    for (size_t i = 0; i + 2 < n; ++i) ASSERT_EQ(command_of(lines[i]), "F") << i;
    EXPECT_EQ(driver.stats().written, n);
    log.restore();
    EXPECT_EQ(log.count("stop held (consumer not reading)"), 1u) << log.text();
    EXPECT_EQ(log.count("held stop delivered after"), 1u) << log.text();
}

TEST_F(PipeTest, ConsumerThatStallsUnderAFloodReadsTheHeldStopLast) {
    const std::string gate = dir_.file("gate");
    ASSERT_EQ(mkfifo(gate.c_str(), 0600), 0);
    const std::string out = dir_.file("out");
    Config::Pipe config;
    // Reads nothing from its stdin until the gate opens and closes, then copies it all.
    config.command = "sh -c 'cat \"$0\" >/dev/null; exec cat > \"$1\"' " + gate + " " + out;
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    fill(driver);
    driver.stop(stop_cmd("deadman"));
    ASSERT_TRUE(driver.stats().stop_held);
    for (int i = 0; i < 200; ++i) driver.command(drive("F"));  // the flood goes on: dropped

    // The consumer resumes: the gate has a writer once the consumer waits on it.
    int g = -1;
    ASSERT_TRUE(run_until([&] {
        g = open(gate.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return g >= 0;
    }));
    close(g);
    ASSERT_TRUE(run_until([&] { return !driver.stats().stop_held; }, 5000));
    const uint64_t written = driver.stats().written;
    ASSERT_TRUE(run_until([&] { return file_lines(out).size() == written; }, 5000));
    const auto lines = file_lines(out);
    EXPECT_EQ(command_of(lines.back()), "stop");
    EXPECT_EQ(reason_of(lines.back()), "deadman");
    for (size_t i = 0; i + 1 < lines.size(); ++i) ASSERT_EQ(command_of(lines[i]), "F") << i;
}

TEST_F(PipeTest, FifoReaderGoneThenBackGetsTheHeldStopFirst) {
    const Config::Pipe config = fifo_config();
    LineReader reader(open_reader(config.path));
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    driver.command(drive("F"));
    ASSERT_TRUE(run_until([&] { return reader.lines().size() == 1; }));
    reader.close_fd();
    driver.stop(stop_cmd("deadman"));  // EPIPE: held while the driver waits for a reader
    EXPECT_TRUE(driver.stats().stop_held);
    driver.command(drive("B"));
    EXPECT_EQ(driver.stats().dropped, 1u);
    run_for(60);  // several reopen attempts find nobody
    EXPECT_TRUE(driver.stats().stop_held);

    reader.reset(open_reader(config.path));
    ASSERT_TRUE(run_until([&] { return reader.lines().size() >= 2; }));
    EXPECT_EQ(command_of(reader.lines()[1]), "stop");
    EXPECT_EQ(reason_of(reader.lines()[1]), "deadman");
    driver.command(drive("R"));
    ASSERT_TRUE(run_until([&] { return reader.lines().size() >= 3; }));
    EXPECT_EQ(command_of(reader.lines()[2]), "R");
    EXPECT_FALSE(driver.stats().stop_held);
}

TEST_F(PipeTest, ARestartedConsumerGetsTheHeldStopFirst) {
    const std::string out = dir_.file("out");
    Config::Pipe config;
    // Each instance records its pid and the first two lines it reads, then exits.
    config.command =
        "sh -c 'for i in 1 2; do read -r line; echo \"$$ $line\" >> \"$0\"; done; exit 3' " + out;
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    driver.command(drive("F"));
    // Down between an exit and its restart (at least 20 ms away).
    ASSERT_TRUE(
        run_until([&] { return driver.consumer_starts() == 1 && driver.consumer_pid() < 0; }));
    driver.stop(stop_cmd("deadman"));
    EXPECT_TRUE(driver.stats().stop_held);
    driver.command(drive("B"));  // dropped: nobody to take it, and the stop goes first
    ASSERT_TRUE(run_until([&] { return file_lines(out).size() >= 2; }, 3000));
    const auto lines = file_lines(out);
    const auto pid = [](const std::string& l) { return l.substr(0, l.find(' ')); };
    const auto line = [](const std::string& l) { return l.substr(l.find(' ') + 1); };
    EXPECT_NE(pid(lines[0]), pid(lines[1]));
    EXPECT_EQ(command_of(line(lines[0])), "F");
    EXPECT_EQ(command_of(line(lines[1])), "stop");
    EXPECT_EQ(reason_of(line(lines[1])), "deadman");
    EXPECT_FALSE(driver.stats().stop_held);
}

// A stop written into a consumer's pipe is gone with the consumer if it dies before reading
// it; hardware that keeps its last command would keep moving. Every new reader starts from
// a stop, so the restarted consumer stops it.
TEST_F(PipeTest, AStopAConsumerDiedWithoutReadingIsRepeatedToItsSuccessor) {
    const std::string out = dir_.file("out");
    Config::Pipe config;
    // Reads two lines (the new reader's stop, then F), then dies before reading more.
    config.command =
        "sh -c 'for i in 1 2; do read -r line; echo \"$$ $line\" >> \"$0\"; done; sleep 0.3; "
        "exit 3' " +
        out;
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    driver.command(drive("F"));
    ASSERT_TRUE(run_until([&] { return file_lines(out).size() == 1; }, 3000));
    driver.stop(stop_cmd("deadman"));  // written whole into the pipe: never read
    EXPECT_FALSE(driver.stats().stop_held);
    ASSERT_TRUE(run_until([&] { return driver.consumer_starts() == 2; }, 3000));
    std::vector<std::string> all;
    ASSERT_TRUE(run_until(
        [&] {
            std::ifstream in(out);
            all.clear();
            for (std::string l; std::getline(in, l);) all.push_back(l);
            return all.size() >= 3;
        },
        3000));
    const auto pid = [](const std::string& l) { return l.substr(0, l.find(' ')); };
    const auto line = [](const std::string& l) { return l.substr(l.find(' ') + 1); };
    EXPECT_EQ(reason_of(line(all[0])), "new reader");
    EXPECT_EQ(command_of(line(all[1])), "F");
    EXPECT_NE(pid(all[2]), pid(all[1])) << "the successor";
    EXPECT_EQ(command_of(line(all[2])), "stop");
    EXPECT_EQ(reason_of(line(all[2])), "new reader");
}

TEST_F(PipeTest, EveryNewFifoReaderStartsFromAStop) {
    const Config::Pipe config = fifo_config();
    LineReader reader(open_reader(config.path));
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    ASSERT_TRUE(run_until([&] { return reader.new_reader_stops() == 1; }));
    driver.command(drive("F"));
    ASSERT_TRUE(run_until([&] { return reader.lines().size() == 1; }));
    reader.close_fd();
    driver.command(drive("B"));  // EPIPE: the reader is gone
    reader.reset(open_reader(config.path));
    ASSERT_TRUE(run_until([&] { return reader.new_reader_stops() == 1; }, 3000));
    EXPECT_EQ(driver.stats().written, 1u) << "robotd's own stops are not counted as written";
}

// SIGHUP replacing the driver: the new consumer starts only once the old one is gone, so two
// never drive the same hardware at once (one that ignores EOF gets SIGTERM after 0.5 s).
TEST_F(PipeTest, AReplacingDriversConsumerStartsOnceTheOldOneIsGone) {
    Config::Pipe config;
    config.command = "sh -c 'exec sleep 1000'";
    auto old_driver = std::make_unique<PipeDriver>(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(old_driver->start(&error)) << error;
    const pid_t old_pid = old_driver->consumer_pid();
    ASSERT_GT(old_pid, 0);
    old_driver.reset();
    PipeDriver driver(config, loop_, log_, fast());
    ASSERT_TRUE(driver.start(&error)) << error;
    EXPECT_LT(driver.consumer_pid(), 0) << "it waits";
    ASSERT_TRUE(run_until([&] { return driver.consumer_pid() > 0; }, 5000));
    EXPECT_NE(kill(old_pid, 0), 0) << "the old consumer was gone first";
    EXPECT_EQ(loop_.reaper().alive(), 1u);
}

TEST_F(PipeTest, DestroyingTheDriverDeliversAHeldStop) {
    const Config::Pipe config = fifo_config();
    const int rfd = open_reader(config.path);
    ASSERT_GE(rfd, 0);
    auto driver = std::make_unique<PipeDriver>(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver->start(&error)) << error;
    fill(*driver);
    driver->stop(stop_cmd("deadman"));
    driver->stop(stop_cmd("exit"));  // what Motion's destructor sends
    ASSERT_TRUE(driver->stats().stop_held);
    // A reader that catches up on its own, while the driver is being destroyed; it reads to
    // EOF, which comes when the driver has let go of the FIFO.
    std::string text;
    std::thread drain([&] {
        fcntl(rfd, F_SETFL, 0);
        char buf[8192];
        pollfd p{rfd, POLLIN, 0};
        while (poll(&p, 1, 10000) == 1) {
            const ssize_t n = read(rfd, buf, sizeof buf);
            if (n <= 0) break;
            text.append(buf, size_t(n));
        }
    });
    driver.reset();
    drain.join();
    close(rfd);
    ASSERT_FALSE(text.empty());
    ASSERT_EQ(text.back(), '\n');
    text.pop_back();
    const std::string last = text.substr(text.rfind('\n') + 1);
    EXPECT_EQ(command_of(last), "stop");
    EXPECT_EQ(reason_of(last), "deadman");
}

TEST_F(PipeTest, DestroyingTheDriverWaitsForAStalledReaderOnlySoLong) {
    StderrCapture log;
    const Config::Pipe config = fifo_config();
    LineReader reader(open_reader(config.path));  // never reads
    PipeTimings timings = fast();
    timings.flush_ms = 200;
    auto driver = std::make_unique<PipeDriver>(config, loop_, log_, timings);
    std::string error;
    ASSERT_TRUE(driver->start(&error)) << error;
    fill(*driver);
    driver->stop(stop_cmd("exit"));
    const int64_t t0 = mono_us();
    driver.reset();
    const int64_t took_ms = (mono_us() - t0) / 1000;
    EXPECT_GE(took_ms, 190);   // it did wait for the reader
    EXPECT_LT(took_ms, 5000);  // and then gave up
    log.restore();
    EXPECT_EQ(log.count("a held stop could not be delivered within 200 ms (timed out)"), 1u)
        << log.text();
}

TEST_F(PipeTest, StopToAFileIsWrittenLikeAnyLine) {
    const std::string path = dir_.file("lines.jsonl");
    Config::Pipe config;
    config.path = path;
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    driver.stop(stop_cmd("exit"));
    const auto lines = file_lines(path);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(reason_of(lines[0]), "exit");
    EXPECT_EQ(driver.stats().written, 1u);
    EXPECT_FALSE(driver.stats().stop_held);
}
