// Upload against a scripted loopback relay: the chunked POST and its headers, a redirect
// refused (never followed), and what the owner reads while a relay is dead and when it is
// back: one warning, summaries at growing intervals, one line on recovery.
#include "net/upload.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "fake_http_server.h"
#include "loop_harness.h"

namespace robotd {
namespace {

// Fast retries for tests; healthy after 300 ms.
constexpr RetryRules kFast{20, 80, 300};

// The robotd log lines in captured stderr that carry `tag`, as "L text" (level letter, text).
std::vector<std::string> tagged(const std::string& captured, const std::string& tag) {
    std::vector<std::string> out;
    std::istringstream in(captured);
    const std::string mark = " " + tag + ": ";
    for (std::string line; std::getline(in, line);) {
        const size_t at = line.find(mark);
        if (at == std::string::npos || at < 2 || line[0] != '[') continue;
        out.push_back(line.substr(at - 1, 1) + " " + line.substr(at + mark.size()));
    }
    return out;
}

size_t count_level(const std::vector<std::string>& lines, char level) {
    size_t n = 0;
    for (const auto& l : lines) n += l[0] == level;
    return n;
}

bool any_has(const std::vector<std::string>& lines, const std::string& text) {
    for (const auto& l : lines)
        if (l.find(text) != std::string::npos) return true;
    return false;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

// A loopback port nobody listens on (bound, then closed).
int dead_port() {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 0;
    return ntohs(a.sin_port);
}

class UploadTest : public LoopTest {
  protected:
    UploadTest() : LoopTest(LogLevel::Debug) {}

    Url relay(int port, const std::string& path = "/sk/640/480") {
        return Url{"http", "127.0.0.1", port, path};
    }

    // `up` opened at `url` until `done(failures so far)` or `timeout_ms`, then `linger_ms`
    // more, then closed: whether `done` held, and the upload's log lines meanwhile.
    struct Run {
        bool done;
        std::vector<std::string> lines;
    };
    Run run_failing(Upload& up, const Url& url, const std::function<bool(int failures)>& done,
                    int timeout_ms, int linger_ms = 0) {
        int failures = 0;
        up.on_failing([&](int n) { failures = n; });
        testing::internal::CaptureStderr();
        up.open(url);
        const bool held = run_until([&] { return done(failures); }, timeout_ms);
        if (linger_ms > 0) run_for(linger_ms);
        up.close();
        up.on_failing(nullptr);  // `failures` ends here
        return {held, tagged(testing::internal::GetCapturedStderr(), "video")};
    }

    PacketRing ring_{64 * 1024};
    std::atomic<int> keyframes_{0};
};

TEST_F(UploadTest, StreamsAChunkedPostWithItsHeaders) {
    FakeHttpServer server([](const FakeHttpServer::Request&) { return FakeHttpServer::hold(); });
    Upload up(
        loop_, "video", ring_, [&] { ++keyframes_; }, kFast);
    up.open(relay(server.port()));
    ASSERT_TRUE(run_until([&] { return up.streaming(); }, 10000));
    const uint8_t frame[100] = {0x47};
    ASSERT_TRUE(ring_.push(frame, sizeof frame, {mono_us(), true}));
    up.pump();
    // One chunk: "64\r\n" + 100 bytes + "\r\n".
    ASSERT_TRUE(run_until([&] { return server.body_bytes() >= 106; }, 10000));
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].target, "/sk/640/480/");
    EXPECT_NE(reqs[0].head.find("transfer-encoding: chunked\r\n"), std::string::npos)
        << reqs[0].head;
    EXPECT_NE(reqs[0].head.find("content-type: video/mp2t\r\n"), std::string::npos) << reqs[0].head;
    EXPECT_EQ(up.stats().records, 1u);
    EXPECT_GE(keyframes_.load(), 1);
}

// The header callback writes into the room lws says is left, which a long path shrinks.
TEST_F(UploadTest, HeadersFitBesideALongPath) {
    FakeHttpServer server([](const FakeHttpServer::Request&) { return FakeHttpServer::hold(); });
    Upload up(
        loop_, "video", ring_, [] {}, kFast);
    const std::string path = "/" + std::string(1900, 'k') + "/640/480";
    up.open(relay(server.port(), path));
    ASSERT_TRUE(run_until([&] { return up.streaming() && server.request_count() == 1; }, 10000));
    const auto reqs = server.requests();
    EXPECT_EQ(reqs[0].target, path + "/");
    EXPECT_NE(reqs[0].head.find("content-type: video/mp2t\r\n"), std::string::npos);
}

TEST_F(UploadTest, ARelayRedirectIsRefusedAndNeverFollowed) {
    FakeHttpServer target([](const FakeHttpServer::Request&) { return FakeHttpServer::hold(); });
    FakeHttpServer server([&](const FakeHttpServer::Request& r) {
        return FakeHttpServer::answer(302, "Location: " + target.url() + r.target + "\r\n");
    });
    Upload up(
        loop_, "video", ring_, [] {}, kFast);
    // After two failures, 200 ms more: a followed redirect would reach the target by then.
    const auto [failed_twice, lines] = run_failing(
        up, relay(server.port()), [](int failures) { return failures >= 2; }, 10000, 200);
    ASSERT_TRUE(failed_twice) << joined(lines);
    EXPECT_EQ(target.accepted(), 0u);
    EXPECT_GE(server.request_count(), 2u);
    ASSERT_EQ(count_level(lines, 'W'), 1u) << joined(lines);
    const std::string expected = "W cannot upload to " + server.url() +
                                 "/sk/640/480: the relay redirected (HTTP 302) to '" +
                                 target.url() +
                                 "/sk/640/480/', which robotd does not follow: the info server "
                                 "must name the relay's final address; retrying in ";
    bool found = false;
    for (const auto& l : lines) found = found || l.rfind(expected, 0) == 0;
    EXPECT_TRUE(found) << joined(lines);
}

// lws reads nothing while a body is pending: the upload itself notices that the relay
// ended the connection, with no record to write.
TEST_F(UploadTest, ARelayThatHangsUpMidBodyIsNoticedWithoutWriting) {
    FakeHttpServer server([](const FakeHttpServer::Request&) { return FakeHttpServer::Reply{}; });
    Upload up(
        loop_, "video", ring_, [] {}, kFast);
    const auto [failed, lines] = run_failing(
        up, relay(server.port()), [](int failures) { return failures >= 1; }, 10000);
    ASSERT_TRUE(failed) << joined(lines);
    EXPECT_TRUE(any_has(lines, "(the relay closed the connection)")) << joined(lines);
}

// A TLS relay that accepts and never answers the ClientHello: lws' own timeout for that is
// only a far backstop (310 s), so the upload's bound drops the attempt and retries.
TEST_F(UploadTest, ARelayThatNeverCompletesTheTlsHandshakeIsDroppedAndRetried) {
    FakeHttpServer server([](const FakeHttpServer::Request&) { return FakeHttpServer::hold(); });
    Upload up(
        loop_, "video", ring_, [] {}, kFast, 1500);
    const auto [retried, lines] = run_failing(
        up, Url{"https", "127.0.0.1", server.port(), "/sk/640/480"},
        [&](int failures) { return failures >= 2 && server.accepted() >= 3; }, 15000);
    ASSERT_TRUE(retried) << joined(lines);
    EXPECT_FALSE(up.streaming());
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines[0].find("no connection to the relay within 1.5 s; retrying in "),
              std::string::npos)
        << joined(lines);
}

// A relay that begins an answer mid-body and never finishes it: the upload's own bound (not
// lws' far backstop) ends the wait, and the upload reconnects.
TEST_F(UploadTest, ARelayThatNeverFinishesItsAnswerIsDroppedAndRetried) {
    FakeHttpServer server([](const FakeHttpServer::Request&) {
        return FakeHttpServer::Reply{"HTTP/1.1 503 Busy\r\n", true};
    });
    Upload up(
        loop_, "video", ring_, [] {}, kFast);
    const auto [retried, lines] = run_failing(
        up, relay(server.port()),
        [&](int failures) { return failures >= 1 && server.accepted() >= 2; },
        Upload::kAnswerMs + 8000);
    ASSERT_TRUE(retried) << joined(lines);
    EXPECT_TRUE(any_has(lines, "the relay began an answer and did not finish it within 5.0 s"))
        << joined(lines);
}

TEST_F(UploadTest, ADeadRelayWarnsOnceThenOnlyAtDebug) {
    const int port = dead_port();
    ASSERT_NE(port, 0);
    Upload up(
        loop_, "video", ring_, [] {}, kFast);
    const auto [failed, lines] = run_failing(
        up, relay(port), [](int failures) { return failures >= 6; }, 10000);
    ASSERT_TRUE(failed) << joined(lines);
    EXPECT_EQ(count_level(lines, 'W'), 1u) << joined(lines);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].rfind("W cannot upload to http://127.0.0.1:" + std::to_string(port), 0), 0u)
        << joined(lines);
    size_t quiet = 0;
    for (const auto& l : lines) quiet += l.rfind("D upload attempt ", 0) == 0;
    EXPECT_GE(quiet, 5u) << joined(lines);
}

TEST_F(UploadTest, RecoveryIsOneLineOnceTheLinkHasLasted) {
    // Three refusals, then a relay that takes the stream.
    std::atomic<int> seen{0};
    FakeHttpServer server([&](const FakeHttpServer::Request&) {
        return ++seen <= 3 ? FakeHttpServer::answer(503) : FakeHttpServer::hold();
    });
    Upload up(
        loop_, "video", ring_, [] {}, kFast);
    testing::internal::CaptureStderr();
    up.open(relay(server.port()));
    bool back = false;
    const bool recovered = run_until(
        [&] {
            back = back || (seen.load() >= 4 && up.streaming());
            return back;
        },
        10000);
    run_for(1500);  // past healthy_ms and the next watchdog tick
    up.close();
    const auto lines = tagged(testing::internal::GetCapturedStderr(), "video");
    ASSERT_TRUE(recovered) << joined(lines);
    std::vector<std::string> shown;  // what an owner sees at the default level
    for (const auto& l : lines)
        if (l[0] != 'D') shown.push_back(l);
    const std::string url = server.url() + "/sk/640/480";
    // The first connection may count as up before its refusal arrives, or not.
    if (!shown.empty() && shown[0] == "I uploading to " + url) shown.erase(shown.begin());
    ASSERT_EQ(shown.size(), 3u) << joined(lines);
    EXPECT_EQ(shown[0].rfind("W cannot upload to " + url + ": ", 0), 0u) << shown[0];
    EXPECT_NE(shown[0].find("the relay answered HTTP 503"), std::string::npos) << shown[0];
    EXPECT_EQ(shown[1].rfind("I uploading to " + url + " again, after 3 attempts over ", 0), 0u)
        << shown[1];
    EXPECT_EQ(shown[2].rfind("I upload closed (", 0), 0u) << shown[2];
}

// The line sequence over three hours of a dead relay, on a scripted clock: the policy's
// First, Summary and Quiet steps become one warning, summaries at growing intervals, and
// debug lines.
TEST(UploadLog, ADeadRelayWritesAFewLinesAtGrowingIntervals) {
    RetryPolicy policy(Upload::kRetry);
    const std::string url = "http://relay:1567/sk/640/480";
    std::vector<int64_t> warn_at_s;
    std::vector<std::string> warnings;
    int64_t now = 0;
    for (int i = 0; i < 400; ++i) {
        const RetryPolicy::Step step = policy.failed(now, 0.5);
        const UploadLogLine line =
            upload_failure_line(url, step, policy.outage_text(now), "connection refused", false);
        if (line.level == LogLevel::Warn) {
            warn_at_s.push_back(now / 1000000);
            warnings.push_back(line.text);
        } else {
            EXPECT_EQ(line.level, LogLevel::Debug);
            EXPECT_EQ(line.text.rfind("upload attempt " + std::to_string(step.failures) +
                                          " failed: connection refused; retry in ",
                                      0),
                      0u)
                << line.text;
        }
        now += int64_t(step.delay_ms) * 1000;
    }
    ASSERT_GE(warnings.size(), 5u);
    EXPECT_LE(warnings.size(), 10u);  // 400 attempts over ~3 h
    EXPECT_EQ(warnings[0], "cannot upload to " + url + ": connection refused; retrying in 0.5 s");
    EXPECT_EQ(warn_at_s[0], 0);
    for (size_t i = 1; i < warnings.size(); ++i) {
        EXPECT_NE(warnings[i].find("upload to " + url + " still failing after "), std::string::npos)
            << warnings[i];
        EXPECT_NE(warnings[i].find(": connection refused; check the relay and [robot] stream_key"),
                  std::string::npos)
            << warnings[i];
        if (i >= 2) {  // each interval as long as the one before, give or take one retry
            EXPECT_GE(warn_at_s[i] - warn_at_s[i - 1], warn_at_s[i - 1] - warn_at_s[i - 2] - 30);
        }
    }
    EXPECT_GE(warn_at_s[1], 60);
}

TEST(UploadLog, ALostStreamSaysSoOnce) {
    RetryPolicy policy(Upload::kRetry);
    policy.succeeded(0);
    const RetryPolicy::Step step = policy.failed(3600LL * 1000000, 0.0);
    const UploadLogLine line = upload_failure_line("http://relay:1567/sk/640/480", step,
                                                   policy.outage_text(3600LL * 1000000),
                                                   "the relay closed the connection", true);
    EXPECT_EQ(line.level, LogLevel::Warn);
    EXPECT_EQ(line.text,
              "upload to http://relay:1567/sk/640/480 lost: the relay closed the connection; "
              "reconnecting in 0.5 s");
}

}  // namespace
}  // namespace robotd
