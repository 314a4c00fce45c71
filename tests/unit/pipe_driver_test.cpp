// The pipe driver on a real loop: a FIFO with and without a reader, a regular file, stdout,
// a consumer that exits (restarted) and one that never reads (the loop keeps its time).
// Also the line format (escaping, bounds) and the driver factory.
#include "hw/pipe_driver.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "hw/pipe_line.h"
#include "loop_harness.h"
#include "net/loop.h"

using namespace robotd;

namespace {

// A fresh directory, removed with what is in it at the end of the test.
class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/robotd-pipe-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() {
        for (const auto& f : files_) unlink(f.c_str());
        rmdir(path_.c_str());
    }
    std::string file(const std::string& name) {
        files_.push_back(path_ + "/" + name);
        return files_.back();
    }

  private:
    std::string path_;
    std::vector<std::string> files_;
};

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
    const std::vector<std::string>& lines() {
        char buf[8192];
        if (fd_ >= 0)
            for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) partial_.append(buf, size_t(n));
        for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
            lines_.push_back(partial_.substr(0, nl));
            partial_.erase(0, nl + 1);
        }
        return lines_;
    }

  private:
    int fd_ = -1;
    std::string partial_;
    std::vector<std::string> lines_;
};

// Everything the process writes to stderr (the log) while it lives.
class StderrCapture {
  public:
    StderrCapture() {
        fflush(stderr);
        saved_ = dup(STDERR_FILENO);
        char tmpl[] = "/tmp/robotd-log-XXXXXX";
        const int fd = mkstemp(tmpl);
        path_ = tmpl;
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    ~StderrCapture() {
        restore();
        unlink(path_.c_str());
    }
    void restore() {
        if (saved_ < 0) return;
        fflush(stderr);
        dup2(saved_, STDERR_FILENO);
        close(saved_);
        saved_ = -1;
    }
    std::string text() const {
        std::ifstream in(path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    size_t count(const std::string& needle) const {
        const std::string t = text();
        size_t n = 0;
        for (size_t at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
        return n;
    }

  private:
    int saved_ = -1;
    std::string path_;
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
        t.reopen_ms = 20;
        t.restart_min_ms = 20;
        t.restart_max_ms = 200;
        t.healthy_ms = 5000;
        t.summary_ms = 100;
        return t;
    }

    TempDir dir_;
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
    int64_t took_us = 0;
    {
        StderrCapture quiet;
        PipeDriver driver(config, loop_, log_, fast());
        started = driver.start(&error);
        const int64_t t0 = mono_us();
        for (int i = 0; started && i < 2000; ++i) driver.command(drive("F"));
        took_us = mono_us() - t0;
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
    ASSERT_TRUE(
        run_until([&] { return out_lines().size() >= 3 && driver.consumer_starts() >= 3; }, 3000));
    sender.cancel();
    const auto lines = out_lines();
    const auto pid = [](const std::string& l) { return l.substr(0, l.find(' ')); };
    EXPECT_NE(pid(lines[0]), pid(lines[1]));
    EXPECT_NE(pid(lines[1]), pid(lines[2]));
    EXPECT_NE(lines[0].find("\"command\":\"F\""), std::string::npos) << lines[0];
    EXPECT_GT(driver.stats().dropped, 0u);  // lines while it was down
    log.restore();
    EXPECT_GE(log.count("exited with status 3"), 2u) << log.text();
    // The backoff doubles: 20 ms, then 40 ms.
    EXPECT_EQ(log.count("restarting it in 20 ms"), 1u) << log.text();
    EXPECT_EQ(log.count("restarting it in 40 ms"), 1u) << log.text();
}

TEST_F(PipeTest, ConsumerThatCannotStartIsRetried) {
    StderrCapture log;
    Config::Pipe config;
    config.command = "/nonexistent/consumer --flag";
    PipeDriver driver(config, loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;  // retried, not fatal
    driver.command(drive("F"));
    EXPECT_EQ(driver.stats().dropped, 1u);
    ASSERT_TRUE(run_until([&] { return log.count("trying again in 40 ms") == 1; }));
    EXPECT_EQ(driver.consumer_starts(), 0u);
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

    // Flood from a timer, 1000 lines a tick, while a probe timer measures how late the loop
    // runs it.
    constexpr uint64_t kOffered = 40000;
    const long rss_before = rss_kib();
    const int64_t t0 = mono_us();
    uint64_t sent = 0;
    Timer flood(loop_, [&] {
        for (int i = 0; i < 1000 && sent < kOffered; ++i, ++sent) driver.command(drive("F", user));
        if (sent < kOffered) flood.start_ms(1);
    });
    bool probed = false;
    int64_t probe_late_ms = 0;
    Timer probe(loop_, [&] {
        probed = true;
        probe_late_ms = (mono_us() - t0) / 1000 - 100;
    });
    flood.start_ms(1);
    probe.start_ms(100);
    ASSERT_TRUE(run_until([&] { return probed && sent == kOffered; }, 4000));
    const long rss_after = rss_kib();
    const int64_t elapsed_ms = (mono_us() - t0) / 1000;

    EXPECT_LT(probe_late_ms, 50);
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

    config.robot.type = "gpio";
    error.clear();
    EXPECT_FALSE(make_driver(config, loop_, log_, &error));
    EXPECT_NE(error.find("gpio"), std::string::npos) << error;
    EXPECT_NE(error.find("none, pipe"), std::string::npos) << error;

    config.robot.type = "pipe";
    config.pipe.command = "consumer 'unterminated";
    error.clear();
    EXPECT_FALSE(make_driver(config, loop_, log_, &error));
    EXPECT_NE(error.find("pipe.command"), std::string::npos) << error;
}
