// Parsing command_to_robot and custom_event payloads: both user shapes, loose booleans,
// numbers for ids, and payloads that must be refused with a reason.
#include "robot/command.h"

#include <gtest/gtest.h>

#include <string>

#include "core/json.h"

using namespace robotd;

namespace {

JsonPtr json(const std::string& text) {
    std::string error;
    JsonPtr doc = json_parse(text, &error);
    EXPECT_TRUE(doc) << error << " in " << text;
    return doc;
}

std::optional<CommandMessage> command(const std::string& text, std::string* error = nullptr) {
    std::string e;
    auto doc = json(text);
    auto m = parse_command(doc.get(), &e);
    if (error) *error = e;
    if (!m) {
        EXPECT_FALSE(e.empty()) << "refused without a reason: " << text;
    }
    return m;
}

std::optional<PointerMessage> pointer(const std::string& text, std::string* error = nullptr) {
    std::string e;
    auto doc = json(text);
    auto m = parse_custom_event(doc.get(), &e);
    if (error) *error = e;
    if (!m) {
        EXPECT_FALSE(e.empty()) << "refused without a reason: " << text;
    }
    return m;
}

}  // namespace

TEST(Command, TheDocumentsShape) {
    auto m = command(
        R"({"robot_id":"42","command":"F","user":"alice","key_position":"down","anonymous":false})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->robot_id, "42");
    EXPECT_EQ(m->command.command, "F");
    EXPECT_EQ(m->command.user, "alice");
    EXPECT_EQ(m->command.key_position, "down");
    EXPECT_FALSE(m->command.anonymous);
    EXPECT_EQ(m->command.received_us, 0);
    EXPECT_TRUE(m->command.reason.empty());
}

TEST(Command, UserAsAnObject) {
    auto m =
        command(R"({"robot_id":"42","command":"L","user":{"username":"bob","anonymous":true}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->command.user, "bob");
    EXPECT_TRUE(m->command.anonymous);
    m = command(R"({"robot_id":"42","command":"L","user":{"username":"bob","anonymous":false}})");
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->command.anonymous);
}

TEST(Command, LooseBooleansForAnonymous) {
    const char* yes[] = {"true", "1", R"("true")", R"("1")"};
    const char* no[] = {"false", "0", R"("false")", R"("0")"};
    for (const char* v : yes) {
        auto m = command(std::string(R"({"robot_id":"42","command":"F","user":"a","anonymous":)") +
                         v + "}");
        ASSERT_TRUE(m) << v;
        EXPECT_TRUE(m->command.anonymous) << v;
    }
    for (const char* v : no) {
        auto m = command(std::string(R"({"robot_id":"42","command":"F","user":"a","anonymous":)") +
                         v + "}");
        ASSERT_TRUE(m) << v;
        EXPECT_FALSE(m->command.anonymous) << v;
    }
    // Unreadable: the fewer rights.
    auto m = command(R"({"robot_id":"42","command":"F","user":"a","anonymous":"maybe"})");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->command.anonymous);
    // Absent or null: not anonymous (an empty user name is still anonymous to the policy).
    m = command(R"({"robot_id":"42","command":"F","user":"a","anonymous":null})");
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->command.anonymous);
}

TEST(Command, OptionalFieldsMayBeMissingOrOdd) {
    auto m = command(R"({"robot_id":42,"command":"stop"})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->robot_id, "42");  // a number is accepted
    EXPECT_EQ(m->command.user, "");
    EXPECT_EQ(m->command.key_position, "");
    m = command(R"({"robot_id":"42","command":"F","key_position":"UP","user":7})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->command.key_position, "up");
    EXPECT_EQ(m->command.user, "");
    m = command(R"({"robot_id":"42","command":"F","key_position":"sideways"})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->command.key_position, "");
    m = command(R"({"robot_id":"42","command":"F","key_position":"intermediate"})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->command.key_position, "intermediate");
}

TEST(Command, RefusesBadPayloads) {
    std::string error;
    EXPECT_FALSE(command(R"({"command":"F","user":"a"})", &error));
    EXPECT_NE(error.find("robot_id"), std::string::npos) << error;
    EXPECT_FALSE(command(R"({"robot_id":"42","user":"a"})", &error));
    EXPECT_NE(error.find("command"), std::string::npos) << error;
    EXPECT_FALSE(command(R"({"robot_id":"42","command":""})"));
    EXPECT_FALSE(command(R"({"robot_id":"42","command":5})"));
    EXPECT_FALSE(command(R"({"robot_id":"","command":"F"})"));
    EXPECT_FALSE(command(R"({"robot_id":4.5,"command":"F"})"));
    EXPECT_FALSE(command(R"({"robot_id":null,"command":"F"})"));
    EXPECT_FALSE(command(R"(["42","F"])"));
    EXPECT_FALSE(command(R"("F")"));
    EXPECT_FALSE(parse_command(nullptr, &error));
}

TEST(Command, CustomEventAsAString) {
    auto m = pointer(R"({"robot_id":"42","data":"mousedown:0.52:0.31"})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->robot_id, "42");
    EXPECT_EQ(m->event.kind, "mousedown");
    EXPECT_DOUBLE_EQ(m->event.x, 0.52);
    EXPECT_DOUBLE_EQ(m->event.y, 0.31);
    EXPECT_EQ(m->event.user, "");
    m = pointer(R"({"robot_id":"42","data":"mouseup:0:1"})");  // the edges are in range
    ASSERT_TRUE(m);
    EXPECT_EQ(m->event.x, 0);
    EXPECT_EQ(m->event.y, 1);
}

TEST(Command, CustomEventAsAnObjectUnderDataOrEvent) {
    auto m = pointer(
        R"({"robot_id":"42","data":{"data":"mousedown:0.1:0.2","user":"alice","anonymous":"0"}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->event.kind, "mousedown");
    EXPECT_EQ(m->event.user, "alice");
    EXPECT_FALSE(m->event.anonymous);
    m = pointer(
        R"({"robot_id":"42","data":{"event":"click:0.5:0.5","username":"bob","anonymous":1}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->event.kind, "click");
    EXPECT_EQ(m->event.user, "bob");
    EXPECT_TRUE(m->event.anonymous);
    m = pointer(R"({"robot_id":"42","user":{"username":"carol"},"data":{"event":"m:0.5:0.5"}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->event.user, "carol");
}

TEST(Command, CustomEventRefusesMalformedData) {
    const char* bad[] = {
        R"({"robot_id":"42","data":"mousedown:1.5:0.3"})",
        R"({"robot_id":"42","data":"mousedown:-0.1:0.3"})",
        R"({"robot_id":"42","data":"mousedown:0.5"})",
        R"({"robot_id":"42","data":"mousedown:0.5:0.5:0.5"})",
        R"({"robot_id":"42","data":":0.5:0.5"})",
        R"({"robot_id":"42","data":"mouse down:0.5:0.5"})",
        R"({"robot_id":"42","data":"mousedown:abc:0.5"})",
        R"({"robot_id":"42","data":"mousedown:0.5:"})",
        R"({"robot_id":"42","data":"mousedown:nan:0.5"})",
        R"({"robot_id":"42","data":"mousedown:0.5:0.5x"})",
        R"({"robot_id":"42","data":{"other":"mousedown:0.5:0.5"}})",
        R"({"robot_id":"42","data":12})",
        R"({"robot_id":"42"})",
        R"({"data":"mousedown:0.5:0.5"})",
    };
    for (const char* text : bad) EXPECT_FALSE(pointer(text)) << text;
    std::string error;
    EXPECT_FALSE(pointer(R"({"robot_id":"42","data":"mousedown:1.5:0.3"})", &error));
    EXPECT_NE(error.find("0..1"), std::string::npos) << error;
}
