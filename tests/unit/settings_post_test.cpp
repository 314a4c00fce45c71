// Settings updates against a real HTTP server on loopback: the JSON body and the bearer
// token, a failure retried, the last value for a key winning, nothing sent without a key.
#include "robot/settings_post.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "core/text.h"
#include "fake_http_server.h"
#include "loop_harness.h"

using namespace robotd;

namespace {

class SettingsPostTest : public LoopTest {
  protected:
    Config config(const FakeHttpServer& server) {
        Config c;
        c.robot.robot_id = "r 42";
        c.robot.api_key = "sekrit";
        c.misc.api_server = *parse_url(server.url());
        c.misc.lookup_timeout = 5;
        return c;
    }
};

bool has_header(const FakeHttpServer::Request& r, const std::string& line) {
    return r.head.find("\r\n" + line + "\r\n") != std::string::npos;
}

}  // namespace

TEST_F(SettingsPostTest, PostsJsonWithTheBearerToken) {
    FakeHttpServer server(
        [](const FakeHttpServer::Request&) { return FakeHttpServer::answer(200, "", "{}"); });
    const Config c = config(server);
    SettingsPoster poster(loop_, c);
    poster.post("dev_mode", true);
    ASSERT_TRUE(run_until([&] { return poster.sent() == 1; }, 5000));
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].target, "/api/v1/robots/r%2042");
    EXPECT_EQ(reqs[0].body, "{\"dev_mode\": true}");
    EXPECT_TRUE(has_header(reqs[0], "authorization: Bearer sekrit") ||
                has_header(reqs[0], "Authorization: Bearer sekrit"))
        << reqs[0].head;
    EXPECT_NE(lower(reqs[0].head).find("content-type: application/json"), std::string::npos)
        << reqs[0].head;
}

TEST_F(SettingsPostTest, AFailureIsRetriedAndTheLastValueWins) {
    std::atomic<int> seen{0};
    FakeHttpServer server([&](const FakeHttpServer::Request&) {
        // The first answer fails: the retry must carry the newest value.
        return ++seen == 1 ? FakeHttpServer::answer(503, "", "busy")
                           : FakeHttpServer::answer(200, "", "{}");
    });
    const Config c = config(server);
    SettingsPoster poster(loop_, c);
    poster.post("public", true);
    ASSERT_TRUE(run_until([&] { return seen.load() >= 1; }, 5000));
    poster.post("public", false);  // while the first waits for its retry
    poster.post("public", true);
    poster.post("public", false);
    ASSERT_TRUE(run_until([&] { return poster.idle() && poster.sent() >= 1; }, 10000));
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].body, "{\"public\": true}");
    EXPECT_EQ(reqs[1].body, "{\"public\": false}");
    EXPECT_EQ(poster.sent(), 1u);
}

TEST_F(SettingsPostTest, EachKeyIsSentOnceWithItsLastValue) {
    FakeHttpServer server(
        [](const FakeHttpServer::Request&) { return FakeHttpServer::answer(200, "", "{}"); });
    const Config c = config(server);
    SettingsPoster poster(loop_, c);
    poster.post("public", true);  // goes at once
    poster.post("mic_enabled", true);
    poster.post("mic_enabled", false);  // replaces the waiting one
    ASSERT_TRUE(run_until([&] { return poster.idle() && poster.sent() == 2; }, 5000));
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].body, "{\"public\": true}");
    EXPECT_EQ(reqs[1].body, "{\"mic_enabled\": false}");
}

TEST_F(SettingsPostTest, WithoutAnApiKeyNothingIsSent) {
    FakeHttpServer server(
        [](const FakeHttpServer::Request&) { return FakeHttpServer::answer(200, "", "{}"); });
    Config c = config(server);
    c.robot.api_key.clear();
    SettingsPoster poster(loop_, c);
    poster.post("public", true);
    run_for(200);
    EXPECT_TRUE(poster.idle());
    EXPECT_EQ(server.accepted(), 0u);
}
