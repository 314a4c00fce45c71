#include "robot/lookups.h"

#include <gtest/gtest.h>

#include <map>

using namespace robotd;

namespace {
Config base() {
    Config c;
    c.robot.robot_id = "r1";
    c.robot.camera_id = "c1";
    c.misc.info_server = *parse_url("http://127.0.0.1:18080");
    c.misc.api_server = *parse_url("https://api.example/base");
    return c;
}
std::map<std::string, std::string> urls(const std::vector<LookupSpec>& plan) {
    std::map<std::string, std::string> out;
    for (const auto& s : plan) out[s.name] = s.server.str() + s.target;
    return out;
}
}  // namespace

TEST(Lookups, EveryTableEntryWithItsUrl) {
    Config c = base();
    c.misc.secret_key = "s3";
    auto u = urls(plan_lookups(c));
    EXPECT_EQ(u.size(), 8u);
    EXPECT_EQ(u["control"], "http://127.0.0.1:18080/get_control_host_port/r1?version=2");
    EXPECT_EQ(u["chat"], "http://127.0.0.1:18080/get_chat_host_port/r1");
    EXPECT_EQ(u["relay host"], "http://127.0.0.1:18080/get_websocket_relay_host/c1");
    EXPECT_EQ(u["video port"], "http://127.0.0.1:18080/get_video_port/c1");
    EXPECT_EQ(u["audio port"], "http://127.0.0.1:18080/get_audio_port/c1");
    EXPECT_EQ(u["owner"], "http://127.0.0.1:18080/get_robot_owner/r1");
    EXPECT_EQ(u["robot settings"], "https://api.example:443/base/api/v1/robots/r1");
    EXPECT_EQ(u["wifi login"], "http://127.0.0.1:18080/get_wifi_login/s3");
    const LookupSpec m = moderators_lookup(c, "the owner");
    EXPECT_EQ(m.server.str() + m.target,
              "https://api.example:443/base/api/v1/accounts/the%20owner");
}

TEST(Lookups, MediaLookupsFollowNoCameraAndNoMic) {
    Config c = base();
    c.camera.no_camera = true;
    auto u = urls(plan_lookups(c));
    EXPECT_FALSE(u.count("video port"));
    EXPECT_TRUE(u.count("audio port"));
    EXPECT_TRUE(u.count("relay host"));
    c.camera.no_mic = true;
    u = urls(plan_lookups(c));
    EXPECT_FALSE(u.count("relay host"));
    EXPECT_FALSE(u.count("audio port"));
    EXPECT_FALSE(u.count("wifi login"));  // no secret_key
    EXPECT_EQ(u.size(), 4u);
}

TEST(Lookups, IdsAreEscapedAsOnePathSegment) {
    EXPECT_EQ(path_segment("abc-1_2.3~"), "abc-1_2.3~");
    EXPECT_EQ(path_segment("a/b?c#d"), "a%2Fb%3Fc%23d");
    EXPECT_EQ(path_segment("\xc3\xa9"), "%C3%A9");
    Config c = base();
    c.robot.robot_id = "../x";
    EXPECT_EQ(urls(plan_lookups(c))["chat"], "http://127.0.0.1:18080/get_chat_host_port/..%2Fx");
}
