// Tests of the Socket.IO codec: every packet type, namespaces, ack ids, binary packets and
// their reassembly, connect errors of both protocol versions, builders and bad inputs.
#include "net/sio/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/eio/codec.h"

namespace robotd::sio {
namespace {

using namespace std::string_literals;

Packet decoded(std::string_view text) {
    std::string err;
    auto p = decode(text, &err);
    EXPECT_TRUE(p) << "'" << text << "': " << err;
    return p ? *p : Packet{};
}

// A whole text frame through both layers, as the client sees it.
std::optional<Packet> from_frame(eio::Version v, std::string_view frame, std::string* err) {
    const auto e = eio::decode_frame(v, frame, false, err);
    if (!e) return std::nullopt;
    if (e->type != eio::Type::Message) {
        *err = "not a message";
        return std::nullopt;
    }
    return decode(e->data, err);
}

TEST(SioDecode, ConnectBothProtocols) {
    // Socket.IO 2.x (EIO3) sends "40" unasked; 4.x answers the client's "40" with a sid.
    auto p = decoded("0");
    EXPECT_EQ(p.type, Type::Connect);
    EXPECT_EQ(p.nsp, "/");
    EXPECT_EQ(p.data, "");
    EXPECT_FALSE(p.id);
    p = decoded(R"(0{"sid":"wZX3oN0bSVIhsaknAAAI"})");
    EXPECT_EQ(p.type, Type::Connect);
    EXPECT_EQ(p.nsp, "/");
    EXPECT_EQ(p.data, R"({"sid":"wZX3oN0bSVIhsaknAAAI"})");
    p = decoded(R"(0/admin,{"sid":"x"})");
    EXPECT_EQ(p.nsp, "/admin");
    EXPECT_EQ(p.data, R"({"sid":"x"})");
    // A namespace may end the packet with or without its comma.
    EXPECT_EQ(decoded("0/admin,").nsp, "/admin");
    EXPECT_EQ(decoded("0/admin").nsp, "/admin");
}

TEST(SioDecode, Disconnect) {
    auto p = decoded("1");
    EXPECT_EQ(p.type, Type::Disconnect);
    EXPECT_EQ(p.nsp, "/");
    p = decoded("1/admin,");
    EXPECT_EQ(p.type, Type::Disconnect);
    EXPECT_EQ(p.nsp, "/admin");
}

TEST(SioDecode, EventsWithNamespacesAndIds) {
    auto p = decoded(R"(2["ev",1])");
    EXPECT_EQ(p.type, Type::Event);
    EXPECT_EQ(p.nsp, "/");
    EXPECT_FALSE(p.id);
    EXPECT_EQ(p.data, R"(["ev",1])");

    p = decoded(R"(212["ev"])");
    EXPECT_EQ(p.nsp, "/");
    ASSERT_TRUE(p.id);
    EXPECT_EQ(*p.id, 12u);
    EXPECT_EQ(p.data, R"(["ev"])");

    p = decoded(R"(2/admin,12["ev",{"a":1}])");
    EXPECT_EQ(p.type, Type::Event);
    EXPECT_EQ(p.nsp, "/admin");
    ASSERT_TRUE(p.id);
    EXPECT_EQ(*p.id, 12u);
    EXPECT_EQ(p.data, R"(["ev",{"a":1}])");

    // The largest id there is still fits.
    p = decoded(R"(218446744073709551615["ev"])");
    ASSERT_TRUE(p.id);
    EXPECT_EQ(*p.id, 18446744073709551615u);
    EXPECT_EQ(decoded(R"(20["ev"])").id, std::optional<uint64_t>(0));
}

TEST(SioDecode, Acks) {
    auto p = decoded(R"(35["ok",{"x":true}])");
    EXPECT_EQ(p.type, Type::Ack);
    EXPECT_EQ(p.id, std::optional<uint64_t>(5));
    EXPECT_EQ(p.data, R"(["ok",{"x":true}])");
    p = decoded("3/chat,7[]");
    EXPECT_EQ(p.nsp, "/chat");
    EXPECT_EQ(p.id, std::optional<uint64_t>(7));
    EXPECT_EQ(p.data, "[]");
    // An ack with no arguments at all (protocol 4 parsers allow it).
    p = decoded("39");
    EXPECT_EQ(p.id, std::optional<uint64_t>(9));
    EXPECT_EQ(p.data, "");
}

TEST(SioDecode, ConnectErrorsBothShapes) {
    auto p = decoded(R"(4"not authorized")");
    EXPECT_EQ(p.type, Type::ConnectError);
    EXPECT_EQ(connect_error_message(p), "not authorized");
    p = decoded(R"(4{"message":"Invalid namespace"})");
    EXPECT_EQ(p.type, Type::ConnectError);
    EXPECT_EQ(connect_error_message(p), "Invalid namespace");
    p = decoded(R"(4/admin,{"message":"bad token","data":{"code":7}})");
    EXPECT_EQ(p.nsp, "/admin");
    EXPECT_EQ(connect_error_message(p), "bad token");
}

TEST(SioDecode, BinaryPacketsWithPlaceholders) {
    auto p = decoded(R"(51-["image",{"_placeholder":true,"num":0}])");
    EXPECT_EQ(p.type, Type::BinaryEvent);
    EXPECT_EQ(p.attachments, 1u);
    EXPECT_EQ(p.nsp, "/");
    EXPECT_EQ(p.data, R"(["image",{"_placeholder":true,"num":0}])");

    // The namespace comes after the attachment count, the id after the namespace.
    p = decoded(
        R"(52-/admin,9["bytes",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
    EXPECT_EQ(p.type, Type::BinaryEvent);
    EXPECT_EQ(p.attachments, 2u);
    EXPECT_EQ(p.nsp, "/admin");
    EXPECT_EQ(p.id, std::optional<uint64_t>(9));

    p = decoded(R"(61-3[{"_placeholder":true,"num":0}])");
    EXPECT_EQ(p.type, Type::BinaryAck);
    EXPECT_EQ(p.attachments, 1u);
    EXPECT_EQ(p.id, std::optional<uint64_t>(3));

    p = decoded(R"(564-["many"])");
    EXPECT_EQ(p.attachments, 64u);
}

TEST(SioDecode, ThroughEngineIoFrames) {
    std::string err;
    // EIO3: the server's unasked namespace connect.
    auto p = from_frame(eio::Version::V3, "40", &err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(p->type, Type::Connect);
    p = from_frame(eio::Version::V3, R"(44"not authorized")", &err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(connect_error_message(*p), "not authorized");
    p = from_frame(eio::Version::V4, R"(44{"message":"x"})", &err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(connect_error_message(*p), "x");
    p = from_frame(eio::Version::V4, R"(451-["ev",{"_placeholder":true,"num":0}])", &err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(p->type, Type::BinaryEvent);
    p = from_frame(eio::Version::V4, R"(42["command_to_robot",{"command":"F"}])", &err);
    ASSERT_TRUE(p) << err;
    const auto ev = parse_event(*p, &err);
    ASSERT_TRUE(ev) << err;
    EXPECT_EQ(ev->name, "command_to_robot");
}

TEST(SioDecode, WhitespaceAroundJsonIsJson) {
    EXPECT_EQ(decoded("2[\"a\"] \n").data, "[\"a\"] \n");
}

TEST(SioDecode, DeepJsonIsRefusedWithoutCrashing) {
    std::string err;
    const std::string deep = "2" + std::string(100000, '[') + std::string(100000, ']');
    EXPECT_FALSE(decode(deep, &err));
    EXPECT_NE(err.find("not JSON"), std::string::npos) << err;
    // Within cJSON's nesting limit (1000) it parses.
    const std::string ok = R"(2["deep",)" + std::string(900, '[') + std::string(900, ']') + "]";
    EXPECT_TRUE(decode(ok, &err)) << err;
    const std::string unclosed = "2" + std::string(5000, '{');
    EXPECT_FALSE(decode(unclosed, &err));
}

TEST(SioDecode, HugePayload) {
    const std::string big(2 << 20, 'x');
    const std::string text = R"(2["big",")" + big + "\"]";
    std::string err;
    const auto p = decode(text, &err);
    ASSERT_TRUE(p) << err;
    const auto ev = parse_event(*p, &err);
    ASSERT_TRUE(ev) << err;
    ASSERT_EQ(cJSON_GetArraySize(ev->args.get()), 1);
    EXPECT_EQ(std::string(cJSON_GetArrayItem(ev->args.get(), 0)->valuestring).size(), big.size());
}

// Each bad Engine.IO message (a whole text frame) with the reason it is refused, and the
// layer that refuses it.
TEST(SioDecode, BadFramesTable) {
    struct Case {
        std::string frame;
        std::string reason;
    };
    const Case cases[] = {
        {"4", "empty socket.io packet"},
        {"42", "event without a payload"},
        {"42[", "not JSON"},
        {"45", "binary_event without an attachment count"},
        {"451", "binary_event without an attachment count"},
        {"451-", "binary_event without a payload"},
        {"451-[\"a\"", "not JSON"},
        {"451[\"a\"]", "without an attachment count"},
        {"45-[\"a\"]", "without an attachment count"},
        {"450-[\"a\"]", "no attachments"},
        {"4565-[\"a\"]", "too many attachments"},
        {"45999999999999999999999999-[\"a\"]", "too many attachments"},
        {"99", "unknown packet type"},
        {"47", "unknown socket.io packet type"},
        {"4x", "unknown socket.io packet type"},
        {"4218446744073709551616[\"a\"]", "ack id beyond 64 bits"},
        {"4299999999999999999999999[\"a\"]", "ack id beyond 64 bits"},
        {"42{}", "event payload is not a non-empty array"},
        {"42\"ev\"", "not a non-empty array"},
        {"42[]", "not a non-empty array"},
        {"42[\"a\"]x", "trailing"},
        {"42[\"a\"][\"b\"]", "trailing"},
        {"42/admin[\"a\"]", "event without a payload"},
        {"43[\"a\"]", "ack without an id"},
        {"43/admin,[]", "ack without an id"},
        {"435{}", "ack payload is not an array"},
        {"461-[]", "binary_ack without an id"},
        {"40[]", "connect payload is not an object"},
        {"40\"x\"", "connect payload is not an object"},
        {"41{}", "disconnect with a payload"},
        {"44{", "not JSON"},
        {"42/ad\x01min,[\"a\"]", "control character in namespace"},
        {"42/" + std::string(300, 'n') + ",[\"a\"]", "namespace longer than 256"},
    };
    for (const auto& c : cases) {
        std::string err;
        EXPECT_FALSE(from_frame(eio::Version::V4, c.frame, &err)) << c.frame;
        EXPECT_NE(err.find(c.reason), std::string::npos) << c.frame << " -> " << err;
        EXPECT_EQ(err.find('\n'), std::string::npos) << err;
        EXPECT_LT(err.size(), 200u) << err;
    }
}

TEST(SioEncode, Canonical) {
    Packet p;
    p.type = Type::Event;
    p.data = R"(["a"])";
    EXPECT_EQ(encode(p), R"(2["a"])");
    p.nsp = "/admin";
    p.id = 12;
    EXPECT_EQ(encode(p), R"(2/admin,12["a"])");
    p.nsp = "admin";  // the leading slash is added
    EXPECT_EQ(encode(p), R"(2/admin,12["a"])");
    p.nsp = "";  // the default namespace, never written
    EXPECT_EQ(encode(p), R"(212["a"])");
    p.type = Type::BinaryEvent;
    p.attachments = 2;
    p.nsp = "/x";
    EXPECT_EQ(encode(p), R"(52-/x,12["a"])");
    Packet c;
    c.type = Type::Connect;
    c.data = "";
    EXPECT_EQ(encode(c), "0");
}

TEST(SioEncode, RoundTripsOfRealPackets) {
    const std::string texts[] = {
        "0",
        R"(0{"sid":"abc"})",
        "0/admin,",
        R"(0/admin,{"token":"t"})",
        "1",
        "1/admin,",
        R"(2["robot_id","r1"])",
        R"(2["command_to_robot",{"robot_id":"1","command":"F","key_position":"down"}])",
        R"(27["ev",null])",
        R"(2/chat,3["chat_message_with_name",{"message":"[bot] hi"}])",
        "35[]",
        R"(3/admin,6["ok"])",
        R"(4"not authorized")",
        R"(4{"message":"nope"})",
        "4",
        R"(51-["img",{"_placeholder":true,"num":0}])",
        R"(52-/admin,4["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
        R"(61-8[{"_placeholder":true,"num":0}])",
    };
    for (const auto& t : texts) {
        const Packet p = decoded(t);
        EXPECT_EQ(encode(p), t);
        const auto again = decode(encode(p), nullptr);
        ASSERT_TRUE(again) << t;
        EXPECT_EQ(*again, p) << t;
    }
}

TEST(SioEncode, NonCanonicalInputsComeBackCanonical) {
    EXPECT_EQ(encode(decoded(R"(2/,["a"])")), R"(2["a"])");
    EXPECT_EQ(encode(decoded(R"(2007["a"])")), R"(27["a"])");
    EXPECT_EQ(encode(decoded(R"(501-["a"])")), R"(51-["a"])");
    EXPECT_EQ(encode(decoded("0/admin")), "0/admin,");
}

TEST(SioBuild, Events) {
    EXPECT_EQ(event("robot_id", "\"robot1\""), R"(2["robot_id","robot1"])");
    EXPECT_EQ(event("identify_robot_id", "\"42\"", 7), R"(27["identify_robot_id","42"])");
    EXPECT_EQ(event("send_video_status", R"({"camera_id":"9"})", std::nullopt, "/app"),
              R"(2/app,["send_video_status",{"camera_id":"9"}])");
    EXPECT_EQ(event("ping_me", ""), R"(2["ping_me"])");
    EXPECT_EQ(event("x", "1", 3, "/"), R"(23["x",1])");
    // Whatever the name holds, the packet decodes back to it.
    const std::string odd = "a\"b\\c\nd\x01\xc3\xa9";
    std::string err;
    const auto p = decode(event(odd, "{}"), &err);
    ASSERT_TRUE(p) << err;
    const auto ev = parse_event(*p, &err);
    ASSERT_TRUE(ev) << err;
    EXPECT_EQ(ev->name, odd);
}

TEST(SioBuild, AcksAndConnects) {
    EXPECT_EQ(ack(5, "[true]"), "35[true]");
    EXPECT_EQ(ack(5, ""), "35[]");
    EXPECT_EQ(ack(18446744073709551615u, "[]", "/admin"), "3/admin,18446744073709551615[]");
    EXPECT_EQ(connect(), "0");
    EXPECT_EQ(connect("/"), "0");
    EXPECT_EQ(connect("/admin"), "0/admin,");
    EXPECT_EQ(connect("/", R"({"token":"t"})"), R"(0{"token":"t"})");
    EXPECT_EQ(connect("/admin", R"({"token":"t"})"), R"(0/admin,{"token":"t"})");
    for (const auto& s : {ack(5, "[true]"), connect("/admin", R"({"token":"t"})"), connect()})
        EXPECT_TRUE(decode(s, nullptr)) << s;
}

TEST(SioBuild, JsonQuote) {
    EXPECT_EQ(json_quote("plain"), "\"plain\"");
    EXPECT_EQ(json_quote("q\"b\\"), R"("q\"b\\")");
    EXPECT_EQ(json_quote("\n\t\r\x1f"), R"("\n\t\r\u001f")");
    EXPECT_EQ(json_quote("\xc3\xa9"), "\"\xc3\xa9\"");
}

TEST(SioParseEvent, NameArgsAndId) {
    std::string err;
    const auto ev =
        parse_event(decoded(R"(2/admin,4["command_to_robot",{"command":"F"},"second"])"), &err);
    ASSERT_TRUE(ev) << err;
    EXPECT_EQ(ev->name, "command_to_robot");
    EXPECT_EQ(ev->id, std::optional<uint64_t>(4));
    ASSERT_TRUE(cJSON_IsArray(ev->args.get()));
    ASSERT_EQ(cJSON_GetArraySize(ev->args.get()), 2);
    EXPECT_EQ(json_string(cJSON_GetArrayItem(ev->args.get(), 0), "command"), "F");
    EXPECT_STREQ(cJSON_GetArrayItem(ev->args.get(), 1)->valuestring, "second");
}

TEST(SioParseEvent, NoArgs) {
    const auto ev = parse_event(decoded(R"(2["reconnect_now"])"), nullptr);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->name, "reconnect_now");
    EXPECT_FALSE(ev->id);
    ASSERT_TRUE(cJSON_IsArray(ev->args.get()));
    EXPECT_EQ(cJSON_GetArraySize(ev->args.get()), 0);
}

TEST(SioParseEvent, BinaryEventKeepsPlaceholders) {
    const auto ev = parse_event(decoded(R"(51-["img",{"_placeholder":true,"num":0}])"), nullptr);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->name, "img");
    ASSERT_EQ(cJSON_GetArraySize(ev->args.get()), 1);
    EXPECT_TRUE(cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ev->args.get(), 0), "_placeholder")));
}

TEST(SioParseEvent, Refusals) {
    std::string err;
    EXPECT_FALSE(parse_event(decoded("2[1]"), &err));
    EXPECT_NE(err.find("event name is not a string"), std::string::npos) << err;
    EXPECT_FALSE(parse_event(decoded("2[null,\"x\"]"), &err));
    EXPECT_NE(err.find("event name is not a string"), std::string::npos) << err;
    EXPECT_FALSE(parse_event(decoded("2[[\"a\"]]"), &err));
    EXPECT_NE(err.find("event name is not a string"), std::string::npos) << err;
    EXPECT_FALSE(parse_event(decoded("31[\"a\"]"), &err));
    EXPECT_NE(err.find("not an event but a ack"), std::string::npos) << err;
    EXPECT_FALSE(parse_event(decoded("0"), &err));
    EXPECT_NE(err.find("not an event"), std::string::npos) << err;
    // A packet built by hand, not decoded, is checked all the same.
    Packet p;
    p.data = "{}";
    EXPECT_FALSE(parse_event(p, &err));
    EXPECT_NE(err.find("not an array"), std::string::npos) << err;
    p.data = "[";
    EXPECT_FALSE(parse_event(p, &err));
    EXPECT_NE(err.find("not JSON"), std::string::npos) << err;
    p.data = "[]";
    EXPECT_FALSE(parse_event(p, &err));
    EXPECT_NE(err.find("not a string"), std::string::npos) << err;
}

TEST(SioConnectError, OtherShapes) {
    EXPECT_EQ(connect_error_message(decoded("4")), "(no reason given)");
    EXPECT_EQ(connect_error_message(decoded(R"(4"")")), "(no reason given)");
    EXPECT_EQ(connect_error_message(decoded(R"(4{"message":""})")), "(no reason given)");
    // cJSON takes a raw NUL inside a string and stops the string there.
    EXPECT_EQ(connect_error_message(decoded("4\"\0x\""s)), "(no reason given)");
    EXPECT_EQ(connect_error_message(decoded(R"(4{"code":3})")), R"({"code":3})");
    EXPECT_EQ(connect_error_message(decoded(R"(4{"message":7})")), R"({"message":7})");
    EXPECT_EQ(connect_error_message(decoded(R"(4["a"])")), R"(["a"])");
    EXPECT_EQ(connect_error_message(decoded("4-1")), "-1");
    // Control characters never reach the log; non-ASCII text is kept.
    EXPECT_EQ(connect_error_message(decoded(R"(4"bad\nline\u0007")")), "bad?line?");
    EXPECT_EQ(connect_error_message(decoded("4\"r\xc3\xa9seau\"")), "r\xc3\xa9seau");
    const std::string long_msg =
        connect_error_message(decoded("4\"" + std::string(5000, 'm') + "\""));
    EXPECT_LE(long_msg.size(), 203u);
    EXPECT_EQ(long_msg.substr(long_msg.size() - 3), "...");
    // Cut on a character boundary: no half of a two-byte sequence.
    std::string accents;
    for (int i = 0; i < 300; ++i) accents += "\xc3\xa9";
    const std::string cut = connect_error_message(decoded("4\"x" + accents + "\""));
    EXPECT_EQ(cut.substr(cut.size() - 5), "\xc3\xa9...");
}

TEST(SioAssembler, NonBinaryPacketsCompleteAtOnce) {
    BinaryAssembler a(1024);
    std::string err;
    EXPECT_FALSE(a.pending());
    EXPECT_FALSE(a.complete());
    EXPECT_FALSE(a.take());
    ASSERT_TRUE(a.feed_packet(decoded(R"(2["ev"])"), &err)) << err;
    EXPECT_FALSE(a.pending());
    EXPECT_TRUE(a.complete());
    const auto w = a.take();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->packet.data, R"(["ev"])");
    EXPECT_TRUE(w->attachments.empty());
    EXPECT_FALSE(a.complete());
    EXPECT_FALSE(a.take());
}

TEST(SioAssembler, AttachmentsInOrder) {
    BinaryAssembler a(1024);
    std::string err;
    ASSERT_TRUE(a.feed_packet(
        decoded(R"(52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"), &err))
        << err;
    EXPECT_TRUE(a.pending());
    EXPECT_FALSE(a.complete());
    ASSERT_TRUE(a.feed_attachment("\x00\x01"s, &err)) << err;
    EXPECT_TRUE(a.pending());
    EXPECT_FALSE(a.take());
    ASSERT_TRUE(a.feed_attachment("second", &err)) << err;
    EXPECT_FALSE(a.pending());
    EXPECT_TRUE(a.complete());
    const auto w = a.take();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->packet.type, Type::BinaryEvent);
    EXPECT_EQ(w->attachments, (std::vector<std::string>{"\x00\x01"s, "second"}));
    EXPECT_FALSE(a.pending());
    EXPECT_FALSE(a.complete());
}

TEST(SioAssembler, ThroughEngineIoBinaryFrames) {
    for (auto v : {eio::Version::V3, eio::Version::V4}) {
        BinaryAssembler a(1024);
        std::string err;
        const auto text =
            eio::decode_frame(v, R"(451-["img",{"_placeholder":true,"num":0}])", false, &err);
        ASSERT_TRUE(text) << err;
        ASSERT_TRUE(a.feed_packet(decoded(text->data), &err)) << err;
        const auto bin = eio::decode_frame(v, eio::encode_binary(v, "\x89PNG"), true, &err);
        ASSERT_TRUE(bin) << err;
        ASSERT_TRUE(bin->binary);
        ASSERT_TRUE(a.feed_attachment(bin->data, &err)) << err;
        const auto w = a.take();
        ASSERT_TRUE(w);
        EXPECT_EQ(w->attachments, std::vector<std::string>{"\x89PNG"});
    }
}

TEST(SioAssembler, NewPacketWhilePendingDiscardsTheOld) {
    BinaryAssembler a(1024);
    std::string err;
    ASSERT_TRUE(a.feed_packet(decoded(R"(52-["x"])"), &err));
    ASSERT_TRUE(a.feed_attachment("one", &err));
    EXPECT_FALSE(a.feed_packet(decoded(R"(2["next"])"), &err));
    EXPECT_NE(err.find("binary_event discarded: 1 of 2 attachments"), std::string::npos) << err;
    // The new packet is taken in all the same.
    const auto w = a.take();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->packet.data, R"(["next"])");
    EXPECT_TRUE(w->attachments.empty());

    // A new binary packet replaces the old one and waits for its own attachments.
    ASSERT_TRUE(a.feed_packet(decoded(R"(51-["a"])"), &err));
    EXPECT_FALSE(a.feed_packet(decoded(R"(51-["b"])"), &err));
    EXPECT_TRUE(a.pending());
    ASSERT_TRUE(a.feed_attachment("b1", &err));
    const auto w2 = a.take();
    ASSERT_TRUE(w2);
    EXPECT_EQ(w2->packet.data, R"(["b"])");
    EXPECT_EQ(w2->attachments, std::vector<std::string>{"b1"});
}

TEST(SioAssembler, UntakenPacketIsReported) {
    BinaryAssembler a(1024);
    std::string err;
    ASSERT_TRUE(a.feed_packet(decoded(R"(2["first"])"), &err));
    EXPECT_FALSE(a.feed_packet(decoded(R"(2["second"])"), &err));
    EXPECT_NE(err.find("never taken"), std::string::npos) << err;
    EXPECT_EQ(a.take()->packet.data, R"(["second"])");
}

TEST(SioAssembler, AttachmentWithNothingPending) {
    BinaryAssembler a(1024);
    std::string err;
    EXPECT_FALSE(a.feed_attachment("stray", &err));
    EXPECT_NE(err.find("no binary packet waiting"), std::string::npos) << err;
    ASSERT_TRUE(a.feed_packet(decoded(R"(51-["x"])"), &err));
    ASSERT_TRUE(a.feed_attachment("a", &err));
    // Complete: one more is a stray, and the complete packet is kept.
    EXPECT_FALSE(a.feed_attachment("extra", &err));
    EXPECT_TRUE(a.complete());
}

TEST(SioAssembler, ByteLimit) {
    BinaryAssembler a(10);
    std::string err;
    ASSERT_TRUE(a.feed_packet(decoded(R"(52-["x"])"), &err));
    ASSERT_TRUE(a.feed_attachment("12345", &err));
    ASSERT_TRUE(a.feed_attachment("67890", &err));  // exactly at the limit
    ASSERT_TRUE(a.take());

    ASSERT_TRUE(a.feed_packet(decoded(R"(52-["x"])"), &err));
    ASSERT_TRUE(a.feed_attachment("123456", &err));
    EXPECT_FALSE(a.feed_attachment("12345", &err));
    EXPECT_NE(err.find("over 10 bytes"), std::string::npos) << err;
    EXPECT_FALSE(a.pending());
    EXPECT_FALSE(a.complete());
    EXPECT_FALSE(a.take());
    // What follows is a stray, not part of the discarded packet.
    EXPECT_FALSE(a.feed_attachment("x", &err));
}

TEST(SioAssembler, RefusesInconsistentPackets) {
    BinaryAssembler a(1024);
    std::string err;
    EXPECT_FALSE(a.feed_packet(decoded(R"(51-["x",{"_placeholder":true,"num":1}])"), &err));
    EXPECT_NE(err.find("placeholder outside its 1 attachments"), std::string::npos) << err;
    EXPECT_FALSE(a.pending());
    EXPECT_FALSE(a.feed_packet(decoded(R"(51-["x",{"_placeholder":true,"num":-1}])"), &err));
    EXPECT_FALSE(a.feed_packet(decoded(R"(51-["x",{"_placeholder":true,"num":0.5}])"), &err));
    EXPECT_FALSE(a.feed_packet(decoded(R"(51-["x",{"_placeholder":true}])"), &err));
    // Nested placeholders are checked too.
    EXPECT_FALSE(a.feed_packet(
        decoded(R"(52-["x",{"a":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":2}]}])"),
        &err));
    Packet hand;
    hand.type = Type::BinaryEvent;
    hand.data = R"(["x"])";
    hand.attachments = 0;
    EXPECT_FALSE(a.feed_packet(hand, &err));
    EXPECT_NE(err.find("0 attachments"), std::string::npos) << err;
    hand.type = Type::Event;
    hand.attachments = 2;
    EXPECT_FALSE(a.feed_packet(hand, &err));
    EXPECT_NE(err.find("event with attachments"), std::string::npos) << err;
    EXPECT_FALSE(a.pending());
    EXPECT_FALSE(a.complete());
}

TEST(SioAssembler, Reset) {
    BinaryAssembler a(1024);
    std::string err;
    ASSERT_TRUE(a.feed_packet(decoded(R"(51-["x"])"), &err));
    a.reset();
    EXPECT_FALSE(a.pending());
    EXPECT_FALSE(a.feed_attachment("a", &err));
    ASSERT_TRUE(a.feed_packet(decoded(R"(51-["y"])"), &err)) << err;  // no discard reported
}

TEST(SioNames, EveryType) {
    EXPECT_STREQ(type_name(Type::Connect), "connect");
    EXPECT_STREQ(type_name(Type::ConnectError), "connect_error");
    EXPECT_STREQ(type_name(Type::BinaryAck), "binary_ack");
}

}  // namespace
}  // namespace robotd::sio
