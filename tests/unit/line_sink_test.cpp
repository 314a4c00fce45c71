// The line sink on a real loop against pipe pairs and a socketpair: a new destination's stop,
// a stop held under back-pressure, the rest of a short write, drops counted and summarised,
// and the bounded flush before its owner goes.
#include "hw/line_sink.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/unique_fd.h"
#include "loop_harness.h"
#include "stderr_capture.h"

using namespace robotd;

namespace {

const LineSink::Words kWords{"sink", "line", "reader", "no room", "no reader"};

// Both ends of a pipe (or a socketpair); the write end non-blocking, as drivers open theirs.
struct Pair {
    explicit Pair(bool socket = false) {
        int fds[2];
        const int rc = socket ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
                              : pipe2(fds, O_CLOEXEC);
        EXPECT_EQ(rc, 0) << strerror(errno);
        r.reset(fds[0]);
        w.reset(fds[1]);
        fcntl(w.get(), F_SETFL, fcntl(w.get(), F_GETFL) | O_NONBLOCK);
        fcntl(r.get(), F_SETFL, fcntl(r.get(), F_GETFL) | O_NONBLOCK);
    }
    // What the reader can read now.
    std::string read_now() {
        std::string got;
        char buf[65536];
        for (ssize_t n; (n = read(r.get(), buf, sizeof buf)) > 0;) got.append(buf, size_t(n));
        return got;
    }
    UniqueFd r, w;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    size_t at = 0;
    for (size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1)
        lines.push_back(text.substr(at, nl - at));
    return lines;
}

class LineSinkTest : public LoopTest {
  protected:
    LineSinkTest() : LoopTest(LogLevel::Debug) {}

    // Lines until one is dropped for want of room: how many went.
    static uint64_t fill(LineSink& sink, const std::string& line = "m\n") {
        for (int i = 0; i < 1000000 && sink.stats().dropped == 0; ++i) sink.send(line, false);
        EXPECT_EQ(sink.stats().dropped, 1u);
        return sink.stats().written;
    }

    std::vector<int> failures_;
    LineSink sink_{loop_, log_, kWords, 100, [this](int err) { failures_.push_back(err); }};
};

}  // namespace

TEST_F(LineSinkTest, ANewDestinationGetsAStopOfItsOwnFirstNotCounted) {
    Pair pair;
    sink_.attach(pair.w.get(), "greeting stop\n");
    EXPECT_TRUE(sink_.stats().stop_held);  // until it is out: nothing passes it
    EXPECT_TRUE(sink_.flush());
    sink_.send("a\n", false);
    EXPECT_EQ(pair.read_now(), "greeting stop\na\n");
    EXPECT_EQ(sink_.stats().written, 1u);
    EXPECT_FALSE(sink_.stats().stop_held);

    Pair plain;  // a file, stdout: no greeting
    sink_.attach(plain.w.get());
    EXPECT_TRUE(sink_.flush());
    EXPECT_EQ(plain.read_now(), "");
}

TEST_F(LineSinkTest, AStopHeldUnderBackPressureGoesFirstAndLaterStopsMergeIntoIt) {
    StderrCapture log;
    Pair pair;
    sink_.attach(pair.w.get());
    const uint64_t filled = fill(sink_);
    sink_.send("stop\n", true);
    EXPECT_TRUE(sink_.stats().stop_held);
    sink_.send("behind\n", false);  // may not pass the stop
    sink_.send("stop\n", true);     // says the same
    EXPECT_EQ(sink_.stats().dropped, 2u);
    EXPECT_EQ(sink_.stats().merged, 1u);
    EXPECT_EQ(sink_.stats().written, filled);

    // The reader catches up: the sink hears the pipe has room and sends the stop.
    std::string got;
    ASSERT_TRUE(run_until([&] {
        got += pair.read_now();
        return !sink_.stats().stop_held;
    }));
    sink_.send("after\n", false);
    got += pair.read_now();
    const std::vector<std::string> lines = lines_of(got);
    ASSERT_EQ(lines.size(), filled + 2);
    for (size_t i = 0; i < filled; ++i) ASSERT_EQ(lines[i], "m") << i;
    EXPECT_EQ(lines[filled], "stop");
    EXPECT_EQ(lines[filled + 1], "after");
    EXPECT_EQ(sink_.stats().written, filled + 2);
    EXPECT_TRUE(failures_.empty());
    log.restore();
    EXPECT_EQ(log.count("W sink: stop held (no room): it goes out first as soon as the reader"), 1u)
        << log.text();
    EXPECT_EQ(log.count("line dropped (no room)"), 1u) << log.text();
    EXPECT_EQ(log.count("I sink: held stop delivered after"), 1u) << log.text();
}

TEST_F(LineSinkTest, TheRestOfAShortWriteGoesBeforeAnythingElse) {
    Pair pair(true);
    const int small = 4096;
    ASSERT_EQ(setsockopt(pair.w.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    sink_.attach(pair.w.get());
    // Lines longer than the socket's buffer: one of them is written in part.
    const auto line = [](int i) { return std::to_string(i) + std::string(20000, 'x') + "\n"; };
    int sent = 0;
    while (!sink_.owes() && sink_.stats().dropped == 0 && sent < 10000)
        sink_.send(line(sent++), false);
    ASSERT_TRUE(sink_.owes()) << "no short write";
    EXPECT_EQ(sink_.stats().written, uint64_t(sent));  // the line begun counts as written
    sink_.send("next\n", false);                       // the rest goes first: no room for it
    EXPECT_EQ(sink_.stats().dropped, 1u);
    sink_.send("stop\n", true);

    std::string got;
    ASSERT_TRUE(run_until([&] {
        got += pair.read_now();
        return !sink_.stats().stop_held;
    }));
    sink_.send("after\n", false);
    ASSERT_TRUE(run_until([&] {
        got += pair.read_now();
        return got.size() >= 6 && got.compare(got.size() - 6, 6, "after\n") == 0;
    }));
    const std::vector<std::string> lines = lines_of(got);
    ASSERT_EQ(lines.size(), size_t(sent) + 2);
    for (int i = 0; i < sent; ++i) ASSERT_EQ(lines[size_t(i)] + "\n", line(i)) << i;
    EXPECT_EQ(lines[size_t(sent)], "stop");
    EXPECT_EQ(lines[size_t(sent) + 1], "after");
}

TEST_F(LineSinkTest, AStopHeldWithoutADestinationIsTheNextOnesFirstLineInsteadOfItsGreeting) {
    StderrCapture log;
    Pair first;
    sink_.attach(first.w.get(), "greeting\n");
    EXPECT_TRUE(sink_.flush());
    sink_.detach();
    sink_.send("stop\n", true);
    sink_.send("m\n", false);
    EXPECT_TRUE(sink_.stats().stop_held);
    EXPECT_EQ(sink_.stats().dropped, 1u);

    Pair second;
    sink_.attach(second.w.get(), "greeting\n");
    EXPECT_TRUE(sink_.flush());
    sink_.send("m\n", false);
    EXPECT_EQ(second.read_now(), "stop\nm\n");
    EXPECT_EQ(sink_.stats().written, 2u);
    log.restore();
    EXPECT_EQ(log.count("D sink: stop held (no reader)"), 1u) << log.text();  // the loss was said
    EXPECT_EQ(log.count("line dropped (no reader)"), 1u) << log.text();
}

TEST_F(LineSinkTest, AReaderGoneIsTheOwnersToRemedy) {
    Pair pair;
    sink_.attach(pair.w.get());
    pair.r.reset();
    sink_.send("m\n", false);
    EXPECT_EQ(sink_.stats().dropped, 1u);
    sink_.send("stop\n", true);
    EXPECT_TRUE(sink_.stats().stop_held);
    EXPECT_EQ(failures_, (std::vector<int>{EPIPE, EPIPE}));
}

TEST_F(LineSinkTest, DropsAreSaidOnceThenSummarised) {
    StderrCapture log;
    for (int i = 0; i < 5; ++i) sink_.drop("cannot encode");
    ASSERT_TRUE(run_until([&] { return log.count("4 lines dropped (cannot encode)") == 1; }));
    log.restore();
    EXPECT_EQ(log.count("line dropped (cannot encode); further drops are summarised every 0.1 s"),
              1u)
        << log.text();
    EXPECT_EQ(sink_.stats().dropped, 5u);
}

TEST_F(LineSinkTest, BeforeGoingAHeldStopIsWrittenWithinTheDeadlineOnly) {
    Pair pair;
    sink_.attach(pair.w.get());
    fill(sink_);
    sink_.send("stop\n", true);
    // Nobody reads: it gives up at the deadline.
    EXPECT_EQ(sink_.flush_until(mono_us() + 100 * 1000), ETIMEDOUT);
    EXPECT_TRUE(sink_.stats().stop_held);

    // A reader catching up while the owner waits.
    std::string got;
    std::thread reader([&] {
        fcntl(pair.r.get(), F_SETFL, 0);
        char buf[65536];
        while (got.size() < 5 || got.compare(got.size() - 5, 5, "stop\n") != 0) {
            const ssize_t n = read(pair.r.get(), buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, size_t(n));
        }
    });
    EXPECT_EQ(sink_.flush_until(mono_us() + 10000 * 1000), 0);
    reader.join();
    EXPECT_FALSE(sink_.stats().stop_held);
    EXPECT_EQ(got.substr(got.size() - 5), "stop\n");

    sink_.detach();
    sink_.send("stop\n", true);
    EXPECT_EQ(sink_.flush_until(mono_us() + 100 * 1000), EPIPE);  // nowhere to write it
}
