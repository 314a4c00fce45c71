// Upload against a scripted loopback relay: the chunked POST and its headers, a redirect
// refused (never followed), a relay that hangs up mid-body.
#include "net/upload.h"

#include <gtest/gtest.h>

#include <atomic>
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

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

class UploadTest : public LoopTest {
  protected:
    UploadTest() : LoopTest(LogLevel::Debug) {}

    Url relay(int port, const std::string& path = "/sk/640/480") {
        return Url{"http", "127.0.0.1", port, path};
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
    int failures = 0;
    up.on_failing([&](int n) { failures = n; });
    testing::internal::CaptureStderr();
    up.open(relay(server.port()));
    const bool failed_twice = run_until([&] { return failures >= 2; }, 10000);
    run_for(200);  // a followed redirect would reach the target by now
    up.close();
    const auto lines = tagged(testing::internal::GetCapturedStderr(), "video");
    ASSERT_TRUE(failed_twice) << joined(lines);
    EXPECT_EQ(target.accepted(), 0u);
    EXPECT_GE(server.request_count(), 2u);
    const std::string expected = "the relay redirected (HTTP 302) to '" + target.url() +
                                 "/sk/640/480/', which robotd does not follow: the info server "
                                 "must name the relay's final address";
    bool found = false;
    for (const auto& l : lines)
        found = found || (l[0] == 'W' && l.find(expected) != std::string::npos);
    EXPECT_TRUE(found) << joined(lines);
}

// lws reads nothing while a body is pending: the upload itself notices that the relay
// ended the connection, with no record to write.
TEST_F(UploadTest, ARelayThatHangsUpMidBodyIsNoticedWithoutWriting) {
    FakeHttpServer server([](const FakeHttpServer::Request&) { return FakeHttpServer::Reply{}; });
    Upload up(
        loop_, "video", ring_, [] {}, kFast);
    int failures = 0;
    up.on_failing([&](int n) { failures = n; });
    testing::internal::CaptureStderr();
    up.open(relay(server.port()));
    const bool failed = run_until([&] { return failures >= 1; }, 10000);
    up.close();
    const auto lines = tagged(testing::internal::GetCapturedStderr(), "video");
    ASSERT_TRUE(failed) << joined(lines);
    bool found = false;
    for (const auto& l : lines)
        found = found || l.find("(the relay closed the connection)") != std::string::npos;
    EXPECT_TRUE(found) << joined(lines);
}

}  // namespace
}  // namespace robotd
