// Tests of the Engine.IO codec: frames of every type in both protocol versions, binary
// frames, the open handshake as real servers send it, and the WebSocket request path.
#include "net/eio/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace robotd::eio {
namespace {

using namespace std::string_literals;

const Version kBoth[] = {Version::V3, Version::V4};

TEST(EioDecode, EveryTextTypeInBothVersions) {
    const Type types[] = {Type::Open,    Type::Close,   Type::Ping, Type::Pong,
                          Type::Message, Type::Upgrade, Type::Noop};
    for (Version v : kBoth) {
        for (Type t : types) {
            const std::string frame = std::to_string(static_cast<int>(t)) + "data";
            std::string err;
            const auto p = decode_frame(v, frame, false, &err);
            ASSERT_TRUE(p) << frame << ": " << err;
            EXPECT_EQ(p->type, t) << frame;
            EXPECT_EQ(p->data, "data") << frame;
            EXPECT_FALSE(p->binary) << frame;
        }
    }
}

TEST(EioDecode, PingPongAndProbes) {
    for (Version v : kBoth) {
        auto p = decode_frame(v, "2", false, nullptr);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->type, Type::Ping);
        EXPECT_EQ(p->data, "");
        p = decode_frame(v, "3probe", false, nullptr);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->type, Type::Pong);
        EXPECT_EQ(p->data, "probe");
        p = decode_frame(v, "2probe", false, nullptr);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->type, Type::Ping);
        EXPECT_EQ(p->data, "probe");
    }
}

TEST(EioDecode, MessageKeepsTheSocketIoPacketVerbatim) {
    const std::string frame = R"(42["command_to_robot",{"command":"F","robot_id":"1"}])";
    const auto p = decode_frame(Version::V4, frame, false, nullptr);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type, Type::Message);
    EXPECT_EQ(p->data, frame.substr(1));
}

TEST(EioEncode, TextFrames) {
    EXPECT_EQ(encode_text(Type::Ping), "2");
    EXPECT_EQ(encode_text(Type::Pong), "3");
    EXPECT_EQ(encode_text(Type::Pong, "probe"), "3probe");
    EXPECT_EQ(encode_text(Type::Ping, "probe"), "2probe");
    EXPECT_EQ(encode_text(Type::Upgrade), "5");
    EXPECT_EQ(encode_text(Type::Close), "1");
    EXPECT_EQ(encode_text(Type::Message, "40"), "440");
    EXPECT_EQ(encode_text(Type::Message, R"(2["robot_id","r1"])"), R"(42["robot_id","r1"])");
}

TEST(EioEncode, TextRoundTrip) {
    const std::string datas[] = {"", "probe", "0", R"(2["a",{"b":[1,2]}])", "\xc3\xa9t\xc3\xa9"};
    for (Version v : kBoth) {
        for (int t = 0; t <= 6; ++t) {
            for (const auto& d : datas) {
                const Packet want{static_cast<Type>(t), d, false};
                const auto got = decode_frame(v, encode_text(want.type, d), false, nullptr);
                ASSERT_TRUE(got);
                EXPECT_EQ(*got, want) << t << " " << d;
            }
        }
    }
}

TEST(EioBinary, V3StripsTheTypeByte) {
    const std::string frame = "\x04\x00\x01\xff"s;
    const auto p = decode_frame(Version::V3, frame, true, nullptr);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type, Type::Message);
    EXPECT_TRUE(p->binary);
    EXPECT_EQ(p->data, "\x00\x01\xff"s);
    // A message byte with nothing after it is an empty attachment.
    const auto empty = decode_frame(Version::V3, "\x04"s, true, nullptr);
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->data, "");
}

TEST(EioBinary, V4IsThePayloadItself) {
    const std::string frame = "\x04\x00\x01\xff"s;
    const auto p = decode_frame(Version::V4, frame, true, nullptr);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type, Type::Message);
    EXPECT_TRUE(p->binary);
    EXPECT_EQ(p->data, frame);
    const auto empty = decode_frame(Version::V4, "", true, nullptr);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->binary);
    EXPECT_EQ(empty->data, "");
}

TEST(EioBinary, V3BadLeadingByte) {
    std::string err;
    // The digit '4' (0x34) is the text form, not the binary type byte.
    EXPECT_FALSE(decode_frame(Version::V3, "4abc", true, &err));
    EXPECT_NE(err.find("leading byte 52"), std::string::npos) << err;
    EXPECT_FALSE(decode_frame(Version::V3, "\x02"s, true, &err));
    EXPECT_NE(err.find("leading byte 2"), std::string::npos) << err;
    EXPECT_FALSE(decode_frame(Version::V3, "", true, &err));
    EXPECT_NE(err.find("empty binary frame"), std::string::npos) << err;
}

TEST(EioBinary, EncodeRoundTrip) {
    const std::string bytes = "\x00\x04payload\xfe"s;
    EXPECT_EQ(encode_binary(Version::V3, bytes), "\x04"s + bytes);
    EXPECT_EQ(encode_binary(Version::V4, bytes), bytes);
    for (Version v : kBoth) {
        const auto p = decode_frame(v, encode_binary(v, bytes), true, nullptr);
        ASSERT_TRUE(p);
        EXPECT_EQ(*p, (Packet{Type::Message, bytes, true}));
    }
}

TEST(EioDecode, BadTextFrames) {
    struct Case {
        std::string frame;
        std::string reason;
    };
    const Case cases[] = {
        {"", "empty text frame"},
        {"7", "unknown packet type '7'"},
        {"99", "unknown packet type '9'"},
        {"x42", "unknown packet type 'x'"},
        {"/", "unknown packet type '/'"},
        {"\x01"
         "2",
         "unknown packet type '?'"},
        {"b4AAEC", "base64"},
    };
    for (Version v : kBoth) {
        for (const auto& c : cases) {
            std::string err;
            EXPECT_FALSE(decode_frame(v, c.frame, false, &err)) << c.frame;
            EXPECT_NE(err.find(c.reason), std::string::npos) << c.frame << " -> " << err;
        }
    }
}

TEST(EioHandshake, SocketIo2Sample) {
    std::string err;
    const auto frame = decode_frame(
        Version::V3,
        R"(0{"sid":"Lbo5JLzTotvW3g2LAAAA","upgrades":["websocket"],"pingInterval":25000,)"
        R"("pingTimeout":5000})",
        false, &err);
    ASSERT_TRUE(frame) << err;
    ASSERT_EQ(frame->type, Type::Open);
    const auto h = parse_open(frame->data, &err);
    ASSERT_TRUE(h) << err;
    EXPECT_EQ(h->sid, "Lbo5JLzTotvW3g2LAAAA");
    EXPECT_EQ(h->ping_interval_ms, 25000u);
    EXPECT_EQ(h->ping_timeout_ms, 5000u);
    EXPECT_EQ(h->max_payload, 1000000u);  // not sent by EIO3: the default
    EXPECT_EQ(h->upgrades, std::vector<std::string>{"websocket"});
}

TEST(EioHandshake, SocketIo4Sample) {
    std::string err;
    const auto h = parse_open(R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,)"
                              R"("pingTimeout":20000,"maxPayload":1000000})",
                              &err);
    ASSERT_TRUE(h) << err;
    EXPECT_EQ(h->sid, "lv_VI97HAXpY6yYWAAAC");
    EXPECT_EQ(h->ping_interval_ms, 25000u);
    EXPECT_EQ(h->ping_timeout_ms, 20000u);
    EXPECT_EQ(h->max_payload, 1000000u);
    EXPECT_TRUE(h->upgrades.empty());
}

TEST(EioHandshake, OtherValuesAreRead) {
    const auto h =
        parse_open(R"({"sid":"s","pingInterval":300,"pingTimeout":200,"maxPayload":4096,)"
                   R"("upgrades":["websocket","webtransport"]})",
                   nullptr);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->ping_interval_ms, 300u);
    EXPECT_EQ(h->ping_timeout_ms, 200u);
    EXPECT_EQ(h->max_payload, 4096u);
    EXPECT_EQ(h->upgrades, (std::vector<std::string>{"websocket", "webtransport"}));
}

TEST(EioHandshake, MissingOptionalKeysKeepDefaults) {
    const auto h = parse_open(R"({"sid":"abc"})", nullptr);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->ping_interval_ms, 25000u);
    EXPECT_EQ(h->ping_timeout_ms, 20000u);
    EXPECT_EQ(h->max_payload, 1000000u);
    EXPECT_TRUE(h->upgrades.empty());
}

TEST(EioHandshake, BadOpenPackets) {
    struct Case {
        std::string json;
        std::string reason;
    };
    const Case cases[] = {
        {"", "not JSON"},
        {"{", "not JSON"},
        {R"({"sid":"a"}x)", "trailing"},
        {R"(["sid"])", "not a JSON object"},
        {R"("sid")", "not a JSON object"},
        {R"({"upgrades":[]})", "no sid"},
        {R"({"sid":""})", "no sid"},
        {R"({"sid":42})", "no sid"},
        {R"({"sid":"a","pingInterval":0})", "bad pingInterval"},
        {R"({"sid":"a","pingInterval":-5})", "bad pingInterval"},
        {R"({"sid":"a","pingInterval":2.5})", "bad pingInterval"},
        {R"({"sid":"a","pingInterval":"soon"})", "bad pingInterval"},
        {R"({"sid":"a","pingInterval":2147483648})", "bad pingInterval"},
        {R"({"sid":"a","pingTimeout":null})", "bad pingTimeout"},
        {R"({"sid":"a","maxPayload":4294967296})", "bad maxPayload"},
        {R"({"sid":"a","upgrades":"websocket"})", "upgrades is not an array"},
        {R"({"sid":"a","upgrades":["websocket",1]})", "non-string"},
    };
    for (const auto& c : cases) {
        std::string err;
        EXPECT_FALSE(parse_open(c.json, &err)) << c.json;
        EXPECT_NE(err.find(c.reason), std::string::npos) << c.json << " -> " << err;
        EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    }
}

TEST(EioHandshake, LimitsAtTheEdges) {
    const auto h = parse_open(
        R"({"sid":"a","pingInterval":2147483647,"pingTimeout":1,"maxPayload":4294967295})",
        nullptr);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->ping_interval_ms, 2147483647u);
    EXPECT_EQ(h->ping_timeout_ms, 1u);
    EXPECT_EQ(h->max_payload, 4294967295u);
}

TEST(EioPath, DirectWebSocket) {
    EXPECT_EQ(ws_path(Version::V3), "/socket.io/?EIO=3&transport=websocket");
    EXPECT_EQ(ws_path(Version::V4), "/socket.io/?EIO=4&transport=websocket");
    EXPECT_EQ(ws_path(Version::V4, "/custom/"), "/custom/?EIO=4&transport=websocket");
    // engine.io only matches the path with its trailing slash.
    EXPECT_EQ(ws_path(Version::V4, "/custom"), "/custom/?EIO=4&transport=websocket");
    EXPECT_EQ(ws_path(Version::V3, "socket.io"), "/socket.io/?EIO=3&transport=websocket");
    EXPECT_EQ(ws_path(Version::V4, ""), "/?EIO=4&transport=websocket");
    EXPECT_EQ(ws_path(Version::V4, "/socket.io/?token=abc"),
              "/socket.io/?EIO=4&transport=websocket&token=abc");
}

TEST(EioNames, EveryType) {
    EXPECT_STREQ(type_name(Type::Open), "open");
    EXPECT_STREQ(type_name(Type::Ping), "ping");
    EXPECT_STREQ(type_name(Type::Message), "message");
    EXPECT_STREQ(type_name(Type::Noop), "noop");
}

}  // namespace
}  // namespace robotd::eio
