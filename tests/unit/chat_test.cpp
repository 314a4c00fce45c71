#include "robot/chat.h"

#include <gtest/gtest.h>

#include "core/json.h"

using namespace robotd;

namespace {
std::optional<ChatMessage> parse(const char* json, std::string* error) {
    JsonPtr doc = json_parse(json, error);
    return parse_chat_message(doc.get(), error);
}
}  // namespace

TEST(Chat, TextIsWhatFollowsTheFirstBracket) {
    EXPECT_EQ(chat_text("[robbie] hello there"), "hello there");
    EXPECT_EQ(chat_text("[robbie]  a ] b "), "a ] b");
    EXPECT_EQ(chat_text("  no prefix "), "no prefix");
    EXPECT_EQ(chat_text("[robbie]"), "");
}

TEST(Chat, FullMessage) {
    std::string error;
    auto m = parse(R"({"name":"ann","message":"[robbie] hi","robot_id":"r1","room":"rm",)"
                   R"("non_global":true,"username_color":"#000","anonymous":false,"_id":"6c46"})",
                   &error);
    ASSERT_TRUE(m) << error;
    EXPECT_EQ(m->name, "ann");
    EXPECT_EQ(m->text, "hi");
    EXPECT_EQ(m->robot_id, "r1");
    EXPECT_EQ(m->room, "rm");
    EXPECT_EQ(m->id, "6c46");
    EXPECT_TRUE(m->non_global);
    EXPECT_FALSE(m->is_command);
}

TEST(Chat, DotCommandsAreSplitAndNeverText) {
    std::string error;
    auto m = parse(R"({"name":"o","message":"[robbie] .TABLE  on   now"})", &error);
    ASSERT_TRUE(m) << error;
    EXPECT_TRUE(m->is_command);
    EXPECT_EQ(m->command, "table");
    EXPECT_EQ(m->words, (std::vector<std::string>{"on", "now"}));
    auto bare = parse(R"({"message":"[r] ."})", &error);
    ASSERT_TRUE(bare);
    EXPECT_TRUE(bare->is_command);
    EXPECT_EQ(bare->command, "");
}

TEST(Chat, BadPayloads) {
    std::string error;
    EXPECT_FALSE(parse(R"(["x"])", &error));
    EXPECT_NE(error.find("not an object"), std::string::npos);
    EXPECT_FALSE(parse(R"({"name":"a","message":5})", &error));
    EXPECT_NE(error.find("'message'"), std::string::npos);
    auto loose = parse(R"({"message":"[r] x","anonymous":"true","name":7})", &error);
    ASSERT_TRUE(loose);
    EXPECT_TRUE(loose->anonymous);
    EXPECT_EQ(loose->name, "");
}

namespace {
// parse_percent_argument on the words after the command: the value, or the error.
std::string percent(std::vector<std::string> words) {
    int value = -1;
    std::string error;
    if (!parse_percent_argument(words, &value, &error)) return "error: " + error;
    return std::to_string(value);
}
}  // namespace

TEST(Chat, PercentArgumentIsOneWholeNumberUpToAHundred) {
    EXPECT_EQ(percent({"60"}), "60");
    EXPECT_EQ(percent({"0"}), "0");
    EXPECT_EQ(percent({"100"}), "100");
    EXPECT_EQ(percent({"007"}), "7");
    EXPECT_EQ(percent({"60%"}), "60");
    EXPECT_EQ(percent({"300"}), "error: 300 is out of range 0..100");
    EXPECT_EQ(percent({"101"}), "error: 101 is out of range 0..100");
    EXPECT_EQ(percent({"99999999999999999999999"}),
              "error: 9999999999999999... is out of range 0..100");
    EXPECT_EQ(percent({"abc"}), "error: 'abc' is not a whole number 0..100");
    EXPECT_EQ(percent({"-5"}), "error: '-5' is not a whole number 0..100");
    EXPECT_EQ(percent({"+5"}), "error: '+5' is not a whole number 0..100");
    EXPECT_EQ(percent({"6o"}), "error: '6o' is not a whole number 0..100");
    EXPECT_EQ(percent({"5.5"}), "error: '5.5' is not a whole number 0..100");
    EXPECT_EQ(percent({"%"}), "error: '%' is not a whole number 0..100");
    EXPECT_EQ(percent({"0x10"}), "error: '0x10' is not a whole number 0..100");
    EXPECT_EQ(percent({}), "error: a value 0..100 is missing");
    EXPECT_EQ(percent({"60", "70"}), "error: expected one value 0..100, got 2");
    // Hostile input stays one short printable line.
    const std::string e = percent({"\x1b[31m" + std::string(200, '9')});
    EXPECT_LT(e.size(), 80u) << e;
    EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
}

TEST(Chat, CommandTextIsTheCommandAndItsWords) {
    std::string error;
    auto m = parse(R"({"name":"o","message":"[r] .Brightness   60 "})", &error);
    ASSERT_TRUE(m) << error;
    EXPECT_EQ(command_text(*m), ".brightness 60");
}
