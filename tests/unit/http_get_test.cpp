// HttpGet against a scripted loopback server: a plain answer, and every kind of redirect
// refused (never followed, never resolved) with one line that says where it pointed.
#include "net/http_get.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "fake_http_server.h"
#include "loop_harness.h"

namespace robotd {
namespace {

class HttpGetTest : public LoopTest {
  protected:
    // Runs one GET of `target` on `server`; the result, or nothing on a timeout.
    std::optional<HttpResult> get(const FakeHttpServer& server, const std::string& target,
                                  const std::string& setting = {}, uint32_t timeout_ms = 5000) {
        std::optional<HttpResult> result;
        HttpGet http(loop_, [&](const HttpResult& r) { result = r; });
        HttpGet::Request req;
        req.server = *parse_url(server.url());
        req.target = target;
        req.authorization = "Bearer k";
        req.setting = setting;
        req.timeout_ms = timeout_ms;
        http.start(req);
        run_until([&] { return result.has_value(); }, timeout_ms + 5000);
        return result;
    }
};

TEST_F(HttpGetTest, AnswersA200WithItsBodyAndHeaders) {
    FakeHttpServer server([](const FakeHttpServer::Request&) {
        return FakeHttpServer::answer(200, {}, "{\"a\":1}");
    });
    const auto r = get(server, "/get_x/robot1");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ok) << r->error;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{\"a\":1}");
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "GET");
    EXPECT_EQ(reqs[0].target, "/get_x/robot1");
    EXPECT_NE(reqs[0].head.find("user-agent: robotd/"), std::string::npos) << reqs[0].head;
    EXPECT_NE(reqs[0].head.find("authorization: Bearer k\r\n"), std::string::npos) << reqs[0].head;
}

TEST_F(HttpGetTest, EveryRedirectStatusIsAnErrorNamingTheLocationAndNeverFollowed) {
    FakeHttpServer target(
        [](const FakeHttpServer::Request&) { return FakeHttpServer::answer(200, {}, "{}"); });
    for (int status : {301, 302, 303, 307, 308}) {
        SCOPED_TRACE(status);
        FakeHttpServer server([&](const FakeHttpServer::Request& r) {
            return FakeHttpServer::answer(status, "Location: " + target.url() + r.target + "\r\n");
        });
        const auto r = get(server, "/get_x/robot1", "[misc] info_server");
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->ok);
        EXPECT_EQ(r->status, status);
        EXPECT_EQ(r->error, "redirected (HTTP " + std::to_string(status) + ") to '" + target.url() +
                                "/get_x/robot1', which robotd does not follow: point [misc] "
                                "info_server at the final address");
        EXPECT_EQ(server.request_count(), 1u);
    }
    run_for(200);  // a follow-up connection, if any, would have arrived by now
    EXPECT_EQ(target.accepted(), 0u);
}

TEST_F(HttpGetTest, ARelativeRedirectIsNotFollowedToTheSameServer) {
    FakeHttpServer server([](const FakeHttpServer::Request&) {
        return FakeHttpServer::answer(302, "Location: /elsewhere\r\n");
    });
    const auto r = get(server, "/get_x/robot1");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->error,
              "redirected (HTTP 302) to '/elsewhere', which robotd does not follow: put the final "
              "address in the config");
    run_for(200);
    EXPECT_EQ(server.accepted(), 1u);
}

TEST_F(HttpGetTest, AHostileLocationIsMadePrintableAndBounded) {
    FakeHttpServer server([](const FakeHttpServer::Request&) {
        // A terminal escape, DEL and a long tail.
        return FakeHttpServer::answer(
            302, "Location: http://evil.example/\x1b[2J\x7fX" + std::string(400, 'a') + "\r\n");
    });
    const auto r = get(server, "/x");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->error.find('\x1b'), std::string::npos) << r->error;
    EXPECT_EQ(r->error.find('\x7f'), std::string::npos) << r->error;
    EXPECT_LT(r->error.size(), 300u) << r->error;
    EXPECT_NE(r->error.find("redirected (HTTP 302) to 'http://evil.example/?[2J?Xaaa"),
              std::string::npos)
        << r->error;
}

TEST_F(HttpGetTest, ARedirectWithoutLocationSaysSo) {
    FakeHttpServer server(
        [](const FakeHttpServer::Request&) { return FakeHttpServer::answer(303); });
    const auto r = get(server, "/x");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_NE(r->error.find("redirected (HTTP 303) to no Location"), std::string::npos) << r->error;
}

TEST_F(HttpGetTest, OtherErrorStatusesKeepTheirBodyExcerpt) {
    FakeHttpServer server([](const FakeHttpServer::Request&) {
        return FakeHttpServer::answer(404, {}, "{\"error\":\"no such robot\"}");
    });
    const auto r = get(server, "/x");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->error, "HTTP 404 '{\"error\":\"no such robot\"}'");
}

// lws gives the header callback the room left in its buffer; a long target leaves less of it,
// and the headers must still arrive whole.
TEST_F(HttpGetTest, HeadersFitBesideALongTarget) {
    FakeHttpServer server(
        [](const FakeHttpServer::Request&) { return FakeHttpServer::answer(200, {}, "{}"); });
    const std::string target = "/get_x/" + std::string(1900, 'r');
    const auto r = get(server, target);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ok) << r->error;
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].target, target);
    EXPECT_NE(reqs[0].head.find("authorization: Bearer k\r\n"), std::string::npos);
}

// [misc] lookup_timeout bounds a lookup, not lws: a server that answers after 6 s (past lws'
// own 5 s default for awaiting a reply) is heard when the request allows 9 s.
TEST_F(HttpGetTest, ASlowServerIsWaitedForAsLongAsTheRequestAllows) {
    FakeHttpServer server([](const FakeHttpServer::Request&) {
        return FakeHttpServer::later(6000, FakeHttpServer::answer(200, {}, "{\"slow\":1}"));
    });
    const auto r = get(server, "/get_x/robot1", {}, 9000);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ok) << r->error;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{\"slow\":1}");
}

// And the request's own bound still ends a server slower than it allows.
TEST_F(HttpGetTest, AServerSlowerThanTheRequestAllowsTimesOut) {
    FakeHttpServer server([](const FakeHttpServer::Request&) {
        return FakeHttpServer::later(5000, FakeHttpServer::answer(200, {}, "{}"));
    });
    const auto r = get(server, "/get_x/robot1", {}, 1000);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->error, "no complete reply within 1000 ms");
}

}  // namespace
}  // namespace robotd
