// Who may drive: each verdict, the order the rules apply in, and case-insensitive names.
#include "robot/policy.h"

#include <gtest/gtest.h>

#include <string>

using namespace robotd;

namespace {

constexpr int64_t kNow = 1000000000;

PolicyState state() {
    PolicyState s;
    s.robot_id = "42";
    s.owners = {"Owner"};
    s.owner_commands = {"LED_ON", "reboot"};
    return s;
}

CommandMessage msg(std::string command, std::string user, bool anonymous = false,
                   std::string robot_id = "42") {
    CommandMessage m;
    m.robot_id = std::move(robot_id);
    m.command.command = std::move(command);
    m.command.user = std::move(user);
    m.command.anonymous = anonymous;
    return m;
}

Verdict verdict(const PolicyState& s, const CommandMessage& m) {
    return decide(s, m, kNow).verdict;
}

}  // namespace

TEST(Policy, AcceptsAnOrdinaryCommandForUs) {
    const Decision d = decide(state(), msg("F", "alice"), kNow);
    EXPECT_EQ(d.verdict, Verdict::Accept);
    EXPECT_NE(d.reason.find("alice"), std::string::npos) << d.reason;
}

TEST(Policy, OtherRobotsCommandsAreNotOurs) {
    const Decision d = decide(state(), msg("F", "alice", false, "43"), kNow);
    EXPECT_EQ(d.verdict, Verdict::OtherRobot);
    EXPECT_NE(d.reason.find("43"), std::string::npos) << d.reason;
    // Ids compare exactly: "042" is another robot.
    EXPECT_EQ(verdict(state(), msg("F", "alice", false, "042")), Verdict::OtherRobot);
}

TEST(Policy, AnonymousRefusedOnlyWhenAnonControlIsOff) {
    PolicyState s = state();
    EXPECT_EQ(verdict(s, msg("F", "anon123", true)), Verdict::Accept);
    s.anon_control = false;
    EXPECT_EQ(verdict(s, msg("F", "anon123", true)), Verdict::Anonymous);
    EXPECT_EQ(verdict(s, msg("F", "", false)), Verdict::Anonymous);  // no name: anonymous
    EXPECT_EQ(verdict(s, msg("F", "alice", false)), Verdict::Accept);
}

TEST(Policy, TableModeRefusesStraightCommandsOnly) {
    PolicyState s = state();
    s.mod.table_mode = true;
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::TableMode);
    EXPECT_EQ(verdict(s, msg("B", "alice")), Verdict::TableMode);
    EXPECT_EQ(verdict(s, msg("f", "alice")), Verdict::TableMode);  // no lower-case loophole
    EXPECT_EQ(verdict(s, msg("L", "alice")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("R", "alice")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("stop", "alice")), Verdict::Accept);
    s.straight_commands = {"forward"};
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("FORWARD", "alice")), Verdict::TableMode);
}

TEST(Policy, ExclusiveControlLetsOnlyThatUserDriveCaseInsensitively) {
    PolicyState s = state();
    s.mod.exclusive_user = "Bob";
    EXPECT_EQ(verdict(s, msg("L", "alice")), Verdict::Exclusive);
    EXPECT_EQ(verdict(s, msg("L", "Owner")), Verdict::Exclusive);  // the owner too
    EXPECT_EQ(verdict(s, msg("L", "bob")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("L", "BOB")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("L", "bob", true)), Verdict::Exclusive);  // anonymous "bob"
    EXPECT_NE(decide(s, msg("L", "alice"), kNow).reason.find("Bob"), std::string::npos);
    s.mod.exclusive_user.reset();
    EXPECT_EQ(verdict(s, msg("L", "alice")), Verdict::Accept);
}

TEST(Policy, OwnerCommandsOnlyFromTheOwner) {
    const PolicyState s = state();
    EXPECT_EQ(verdict(s, msg("LED_ON", "alice")), Verdict::OwnerOnly);
    EXPECT_EQ(verdict(s, msg("led_on", "alice")), Verdict::OwnerOnly);
    EXPECT_EQ(verdict(s, msg("LED_ON", "owner")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("Reboot", "OWNER")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("LED_ON", "Owner", true)), Verdict::OwnerOnly);  // anonymous
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::Accept);
    PolicyState no_owner = s;
    no_owner.owners.clear();
    EXPECT_EQ(verdict(no_owner, msg("LED_ON", "")), Verdict::OwnerOnly);  // "" is no owner
}

TEST(Policy, RulesApplyInOrder) {
    PolicyState s = state();
    s.anon_control = false;
    s.mod.table_mode = true;
    s.mod.exclusive_user = "bob";
    // Everything refuses this one: the robot id is checked first.
    EXPECT_EQ(verdict(s, msg("F", "", true, "7")), Verdict::OtherRobot);
    // Then anonymity before table mode and exclusivity.
    EXPECT_EQ(verdict(s, msg("F", "", true)), Verdict::Anonymous);
    // Then table mode before exclusivity, even for the exclusive user.
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::TableMode);
    EXPECT_EQ(verdict(s, msg("F", "bob")), Verdict::TableMode);
    // Then exclusivity before owner-only.
    EXPECT_EQ(verdict(s, msg("LED_ON", "alice")), Verdict::Exclusive);
    s.mod.exclusive_user = "owner";
    EXPECT_EQ(verdict(s, msg("LED_ON", "owner")), Verdict::Accept);
    s.mod.exclusive_user = "alice";
    EXPECT_EQ(verdict(s, msg("LED_ON", "alice")), Verdict::OwnerOnly);
}

TEST(Policy, VerdictNamesAreDistinct) {
    EXPECT_STREQ(verdict_name(Verdict::Accept), "accept");
    EXPECT_STREQ(verdict_name(Verdict::OtherRobot), "other-robot");
    EXPECT_STREQ(verdict_name(Verdict::Anonymous), "anonymous");
    EXPECT_STREQ(verdict_name(Verdict::TableMode), "table-mode");
    EXPECT_STREQ(verdict_name(Verdict::Exclusive), "exclusive");
    EXPECT_STREQ(verdict_name(Verdict::OwnerOnly), "owner-only");
}

TEST(Policy, ReasonIsOneBoundedLineEvenForHostileNames) {
    const std::string hostile = "ev\nil" + std::string(500, 'x');
    const Decision d = decide(state(), msg("F\r\n", hostile, false, "43"), kNow);
    EXPECT_EQ(d.reason.find('\n'), std::string::npos) << d.reason;
    EXPECT_EQ(d.reason.find('\r'), std::string::npos) << d.reason;
    EXPECT_LT(d.reason.size(), 200u);
}

TEST(Policy, ChatRankOwnerAboveModeratorsAboveEveryone) {
    PolicyState s = state();
    s.moderators = {"mod1", "Mia"};
    EXPECT_EQ(chat_rank(s, "Owner", false), ChatRank::Owner);
    EXPECT_EQ(chat_rank(s, "OWNER", false), ChatRank::Owner);
    EXPECT_EQ(chat_rank(s, "mia", false), ChatRank::Moderator);
    EXPECT_EQ(chat_rank(s, "mod1", false), ChatRank::Moderator);
    EXPECT_EQ(chat_rank(s, "alice", false), ChatRank::Everyone);
    // A name is no rank without a signed-in sender.
    EXPECT_EQ(chat_rank(s, "Owner", true), ChatRank::Everyone);
    EXPECT_EQ(chat_rank(s, "mod1", true), ChatRank::Everyone);
    EXPECT_EQ(chat_rank(s, "", false), ChatRank::Everyone);
    // The owner in the moderators list too is still the owner.
    s.moderators.push_back("owner");
    EXPECT_EQ(chat_rank(s, "owner", false), ChatRank::Owner);
    // No owner known: nobody is, not even a sender without a name.
    s.owners.clear();
    s.moderators = {""};
    EXPECT_EQ(chat_rank(s, "", false), ChatRank::Everyone);
    EXPECT_EQ(chat_rank(s, "owner", false), ChatRank::Everyone);
}

namespace {
PointerMessage click(std::string user, bool anonymous = false) {
    PointerMessage p;
    p.robot_id = "42";
    p.event.kind = "click";
    p.event.user = std::move(user);
    p.event.anonymous = anonymous;
    return p;
}
}  // namespace

TEST(Policy, BannedUsersAreRefusedCommandsAndPointerEvents) {
    PolicyState s = state();
    std::string why;
    ASSERT_TRUE(s.mod.ban("Troll", &why));
    const Decision d = decide(s, msg("L", "troll"), kNow);
    EXPECT_EQ(d.verdict, Verdict::Banned);
    EXPECT_EQ(d.why, "the user is banned");
    EXPECT_EQ(decide(s, click("TROLL"), kNow).verdict, Verdict::Banned);
    EXPECT_EQ(verdict(s, msg("L", "alice")), Verdict::Accept);
    ASSERT_TRUE(s.mod.unban("troll", &why));
    EXPECT_EQ(verdict(s, msg("L", "troll")), Verdict::Accept);
}

TEST(Policy, TimedOutUsersAreRefusedUntilTheEndThenAcceptedAgain) {
    PolicyState s = state();
    std::string why;
    ASSERT_TRUE(s.mod.timeout("Pest", 5, kNow, 1700000000, &why));
    const int64_t end = kNow + 5 * 60 * 1000000LL;
    const Decision d = decide(s, msg("F", "pest"), kNow);
    EXPECT_EQ(d.verdict, Verdict::TimedOut);
    EXPECT_EQ(d.why, "the user is timed out");
    EXPECT_EQ(decide(s, click("pest"), end - 1).verdict, Verdict::TimedOut);
    EXPECT_EQ(decide(s, msg("F", "pest"), end - 1).verdict, Verdict::TimedOut);
    EXPECT_EQ(decide(s, msg("F", "pest"), end).verdict, Verdict::Accept);
    EXPECT_EQ(decide(s, click("pest"), end + 1).verdict, Verdict::Accept);
}

TEST(Policy, DevmodeOnLetsOnlyOwnersDriveModsAlsoModerators) {
    PolicyState s = state();
    s.owners = {"Owner", "CoOwner"};
    s.moderators = {"Mia"};
    s.mod.devmode = DevMode::On;
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::DevMode);
    EXPECT_EQ(verdict(s, msg("F", "mia")), Verdict::DevMode);
    EXPECT_EQ(verdict(s, msg("F", "coowner")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("F", "Owner", true)), Verdict::DevMode);  // anonymous "Owner"
    EXPECT_EQ(decide(s, click("alice"), kNow).verdict, Verdict::DevMode);
    EXPECT_EQ(decide(s, msg("F", "alice"), kNow).why, "devmode: only the owner drives");
    s.mod.devmode = DevMode::Mods;
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::DevMode);
    EXPECT_EQ(verdict(s, msg("F", "MIA")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("F", "mia", true)), Verdict::DevMode);
    EXPECT_EQ(verdict(s, msg("F", "owner")), Verdict::Accept);
    EXPECT_EQ(decide(s, msg("F", "alice"), kNow).why,
              "devmode: only the owner and moderators drive");
    s.mod.devmode = DevMode::Off;
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::Accept);
}

TEST(Policy, WhitelistedCommandOnlyFromWhitelistedUsersAndOwners) {
    PolicyState s = state();
    std::string why;
    ASSERT_TRUE(s.mod.command_add("LED_ON", &why));
    s.owner_commands.clear();
    ASSERT_TRUE(s.mod.whitelist_add("Wendy", &why));
    const Decision d = decide(s, msg("led_on", "alice"), kNow);
    EXPECT_EQ(d.verdict, Verdict::Whitelist);
    EXPECT_EQ(d.why, "a whitelisted command, and the user is not on the whitelist");
    EXPECT_EQ(verdict(s, msg("LED_ON", "wendy")), Verdict::Accept);
    EXPECT_EQ(verdict(s, msg("LED_ON", "wendy", true)), Verdict::Whitelist);
    EXPECT_EQ(verdict(s, msg("LED_ON", "owner")), Verdict::Accept);  // owners pass
    EXPECT_EQ(verdict(s, msg("F", "alice")), Verdict::Accept);       // others are not listed
    ASSERT_TRUE(s.mod.command_add("pointer", &why));
    EXPECT_EQ(decide(s, click("alice"), kNow).verdict, Verdict::Whitelist);
    EXPECT_EQ(decide(s, click("wendy"), kNow).verdict, Verdict::Accept);
}

TEST(Policy, BanComesBeforeEveryOtherRefusal) {
    PolicyState s = state();
    std::string why;
    s.anon_control = false;
    s.mod.devmode = DevMode::On;
    ASSERT_TRUE(s.mod.ban("x", &why));
    ASSERT_TRUE(s.mod.timeout("y", 1, kNow, 0, &why));
    EXPECT_EQ(verdict(s, msg("F", "x", true)), Verdict::Banned);
    EXPECT_EQ(verdict(s, msg("F", "y", true)), Verdict::TimedOut);
    EXPECT_EQ(verdict(s, msg("F", "z", true)), Verdict::Anonymous);
    EXPECT_EQ(verdict(s, msg("F", "z")), Verdict::DevMode);
    EXPECT_STREQ(verdict_name(Verdict::Banned), "banned");
    EXPECT_STREQ(verdict_name(Verdict::TimedOut), "timed-out");
    EXPECT_STREQ(verdict_name(Verdict::DevMode), "devmode");
    EXPECT_STREQ(verdict_name(Verdict::Whitelist), "whitelist");
}
