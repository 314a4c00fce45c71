// Moderation state: case-insensitive names, caps on hostile input, timeout expiry on an
// injected clock, and the state file's JSON (round trip, defaults, clamped timeouts).
#include "robot/moderation.h"

#include <gtest/gtest.h>

#include <string>

using namespace robotd;

namespace {
constexpr int64_t kMono = 5000000000;  // an arbitrary monotonic "now"
constexpr int64_t kWall = 1700000000;  // an arbitrary unix "now"
constexpr int64_t kMin = 60 * 1000000LL;
}  // namespace

TEST(Moderation, NamesCompareCaseInsensitivelyAndRepeatsChangeNothing) {
    Moderation m;
    std::string why;
    EXPECT_TRUE(m.ban("Troll", &why));
    EXPECT_FALSE(m.ban("TROLL", &why));
    EXPECT_NE(why.find("already banned"), std::string::npos) << why;
    EXPECT_TRUE(m.is_banned("troll"));
    EXPECT_FALSE(m.is_banned(""));
    EXPECT_TRUE(m.unban("tRoLl", &why));
    EXPECT_FALSE(m.unban("troll", &why));
    EXPECT_FALSE(m.is_banned("troll"));
    EXPECT_TRUE(m.whitelist_add("Wendy", &why));
    EXPECT_TRUE(m.whitelisted("WENDY"));
    EXPECT_TRUE(m.command_add("led_on", &why));
    EXPECT_TRUE(m.command_whitelisted("LED_ON"));
    EXPECT_TRUE(m.command_del("LED_on", &why));
    EXPECT_FALSE(m.command_whitelisted("LED_ON"));
}

TEST(Moderation, HostileNamesAndListsAreCapped) {
    Moderation m;
    std::string why;
    const std::string huge(100000, 'a');
    ASSERT_TRUE(m.ban(huge, &why));
    EXPECT_EQ(m.banned[0].size(), kMaxModName);
    EXPECT_TRUE(m.is_banned(huge));  // the same capped name
    for (size_t i = 1; i < kMaxModList; ++i) ASSERT_TRUE(m.ban("u" + std::to_string(i), &why));
    EXPECT_FALSE(m.ban("one-more", &why));
    EXPECT_NE(why.find("full"), std::string::npos) << why;
    EXPECT_EQ(m.banned.size(), kMaxModList);
}

TEST(Moderation, TimeoutEndsAtItsEndOnTheInjectedClock) {
    Moderation m;
    std::string why;
    ASSERT_TRUE(m.timeout("Pest", 5, kMono, kWall, &why));
    EXPECT_TRUE(m.timed_out("pest", kMono));
    EXPECT_TRUE(m.timed_out("PEST", kMono + 5 * kMin - 1));
    EXPECT_FALSE(m.timed_out("pest", kMono + 5 * kMin));
    EXPECT_FALSE(m.expire(kMono + 5 * kMin - 1));
    EXPECT_TRUE(m.expire(kMono + 5 * kMin));
    EXPECT_TRUE(m.timeouts.empty());
    // A new timeout replaces the old one.
    ASSERT_TRUE(m.timeout("pest", 10, kMono, kWall, &why));
    ASSERT_TRUE(m.timeout("Pest", 1, kMono, kWall, &why));
    ASSERT_EQ(m.timeouts.size(), 1u);
    EXPECT_FALSE(m.timed_out("pest", kMono + kMin));
    ASSERT_TRUE(m.untimeout("PEST", &why));
    EXPECT_FALSE(m.untimeout("pest", &why));
}

TEST(Moderation, StateJsonRoundTrips) {
    Moderation m;
    std::string why;
    m.anon_control = false;
    m.anon_tts = false;
    m.table_mode = true;
    m.devmode = DevMode::Mods;
    m.exclusive_user = "Ex";
    m.tts_volume = 40;
    m.tts_muted = true;
    m.mic_muted = true;
    m.ban("b1", &why);
    m.timeout("t1", 30, kMono, kWall, &why);
    m.whitelist_add("w1", &why);
    m.command_add("LED_ON", &why);
    const std::string text = moderation_to_json(m, Moderation{});
    Moderation r;
    ASSERT_TRUE(moderation_from_json(text, Moderation{}, kMono + 7, kWall, &r, &why)) << why;
    EXPECT_FALSE(r.anon_control);
    EXPECT_FALSE(r.anon_tts);
    EXPECT_TRUE(r.table_mode);
    EXPECT_EQ(r.devmode, DevMode::Mods);
    EXPECT_EQ(r.exclusive_user.value_or(""), "Ex");
    EXPECT_EQ(r.tts_volume, 40);
    EXPECT_TRUE(r.tts_muted);
    EXPECT_TRUE(r.mic_muted);
    EXPECT_TRUE(r.is_banned("B1"));
    EXPECT_TRUE(r.whitelisted("w1"));
    EXPECT_TRUE(r.command_whitelisted("led_on"));
    ASSERT_EQ(r.timeouts.size(), 1u);
    EXPECT_EQ(r.timeouts[0].end_us, kMono + 7 + 30 * kMin);
    EXPECT_EQ(r.timeouts[0].minutes, 30);
}

TEST(Moderation, StateOverridesOnlyTheKeysItHas) {
    Moderation defaults;
    defaults.table_mode = true;
    defaults.anon_control = false;
    Moderation r;
    std::string error;
    ASSERT_TRUE(moderation_from_json(R"({"anon_tts": false})", defaults, kMono, kWall, &r, &error));
    EXPECT_TRUE(r.table_mode);
    EXPECT_FALSE(r.anon_control);
    EXPECT_FALSE(r.anon_tts);
}

TEST(Moderation, AConfigEditedSinceTheFileWasWrittenWinsForThatKeyOnly) {
    // Chat turned table mode on and the volume down over a config with both at their defaults.
    Moderation chosen;
    chosen.table_mode = true;
    chosen.tts_volume = 30;
    chosen.anon_tts = false;
    const std::string text = moderation_to_json(chosen, Moderation{});
    // Unchanged config: the chat's choices stand.
    Moderation r;
    std::string error;
    ASSERT_TRUE(moderation_from_json(text, Moderation{}, kMono, kWall, &r, &error)) << error;
    EXPECT_TRUE(r.table_mode);
    EXPECT_EQ(r.tts_volume, 30);
    EXPECT_FALSE(r.anon_tts);
    // The owner then set tts_volume=80 in the file: that key is the config's, the rest stand.
    Moderation edited;
    edited.tts_volume = 80;
    ASSERT_TRUE(moderation_from_json(text, edited, kMono, kWall, &r, &error)) << error;
    EXPECT_EQ(r.tts_volume, 80);
    EXPECT_TRUE(r.table_mode);
    EXPECT_FALSE(r.anon_tts);
}

TEST(Moderation, ATimeoutReadBackIsClampedToItsLengthAndEndedOnesDrop) {
    Moderation r;
    std::string error;
    // The wall clock went back a year since it was written: still at most its 5 minutes.
    const std::string text =
        R"({"timeouts": [{"user": "a", "until": )" + std::to_string(kWall + 365 * 86400) +
        R"(, "minutes": 5}, {"user": "b", "until": )" + std::to_string(kWall - 1) +
        R"(, "minutes": 5}, {"user": "c", "until": )" + std::to_string(kWall + 60) +
        R"(, "minutes": 5}, {"user": "d", "until": 1, "minutes": 99999}]})";
    ASSERT_TRUE(moderation_from_json(text, Moderation{}, kMono, kWall, &r, &error)) << error;
    ASSERT_EQ(r.timeouts.size(), 2u);
    EXPECT_EQ(r.timeouts[0].user, "a");
    EXPECT_EQ(r.timeouts[0].end_us, kMono + 5 * kMin);
    EXPECT_EQ(r.timeouts[1].user, "c");
    EXPECT_EQ(r.timeouts[1].end_us, kMono + kMin);
}

TEST(Moderation, CorruptOrTruncatedStateIsAnErrorNotACrash) {
    Moderation m, r;
    std::string why;
    m.ban("b1", &why);
    const std::string text = moderation_to_json(m, Moderation{});
    for (size_t n : {size_t(0), size_t(1), text.size() / 2, text.size() - 3}) {
        std::string error;
        EXPECT_FALSE(
            moderation_from_json(text.substr(0, n), Moderation{}, kMono, kWall, &r, &error))
            << n;
        EXPECT_FALSE(error.empty());
    }
    std::string error;
    EXPECT_FALSE(moderation_from_json("[1,2]", Moderation{}, kMono, kWall, &r, &error));
    // Wrong types are skipped, not trusted.
    ASSERT_TRUE(moderation_from_json(R"({"banned": [1, null, "ok"], "tts_volume": 900,
        "devmode": "sideways", "timeouts": "x"})",
                                     Moderation{}, kMono, kWall, &r, &error));
    EXPECT_EQ(r.banned, std::vector<std::string>{"ok"});
    EXPECT_EQ(r.tts_volume, 100);
    EXPECT_EQ(r.devmode, DevMode::Off);
}

TEST(Moderation, ATimeoutWithAnEndFarInThePastOrFutureIsNoOverflow) {
    // json_int takes a numeric string to the whole int64 range: "until" - now must not wrap
    // (a wrap made an end long past into a live timeout of its full length).
    Moderation r;
    std::string error;
    const std::string text =
        R"({"timeouts": [{"user": "past", "until": "-9223372036854775808", "minutes": 60},
                         {"user": "future", "until": "9223372036854775807", "minutes": 60}]})";
    ASSERT_TRUE(moderation_from_json(text, Moderation{}, kMono, kWall, &r, &error)) << error;
    ASSERT_EQ(r.timeouts.size(), 1u);
    EXPECT_EQ(r.timeouts[0].user, "future");
    EXPECT_EQ(r.timeouts[0].end_us, kMono + 60 * kMin);
}
