// The chat handler on a real loop: what is spoken and what not, delayed TTS with
// message_removed in time and late, commands by rank through their table, bad arguments.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "loop_harness.h"
#include "robot/sessions.h"

using namespace robotd;

namespace {

class ChatHandlerTest : public LoopTest {
  protected:
    ChatHandlerTest() {
        config_.robot.robot_id = "42";
        config_.tts.filter_url_tts = true;
        policy_.robot_id = "42";
        policy_.owners = {"Owner", "CoOwner"};
        policy_.moderators = {"Mia"};
        speech_.say = [this](const std::string& text, const std::string& who) {
            said_.push_back(who + ": " + text);
        };
        speech_.mute = [this](bool m) { muted_.push_back(m); };
        speech_.volume = [this](int v) { volumes_.push_back(v); };
        media_.mic = [this](bool m) { mic_.push_back(m); };
        media_.bitrate = [this](media::StreamKind k, int kbps) {
            bitrates_.push_back((k == media::StreamKind::Video ? "video " : "audio ") +
                                std::to_string(kbps));
        };
        media_.audio = [this](bool on) { audio_.push_back(on); };
    }

    ChatHandler& handler() {
        if (!handler_)
            handler_ = std::make_unique<ChatHandler>(
                loop_, config_, policy_, media_, speech_,
                ChatHooks{[this] { ++changed_; },
                          [this](const std::string& key, bool value) {
                              settings_.push_back(key + "=" + (value ? "true" : "false"));
                          }});
        return *handler_;
    }

    void chat(const std::string& name, const std::string& text, bool anonymous = false,
              const std::string& id = "") {
        JsonPtr o(cJSON_CreateObject());
        cJSON_AddStringToObject(o.get(), "name", name.c_str());
        cJSON_AddStringToObject(o.get(), "message", ("[bot] " + text).c_str());
        cJSON_AddStringToObject(o.get(), "robot_id", "42");
        cJSON_AddBoolToObject(o.get(), "anonymous", anonymous);
        if (!id.empty()) cJSON_AddStringToObject(o.get(), "_id", id.c_str());
        handler().message(o.get(), "chat");
    }

    void removed(const std::string& id) {
        JsonPtr o(cJSON_CreateObject());
        cJSON_AddStringToObject(o.get(), "message_id", id.c_str());
        handler().removed(o.get());
    }

    Config config_;
    PolicyState policy_;
    MediaControl media_;
    SpeechControl speech_;
    std::unique_ptr<ChatHandler> handler_;
    std::vector<std::string> said_, settings_, bitrates_;
    std::vector<bool> muted_, mic_, audio_;
    std::vector<int> volumes_;
    int changed_ = 0;
};

}  // namespace

TEST_F(ChatHandlerTest, SpeaksChatTextButNeverCommands) {
    chat("alice", "hello robot");
    chat("alice", ".not_ours at all");
    chat("alice", ".ban bob");  // refused for rank; never spoken either
    EXPECT_EQ(said_, std::vector<std::string>{"alice: hello robot"});
}

TEST_F(ChatHandlerTest, AnonymousSpeechOnlyWhileAnonTtsIsOn) {
    chat("anon1", "one", true);
    policy_.mod.anon_tts = false;
    chat("anon2", "two", true);
    chat("", "three");
    chat("alice", "four");
    EXPECT_EQ(said_, (std::vector<std::string>{"anon1: one", "alice: four"}));
}

TEST_F(ChatHandlerTest, UrlsAreDroppedWhenTheFilterIsOn) {
    chat("alice", "see http://x.example/a and HTTPS://y.example www.z.example now");
    chat("alice", "http://only.example");  // nothing left: nothing said
    config_.tts.filter_url_tts = false;
    chat("alice", "www.kept.example");
    EXPECT_EQ(said_, (std::vector<std::string>{"alice: see and now", "alice: www.kept.example"}));
}

TEST_F(ChatHandlerTest, BannedTimedOutAndMutedAreNotSpoken) {
    std::string why;
    policy_.mod.ban("Troll", &why);
    policy_.mod.timeout("pest", 5, mono_us(), 0, &why);
    chat("troll", "a");
    chat("PEST", "b");
    policy_.mod.tts_muted = true;
    chat("alice", "c");
    policy_.mod.tts_muted = false;
    chat("alice", "d");
    EXPECT_EQ(said_, std::vector<std::string>{"alice: d"});
}

TEST_F(ChatHandlerTest, DelayedMessageRemovedInTimeIsNeverSaidLateRemovalDoesNothing) {
    config_.tts.delay_tts = true;
    config_.tts.delay = 1;
    chat("alice", "removed in time", false, "m1");
    chat("alice", "spoken", false, "m2");
    EXPECT_TRUE(said_.empty());  // nothing at once
    EXPECT_EQ(handler().delayed(), 2u);
    removed("m1");
    EXPECT_EQ(handler().delayed(), 1u);
    ASSERT_TRUE(run_until([&] { return !said_.empty(); }, 5000));
    EXPECT_EQ(said_, std::vector<std::string>{"alice: spoken"});
    removed("m2");  // too late: nothing to undo, nothing breaks
    run_for(200);
    EXPECT_EQ(said_, std::vector<std::string>{"alice: spoken"});
    EXPECT_EQ(handler().delayed(), 0u);
}

TEST_F(ChatHandlerTest, DelayedQueueIsBounded) {
    config_.tts.delay_tts = true;
    config_.tts.delay = 60;
    for (size_t i = 0; i < ChatHandler::kMaxDelayed + 10; ++i)
        chat("alice", "m" + std::to_string(i), false, "id" + std::to_string(i));
    EXPECT_EQ(handler().delayed(), ChatHandler::kMaxDelayed);
}

TEST_F(ChatHandlerTest, BootMessageOnceWhenLive) {
    config_.tts.boot_message = "robot is live";
    handler().live();
    handler().live();
    EXPECT_EQ(said_, std::vector<std::string>{": robot is live"});
}

TEST_F(ChatHandlerTest, ModeratorCommandsFromModeratorsAndOwnersOnly) {
    chat("alice", ".ban bob");
    EXPECT_FALSE(policy_.mod.is_banned("bob"));
    chat("Owner", ".ban bob", true);  // anonymous, carrying the owner's name
    EXPECT_FALSE(policy_.mod.is_banned("bob"));
    chat("mia", ".ban bob");
    EXPECT_TRUE(policy_.mod.is_banned("bob"));
    chat("coowner", ".unban BOB");
    EXPECT_FALSE(policy_.mod.is_banned("bob"));
    chat("mia", ".timeout pest");
    ASSERT_EQ(policy_.mod.timeouts.size(), 1u);
    EXPECT_EQ(policy_.mod.timeouts[0].minutes, 5);
    chat("mia", ".timeout pest 0");      // out of range: unchanged
    chat("mia", ".timeout pest 10081");  // out of range: unchanged
    EXPECT_EQ(policy_.mod.timeouts[0].minutes, 5);
    chat("mia", ".timeout pest 30");
    EXPECT_EQ(policy_.mod.timeouts[0].minutes, 30);
    chat("mia", ".untimeout pest");
    EXPECT_TRUE(policy_.mod.timeouts.empty());
    chat("mia", ".anon control off");
    EXPECT_FALSE(policy_.mod.anon_control);
    EXPECT_TRUE(policy_.mod.anon_tts);
    chat("mia", ".anon tts off");
    EXPECT_FALSE(policy_.mod.anon_tts);
    chat("mia", ".anon on");
    EXPECT_TRUE(policy_.mod.anon_control);
    EXPECT_TRUE(policy_.mod.anon_tts);
    EXPECT_EQ(settings_,
              (std::vector<std::string>{"anonymous_control=false", "anonymous_control=true"}));
    EXPECT_EQ(changed_, 8);
}

TEST_F(ChatHandlerTest, OwnerCommandsRefusedToModerators) {
    chat("mia", ".table on");
    chat("mia", ".devmode on");
    chat("mia", ".whitelist add x");
    EXPECT_FALSE(policy_.mod.table_mode);
    EXPECT_EQ(policy_.mod.devmode, DevMode::Off);
    EXPECT_TRUE(policy_.mod.whitelist_users.empty());
    EXPECT_TRUE(settings_.empty());
    EXPECT_EQ(changed_, 0);
}

TEST_F(ChatHandlerTest, OwnerCommandsAct) {
    chat("owner", ".table on");
    EXPECT_TRUE(policy_.mod.table_mode);
    chat("owner", ".stationary");
    EXPECT_FALSE(policy_.mod.table_mode);
    chat("owner", ".stationary");
    EXPECT_TRUE(policy_.mod.table_mode);
    chat("owner", ".tts vol 40");
    chat("owner", ".tts vol 101");  // bad: unchanged
    chat("owner", ".tts mute");
    EXPECT_EQ(volumes_, std::vector<int>{40});
    EXPECT_EQ(policy_.mod.tts_volume, 40);
    EXPECT_TRUE(policy_.mod.tts_muted);
    chat("owner", ".tts unmute");
    EXPECT_EQ(muted_, (std::vector<bool>{true, false}));
    chat("owner", ".mic mute");
    EXPECT_EQ(mic_, std::vector<bool>{true});  // mute means muted: not inverted
    EXPECT_TRUE(policy_.mod.mic_muted);
    chat("owner", ".video bitrate 800");
    chat("owner", ".audio bitrate 64");
    chat("owner", ".audio bitrate 33");  // not an MP2 rate: refused here, never reaches media
    chat("owner", ".video bitrate 0");
    chat("owner", ".audio stop");
    EXPECT_EQ(bitrates_, (std::vector<std::string>{"video 800", "audio 64"}));
    EXPECT_EQ(audio_, std::vector<bool>{false});
    chat("owner", ".exclusive Ex");
    EXPECT_EQ(policy_.mod.exclusive_user.value_or(""), "Ex");
    chat("owner", ".exclusive off");
    EXPECT_FALSE(policy_.mod.exclusive_user);
    chat("owner", ".devmode mods");
    EXPECT_EQ(policy_.mod.devmode, DevMode::Mods);
    chat("owner", ".devmode on");
    chat("owner", ".devmode off");
    chat("owner", ".devmode sideways");  // bad
    EXPECT_EQ(policy_.mod.devmode, DevMode::Off);
    chat("owner", ".public on");
    chat("owner", ".global_chat off");
    chat("owner", ".word_filter on");
    chat("owner", ".show_exclusive off");
    chat("owner", ".whitelist add Wendy");
    chat("owner", ".whitelist command add LED_ON");
    EXPECT_TRUE(policy_.mod.whitelisted("wendy"));
    EXPECT_TRUE(policy_.mod.command_whitelisted("led_on"));
    chat("owner", ".whitelist del wendy");
    chat("owner", ".whitelist command del led_on");
    EXPECT_FALSE(policy_.mod.whitelisted("wendy"));
    EXPECT_FALSE(policy_.mod.command_whitelisted("led_on"));
    EXPECT_EQ(settings_, (std::vector<std::string>{"mic_enabled=false", "dev_mode=true",
                                                   "dev_mode=true", "dev_mode=false", "public=true",
                                                   "non_global_chat=true", "profanity_filter=true",
                                                   "no_exclusive_control_button=true"}));
}

TEST_F(ChatHandlerTest, ExtChatOffIgnoresEveryCommand) {
    config_.tts.ext_chat = false;
    chat("owner", ".table on");
    chat("mia", ".ban bob");
    EXPECT_FALSE(policy_.mod.table_mode);
    EXPECT_FALSE(policy_.mod.is_banned("bob"));
    chat("owner", "still spoken");
    EXPECT_EQ(said_.size(), 1u);
}

TEST_F(ChatHandlerTest, HostileNamesAreCappedAndHarmless) {
    const std::string huge = std::string(5000, 'A') + "\x1b[31m\x01";
    chat("mia", ".ban " + huge);
    ASSERT_EQ(policy_.mod.banned.size(), 1u);
    EXPECT_EQ(policy_.mod.banned[0].size(), kMaxModName);
    chat(huge, ".ban x");  // a huge sender: no rank, no crash
    EXPECT_EQ(policy_.mod.banned.size(), 1u);
}

TEST_F(ChatHandlerTest, ModeratorsCannotBanOrTimeOutAnOwner) {
    // A ban holds against every command the owner sends: a moderator must not lock the owner
    // out of its own robot.
    chat("mia", ".ban OWNER");
    chat("mia", ".timeout coowner 60");
    EXPECT_FALSE(policy_.mod.is_banned("owner"));
    EXPECT_FALSE(policy_.mod.timed_out("coowner", mono_us()));
    EXPECT_EQ(changed_, 0);
}

TEST_F(ChatHandlerTest, BannedOrTimedOutModeratorsCommandsAreRefused) {
    std::string why;
    policy_.mod.ban("Mia", &why);
    chat("mia", ".unban mia");
    chat("mia", ".ban bob");
    EXPECT_TRUE(policy_.mod.is_banned("mia"));
    EXPECT_FALSE(policy_.mod.is_banned("bob"));
    policy_.mod.unban("mia", &why);
    policy_.mod.timeout("mia", 5, mono_us(), 0, &why);
    chat("mia", ".untimeout mia");
    EXPECT_TRUE(policy_.mod.timed_out("mia", mono_us()));
    EXPECT_EQ(changed_, 0);
    // The owner lifts it.
    chat("owner", ".untimeout mia");
    EXPECT_FALSE(policy_.mod.timed_out("mia", mono_us()));
}
