#include "robot/lookup_reply.h"

#include <gtest/gtest.h>

using namespace robotd;

TEST(LookupReply, HostAndNumericPort) {
    auto r = parse_host_port(R"({"host":"control.example","port":8023})");
    ASSERT_TRUE(r.value) << r.error;
    EXPECT_EQ(r.value->host, "control.example");
    EXPECT_EQ(r.value->port, 8023);
}

TEST(LookupReply, PortAsString) {
    auto r = parse_host_port(R"({ "port" : "8024", "host" : "10.0.0.1" })");
    ASSERT_TRUE(r.value) << r.error;
    EXPECT_EQ(r.value->port, 8024);
}

TEST(LookupReply, BadPortsAreRefusedWithTheKeyNamed) {
    for (const char* body : {R"({"host":"h","port":0})", R"({"host":"h","port":65536})",
                             R"({"host":"h","port":"80x"})", R"({"host":"h","port":8.5})",
                             R"({"host":"h","port":null})", R"({"host":"h","port":[80]})"}) {
        auto r = parse_host_port(body);
        EXPECT_FALSE(r.value) << body;
        EXPECT_NE(r.error.find("'port'"), std::string::npos) << r.error;
    }
}

TEST(LookupReply, MissingKeySaysWhatCameInstead) {
    auto r = parse_host_port(R"({"hostname":"h","port":1})");
    ASSERT_FALSE(r.value);
    EXPECT_NE(r.error.find("no 'host'"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("hostname"), std::string::npos) << r.error;
}

TEST(LookupReply, HostMustLookLikeAHost) {
    EXPECT_FALSE(parse_host(R"({"host":""})").value);
    EXPECT_FALSE(parse_host(R"({"host":"http://x/y"})").value);
    EXPECT_FALSE(parse_host(R"({"host":"a b"})").value);
    EXPECT_FALSE(parse_host(R"({"host":42})").value);
    EXPECT_EQ(*parse_host(R"({"host":"relay.example"})").value, "relay.example");
}

TEST(LookupReply, NonJsonEmptyAndNonObjectBodies) {
    auto garbage = parse_host_port("<html>502 Bad Gateway</html>");
    ASSERT_FALSE(garbage.value);
    EXPECT_NE(garbage.error.find("not JSON"), std::string::npos) << garbage.error;
    EXPECT_NE(garbage.error.find("502 Bad Gateway"), std::string::npos) << garbage.error;
    EXPECT_NE(parse_host_port("").error.find("empty"), std::string::npos);
    EXPECT_NE(parse_host_port("[1,2]").error.find("not an object"), std::string::npos);
    EXPECT_NE(parse_host_port(R"({"host":"h","port":1} trailing)").error.find("not JSON"),
              std::string::npos);
}

TEST(LookupReply, BinaryGarbageIsExcerptedPrintably) {
    std::string body("\x01\xff\x00zz", 5);
    auto r = parse_owner(body);
    ASSERT_FALSE(r.value);
    for (char c : r.error) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
}

TEST(LookupReply, BodyOver64KiBIsRefusedBeforeParsing) {
    std::string body = R"({"host":"h","port":1,"pad":")" + std::string(70000, 'x') + "\"}";
    auto r = parse_host_port(body);
    ASSERT_FALSE(r.value);
    EXPECT_NE(r.error.find("64 KiB"), std::string::npos) << r.error;
}

TEST(LookupReply, VideoAndAudioPortsInBothSpellings) {
    EXPECT_EQ(*parse_port(R"({"mpeg_stream_port":11225})", "mpeg_stream_port").value, 11225);
    EXPECT_EQ(*parse_port(R"({"port":"11226"})", "mpeg_stream_port").value, 11226);
    EXPECT_EQ(*parse_port(R"({"audio_stream_port":11227})", "audio_stream_port").value, 11227);
    auto none = parse_port(R"({"video":1})", "audio_stream_port");
    ASSERT_FALSE(none.value);
    EXPECT_NE(none.error.find("neither 'audio_stream_port' nor 'port'"), std::string::npos);
}

TEST(LookupReply, Owner) {
    EXPECT_EQ(*parse_owner(R"({"owner":"alice"})").value, "alice");
    EXPECT_FALSE(parse_owner(R"({"owner":7})").value);
}

TEST(LookupReply, RobotSettingsAcceptLooseTypesAndIgnoreUnknownKeys) {
    auto r = parse_robot_settings(
        R"({"xres":"1280","yres":720,"mic_enabled":"false","anonymous_control":1,)"
        R"("mute_text-to-speech":true,"extra":{"a":1},"public":"maybe"})");
    ASSERT_TRUE(r.value) << r.error;
    EXPECT_EQ(*r.value->xres, 1280);
    EXPECT_EQ(*r.value->yres, 720);
    EXPECT_FALSE(*r.value->mic_enabled);
    EXPECT_TRUE(*r.value->anonymous_control);
    EXPECT_TRUE(*r.value->mute_tts);
    EXPECT_FALSE(r.value->public_robot);  // "maybe" is not a flag: left unset
    EXPECT_FALSE(r.value->dev_mode);
    EXPECT_EQ(
        describe(*r.value),
        "xres=1280 yres=720 mic_enabled=false anonymous_control=true mute_text-to-speech=true");
}

TEST(LookupReply, AbsurdResolutionsAreLeftUnset) {
    auto r = parse_robot_settings(R"({"xres":100000,"yres":-5})");
    ASSERT_TRUE(r.value);
    EXPECT_FALSE(r.value->xres);
    EXPECT_FALSE(r.value->yres);
}

// What the encoder cannot take would fail the video stream forever: left unset.
TEST(LookupReply, ResolutionsTheEncoderCannotTakeAreLeftUnset) {
    for (const char* body : {R"({"xres":4096,"yres":4095})", R"({"xres":641,"yres":14})"}) {
        auto r = parse_robot_settings(body);
        ASSERT_TRUE(r.value);
        EXPECT_FALSE(r.value->xres) << body;
        EXPECT_FALSE(r.value->yres) << body;
    }
    auto r = parse_robot_settings(R"({"xres":4094,"yres":16})");
    EXPECT_EQ(r.value->xres, 4094);
    EXPECT_EQ(r.value->yres, 16);
}

TEST(LookupReply, Moderators) {
    auto r = parse_moderators(R"({"username":"o","moderators":["m1","",3,"m2"]})");
    ASSERT_TRUE(r.value) << r.error;
    EXPECT_EQ(*r.value, (std::vector<std::string>{"m1", "m2"}));
    EXPECT_TRUE(parse_moderators(R"({"username":"o"})").value->empty());
    EXPECT_FALSE(parse_moderators(R"({"moderators":"m1"})").value);
}

TEST(LookupReply, WifiLogin) {
    auto r = parse_wifi_login(R"({"wifi_name":"net","wifi_password":"pw"})");
    ASSERT_TRUE(r.value);
    EXPECT_EQ(r.value->name, "net");
    EXPECT_EQ(r.value->password, "pw");
    EXPECT_FALSE(parse_wifi_login(R"({"wifi_name":"net"})").value);
}
