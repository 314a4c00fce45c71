// The chat session and the chat handler: commands by rank (chat_commands.cpp), the rest
// spoken through the filters, at once or after the delay.
#include "core/clock.h"
#include "core/json.h"
#include "net/sio/codec.h"
#include "robot/chat.h"
#include "robot/sessions.h"

namespace robotd {

void route_chat(Link& link, const Config& config, ChatHandler& chat, Discovery& discovery) {
    link.identify("identify_robot_id",
                  [&config] { return sio::json_quote(config.robot.robot_id); });
    link.on("chat_message_with_name", [&chat](const cJSON* arg) { chat.message(arg, "chat"); });
    link.on_failing([&discovery](int failures) {
        if (failures % 3 == 0) discovery.refresh(LookupId::Chat);
    });
}

ChatHandler::ChatHandler(Loop& loop, const Config& config, PolicyState& policy,
                         const MediaControl& media, const SpeechControl& speech, ChatHooks hooks)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      policy_(policy),
      media_(media),
      speech_(speech),
      hooks_(std::move(hooks)),
      delay_timer_(loop, [this] { delayed_due(); }) {
    if (!config_.tts.ext_chat)
        LOGI(log_, "chat", "[tts] ext_chat is off: chat commands (.ban, .table, ...) are ignored");
}

void ChatHandler::message(const cJSON* payload, const char* session) {
    std::string error;
    auto m = parse_chat_message(payload, &error);
    if (!m) {
        LOGW(log_, session, "chat message ignored: %s", error.c_str());
        return;
    }
    if (!m->robot_id.empty() && m->robot_id != config_.robot.robot_id) return;
    if (m->is_command) {
        if (!config_.tts.ext_chat) {
            LOGD(log_, session, "chat command %s ignored: [tts] ext_chat is off",
                 command_text(*m).c_str());
            return;
        }
        command(*m, session);
        return;
    }
    LOGI(log_, session, "%s: %s", m->name.c_str(), m->text.c_str());
    speak(*m, session);
}

// What is spoken: never commands (above), not from anonymous users while anon_tts is off,
// not from banned or timed-out users, without links when filter_url_tts is on, nothing while
// muted.
void ChatHandler::speak(const ChatMessage& m, const char* session) {
    const char* who = m.name.empty() ? "(anonymous)" : m.name.c_str();
    const Moderation& mod = policy_.mod;
    const char* why = nullptr;
    if ((m.anonymous || m.name.empty()) && !mod.anon_tts)
        why = "anonymous TTS is off";
    else if (mod.is_banned(m.name))
        why = "the user is banned";
    else if (mod.timed_out(m.name, mono_us()))
        why = "the user is timed out";
    else if (mod.tts_muted)
        why = "TTS is muted";
    if (why) {
        LOGD(log_, session, "not spoken (%s): %s", why, who);
        return;
    }
    const std::string text = config_.tts.filter_url_tts ? drop_urls(m.text) : m.text;
    if (text.empty()) return;
    if (!config_.tts.delay_tts || config_.tts.delay <= 0) {
        say_now(text, m.name, session);
        return;
    }
    if (delayed_.size() >= kMaxDelayed) {
        LOGW(log_, session, "more than %zu messages wait to be spoken: the oldest (%s) is dropped",
             kMaxDelayed, delayed_.front().who.c_str());
        delayed_.pop_front();
    }
    delayed_.push_back({m.id, text, m.name, mono_us() + int64_t(config_.tts.delay) * 1000000});
    LOGD(log_, session, "message %s waits %d s before it is spoken", m.id.c_str(),
         config_.tts.delay);
    if (!delay_timer_.armed()) delayed_due();
}

void ChatHandler::say_now(const std::string& text, const std::string& who, const char* session) {
    // Muted or banned meanwhile: a delayed message is checked again when it is due.
    const Moderation& mod = policy_.mod;
    if (mod.tts_muted || mod.is_banned(who) || mod.timed_out(who, mono_us())) return;
    LOGI(log_, session, "saying: %s", text.c_str());
    if (speech_.say) speech_.say(text, who);
}

void ChatHandler::delayed_due() {
    const int64_t now = mono_us();
    while (!delayed_.empty() && delayed_.front().due_us <= now) {
        Delayed d = std::move(delayed_.front());
        delayed_.pop_front();
        say_now(d.text, d.who, "chat");
    }
    if (!delayed_.empty())
        delay_timer_.start_ms(static_cast<uint32_t>((delayed_.front().due_us - now + 999) / 1000));
}

void ChatHandler::removed(const cJSON* payload) {
    const std::string id = json_string(payload, "message_id").value_or("");
    if (id.empty()) {
        LOGD(log_, "user", "message_removed without a message_id ignored");
        return;
    }
    for (auto it = delayed_.begin(); it != delayed_.end(); ++it) {
        if (it->id != id) continue;
        LOGI(log_, "user", "message %s removed before it was spoken: dropped", id.c_str());
        delayed_.erase(it);
        return;
    }
    LOGI(log_, "user", "message %s removed", id.c_str());
}

void ChatHandler::live() {
    if (booted_) return;
    booted_ = true;
    if (config_.tts.boot_message.empty()) return;
    if (policy_.mod.tts_muted) {
        LOGD(log_, "chat", "boot message not spoken: TTS is muted");
        return;
    }
    LOGI(log_, "chat", "saying: %s", config_.tts.boot_message.c_str());
    if (speech_.say) speech_.say(config_.tts.boot_message, "");
}

}  // namespace robotd
