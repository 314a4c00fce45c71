// The chat commands by rank (PROTOCOL.md's table with the reference's bugs fixed): one table
// row per command, its arguments, the least rank that may send it and what it does.
#include <time.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/clock.h"
#include "core/json.h"
#include "core/text.h"
#include "media/camera_controls.h"
#include "robot/sessions.h"

namespace robotd {

using Outcome = ChatHandler::Outcome;

namespace {

Outcome done(std::string text) {
    return {true, std::move(text)};
}
Outcome bad(std::string text) {
    return {false, std::move(text)};
}

std::string quoted(const std::string& s) {
    return "'" + excerpt(s, 40) + "'";
}

// "on"/"off" (any case); nullopt for anything else.
std::optional<bool> on_off(const std::string& w) {
    if (iequals(w, "on")) return true;
    if (iequals(w, "off")) return false;
    return std::nullopt;
}

// A whole number in lo..hi, digits only.
std::optional<int> number(const std::string& w, int lo, int hi) {
    if (w.empty() || w.size() > 9 ||
        !std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit((unsigned char)c); }))
        return std::nullopt;
    int v = 0;
    std::from_chars(w.data(), w.data() + w.size(), v);
    if (v < lo || v > hi) return std::nullopt;
    return v;
}

const char* rank_name(ChatRank r) {
    switch (r) {
        case ChatRank::Owner:
            return "the owner";
        case ChatRank::Moderator:
            return "moderators and the owner";
        case ChatRank::Everyone:
            return "everyone";
    }
    return "?";
}

}  // namespace

// What the table's actions may touch (ChatHandler's privates, by friendship).
struct ChatActions {
    ChatHandler& h;
    const ChatMessage& m;
    Moderation& mod() { return h.policy_.mod; }
    PolicyState& policy() { return h.policy_; }
    const MediaControl& media() { return h.media_; }
    const SpeechControl& speech() { return h.speech_; }
    void changed() { h.changed(); }
    void setting(const std::string& key, bool value) { h.setting(key, value); }
    const std::vector<std::string>& w() { return m.words; }
};

struct ChatHandler::Command {
    const char* name;
    const char* usage;  // what it expects, for a bad-argument line
    ChatRank rank;
    Outcome (*act)(ChatActions& a);
};

namespace {

using Act = ChatActions;

// ".anon control on|off", ".anon tts on|off", ".anon on|off" (both).
Outcome anon(Act& a) {
    const auto& w = a.w();
    bool control = true, tts = true;
    std::optional<bool> v;
    if (w.size() == 1) {
        v = on_off(w[0]);
    } else if (w.size() == 2 && (iequals(w[0], "control") || iequals(w[0], "tts"))) {
        control = iequals(w[0], "control");
        tts = !control;
        v = on_off(w[1]);
    }
    if (!v) return bad("");
    if (control) a.mod().anon_control = *v;
    if (tts) a.mod().anon_tts = *v;
    a.changed();
    if (control) a.setting("anonymous_control", *v);
    std::string what = control && tts ? "anonymous control and TTS"
                       : control      ? "anonymous control"
                                      : "anonymous TTS";
    return done(what + (*v ? " on" : " off"));
}

// A ban or timeout holds against every command its user sends: an owner's would lock the
// owner out of its own robot, so none is taken.
bool names_owner(Act& a, const std::string& user) {
    return chat_rank(a.policy(), user, false) == ChatRank::Owner;
}

Outcome ban(Act& a) {
    if (a.w().size() != 1) return bad("");
    if (names_owner(a, a.w()[0])) return bad(quoted(a.w()[0]) + " is an owner: never banned");
    std::string why;
    if (!a.mod().ban(a.w()[0], &why)) return done(why);  // nothing to change: said, not an error
    a.changed();
    return done(quoted(a.w()[0]) + " banned: commands, pointer events and speech refused");
}

Outcome unban(Act& a) {
    if (a.w().size() != 1) return bad("");
    std::string why;
    if (!a.mod().unban(a.w()[0], &why)) return done(why);  // nothing to change: said, not an error
    a.changed();
    return done(quoted(a.w()[0]) + " is no longer banned");
}

Outcome timeout(Act& a) {
    const auto& w = a.w();
    if (w.empty() || w.size() > 2) return bad("");
    int minutes = kDefaultTimeoutMinutes;
    if (w.size() == 2) {
        const auto n = number(w[1], 1, kMaxTimeoutMinutes);
        if (!n) return bad("");
        minutes = *n;
    }
    if (names_owner(a, w[0])) return bad(quoted(w[0]) + " is an owner: never timed out");
    std::string why;
    if (!a.mod().timeout(w[0], minutes, mono_us(), int64_t(::time(nullptr)), &why))
        return done(why);  // nothing to change: said, not an error
    a.changed();
    return done(quoted(w[0]) + " timed out for " + std::to_string(minutes) + " min");
}

Outcome untimeout(Act& a) {
    if (a.w().size() != 1) return bad("");
    std::string why;
    if (!a.mod().untimeout(a.w()[0], &why))
        return done(why);  // nothing to change: said, not an error
    a.changed();
    return done(quoted(a.w()[0]) + " is no longer timed out");
}

// ".table on|off"; ".stationary" toggles (on|off accepted too).
Outcome table(Act& a) {
    const auto& w = a.w();
    bool v = !a.mod().table_mode;
    if (w.size() == 1) {
        const auto o = on_off(w[0]);
        if (!o) return bad("");
        v = *o;
    } else if (!w.empty() || a.m.command == "table") {
        return bad("");
    }
    a.mod().table_mode = v;
    a.changed();
    return done(v ? "table mode on: forward and back refused" : "table mode off");
}

Outcome tts(Act& a) {
    const auto& w = a.w();
    if (w.size() == 1 && (iequals(w[0], "mute") || iequals(w[0], "unmute"))) {
        const bool muted = iequals(w[0], "mute");
        a.mod().tts_muted = muted;
        a.changed();
        if (a.speech().mute) a.speech().mute(muted);
        return done(muted ? "TTS muted" : "TTS unmuted");
    }
    if (w.size() == 2 && iequals(w[0], "vol")) {
        const auto n = number(w[1], 0, 100);
        if (!n) return bad("");
        a.mod().tts_volume = *n;
        a.changed();
        if (a.speech().volume) a.speech().volume(*n);
        return done("TTS volume " + std::to_string(*n) + " %");
    }
    return bad("");
}

Outcome mic(Act& a) {
    const auto& w = a.w();
    if (w.size() != 1 || !(iequals(w[0], "mute") || iequals(w[0], "unmute"))) return bad("");
    const bool muted = iequals(w[0], "mute");
    a.mod().mic_muted = muted;
    a.changed();
    if (a.media().mic) a.media().mic(muted);
    a.setting("mic_enabled", !muted);
    return done(muted ? "microphone muted" : "microphone unmuted");
}

Outcome stream(Act& a, media::StreamKind kind) {
    const auto& w = a.w();
    const bool video = kind == media::StreamKind::Video;
    const char* name = video ? "video" : "audio";
    if (w.size() == 1 && (iequals(w[0], "start") || iequals(w[0], "stop"))) {
        const bool on = iequals(w[0], "start");
        const auto& fn = video ? a.media().video : a.media().audio;
        if (fn) fn(on);
        return done(std::string(name) + (on ? " started" : " stopped"));
    }
    if (w.size() == 1 && iequals(w[0], "restart")) {
        if (a.media().restart) a.media().restart(kind);
        return done(std::string(name) + " restarted");
    }
    if (w.size() == 2 && iequals(w[0], "bitrate")) {
        // The encoders' own ranges, the ones [ffmpeg] video_bitrate and audio_bitrate take.
        const auto n = number(w[1], 1, 100000);
        if (!n) return bad("");
        if (std::string why = media::check_bitrate(kind, *n); !why.empty()) return bad(why);
        if (a.media().bitrate) a.media().bitrate(kind, *n);
        return done(std::string(name) + " bitrate " + std::to_string(*n) + " kbit/s");
    }
    return bad("");
}
Outcome video(Act& a) {
    return stream(a, media::StreamKind::Video);
}
Outcome audio(Act& a) {
    return stream(a, media::StreamKind::Audio);
}

Outcome camera(Act& a) {
    int percent = 0;
    std::string error;
    if (!parse_percent_argument(a.w(), &percent, &error)) return bad(error);
    if (a.media().camera_control) a.media().camera_control(a.m.command, percent);
    return done("setting the camera's " + a.m.command + " to " + std::to_string(percent) + " %");
}

Outcome exclusive(Act& a) {
    if (a.w().size() != 1) return bad("");
    const std::string& u = a.w()[0];
    if (iequals(u, "off")) {
        a.mod().exclusive_user.reset();
        a.changed();
        return done("exclusive control ended");
    }
    a.mod().exclusive_user = cap_name(u);
    a.changed();
    return done("exclusive control for " + quoted(u));
}

Outcome devmode(Act& a) {
    if (a.w().size() != 1) return bad("");
    const std::string& v = a.w()[0];
    DevMode m;
    if (iequals(v, "on"))
        m = DevMode::On;
    else if (iequals(v, "off"))
        m = DevMode::Off;
    else if (iequals(v, "mods"))
        m = DevMode::Mods;
    else
        return bad("");
    a.mod().devmode = m;
    a.changed();
    // The site knows dev mode on or off; "mods" is on there, the moderators' part is ours.
    a.setting("dev_mode", m != DevMode::Off);
    return done(std::string("devmode ") + devmode_name(m) +
                (m == DevMode::On     ? ": only the owner drives"
                 : m == DevMode::Mods ? ": only the owner and moderators drive"
                                      : ""));
}

// The settings that live on the site only: `invert` when the site's key says the opposite.
Outcome site_flag(Act& a, const char* key, bool invert, const char* what) {
    if (a.w().size() != 1) return bad("");
    const auto v = on_off(a.w()[0]);
    if (!v) return bad("");
    a.setting(key, invert ? !*v : *v);
    return done(std::string(what) + (*v ? " on" : " off"));
}
Outcome public_(Act& a) {
    return site_flag(a, "public", false, "public");
}
Outcome global_chat(Act& a) {
    return site_flag(a, "non_global_chat", true, "global chat");
}
Outcome word_filter(Act& a) {
    return site_flag(a, "profanity_filter", false, "word filter");
}
Outcome show_exclusive(Act& a) {
    return site_flag(a, "no_exclusive_control_button", true, "the exclusive control button");
}

// ".whitelist add|del USER", ".whitelist command add|del CMD".
Outcome whitelist(Act& a) {
    const auto& w = a.w();
    std::string why;
    if (w.size() == 2 && (iequals(w[0], "add") || iequals(w[0], "del"))) {
        const bool add = iequals(w[0], "add");
        if (!(add ? a.mod().whitelist_add(w[1], &why) : a.mod().whitelist_del(w[1], &why)))
            return done(why);  // nothing to change: said, not an error
        a.changed();
        return done(quoted(w[1]) + (add ? " added to" : " removed from") + " the whitelist");
    }
    if (w.size() == 3 && iequals(w[0], "command") &&
        (iequals(w[1], "add") || iequals(w[1], "del"))) {
        const bool add = iequals(w[1], "add");
        if (!(add ? a.mod().command_add(w[2], &why) : a.mod().command_del(w[2], &why)))
            return done(why);  // nothing to change: said, not an error
        a.changed();
        return done("command " + quoted(w[2]) +
                    (add ? " whitelisted: only whitelisted users and the owner may send it"
                         : " no longer whitelisted"));
    }
    return bad("");
}

const ChatHandler::Command kCommands[] = {
    {"anon", ".anon control|tts on|off, or .anon on|off", ChatRank::Moderator, anon},
    {"ban", ".ban USER", ChatRank::Moderator, ban},
    {"unban", ".unban USER", ChatRank::Moderator, unban},
    {"timeout", ".timeout USER [MINUTES 1..10080]", ChatRank::Moderator, timeout},
    {"untimeout", ".untimeout USER", ChatRank::Moderator, untimeout},
    {"table", ".table on|off", ChatRank::Owner, table},
    {"stationary", ".stationary (toggles table mode), or .stationary on|off", ChatRank::Owner,
     table},
    {"tts", ".tts mute|unmute, or .tts vol 0..100", ChatRank::Owner, tts},
    {"mic", ".mic mute|unmute", ChatRank::Owner, mic},
    {"video", ".video start|stop|restart, or .video bitrate 1..100000", ChatRank::Owner, video},
    {"audio", ".audio start|stop|restart, or .audio bitrate 32|48|...|384 (an MP2 rate)",
     ChatRank::Owner, audio},
    {"brightness", ".brightness 0..100", ChatRank::Owner, camera},
    {"contrast", ".contrast 0..100", ChatRank::Owner, camera},
    {"saturation", ".saturation 0..100", ChatRank::Owner, camera},
    {"exclusive", ".exclusive USER|off", ChatRank::Owner, exclusive},
    {"devmode", ".devmode on|off|mods", ChatRank::Owner, devmode},
    {"public", ".public on|off", ChatRank::Owner, public_},
    {"global_chat", ".global_chat on|off", ChatRank::Owner, global_chat},
    {"word_filter", ".word_filter on|off", ChatRank::Owner, word_filter},
    {"show_exclusive", ".show_exclusive on|off", ChatRank::Owner, show_exclusive},
    {"whitelist", ".whitelist add|del USER, or .whitelist command add|del CMD", ChatRank::Owner,
     whitelist},
};

}  // namespace

void ChatHandler::command(const ChatMessage& m, const char* session) {
    const auto row = std::find_if(std::begin(kCommands), std::end(kCommands),
                                  [&](const Command& c) { return m.command == c.name; });
    const std::string text = excerpt(command_text(m), 120);
    if (row == std::end(kCommands)) {
        // Other robots' commands pass through the same chat: not ours, not news.
        LOGD(log_, session, "chat command %s is not one of robotd's: ignored", text.c_str());
        return;
    }
    const std::string who = m.name.empty() ? std::string("(anonymous)")
                            : m.anonymous  ? excerpt(m.name, 64) + " (anonymous)"
                                           : excerpt(m.name, 64);
    const ChatRank rank = chat_rank(policy_, m.name, m.anonymous);
    if (rank < row->rank) {
        // An anonymous sender may carry the owner's name: say why that is not enough.
        LOGI(log_, session, "chat command %s from %s refused: only %s may use .%s%s", text.c_str(),
             who.c_str(), rank_name(row->rank), row->name,
             m.anonymous && !m.name.empty()
                 ? " (an anonymous sender has no rank, whatever its name)"
                 : "");
        return;
    }
    // Banned and timed-out users' commands are refused whatever their rank (a banned moderator
    // must not lift its own ban); owners are never banned (see names_owner).
    const char* barred = policy_.mod.is_banned(m.name)              ? "the sender is banned"
                         : policy_.mod.timed_out(m.name, mono_us()) ? "the sender is timed out"
                                                                    : nullptr;
    if (barred && rank != ChatRank::Owner) {
        LOGI(log_, session, "chat command %s from %s refused: %s", text.c_str(), who.c_str(),
             barred);
        return;
    }
    ChatActions a{*this, m};
    const Outcome o = row->act(a);
    if (o.ok)
        LOGI(log_, session, "chat command %s from %s: %s", text.c_str(), who.c_str(),
             o.text.c_str());
    else if (o.text.empty())
        LOGI(log_, session, "chat command %s from %s ignored: expected %s", text.c_str(),
             who.c_str(), row->usage);
    else
        LOGI(log_, session, "chat command %s from %s ignored: %s (expected %s)", text.c_str(),
             who.c_str(), o.text.c_str(), row->usage);
}

}  // namespace robotd
