// The owner's and moderators' choices made from chat (bans, timeouts, whitelist, devmode,
// anonymous control and TTS, table mode, exclusive user, TTS volume and mute, mic mute), and
// their state file form. Pure: the caller supplies the clocks, so tests script expiry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace robotd {

// Hostile chat must not grow memory without bound: names and lists are capped.
constexpr size_t kMaxModName = 64;
constexpr size_t kMaxModList = 1000;
// `.timeout USER [MINUTES]`: 5 minutes by default, at most a week.
constexpr int kDefaultTimeoutMinutes = 5;
constexpr int kMaxTimeoutMinutes = 10080;

// Who may drive while devmode is on: owners only, or owners and moderators.
enum class DevMode { Off, On, Mods };
const char* devmode_name(DevMode m);  // "off", "on", "mods"

struct Timeout {
    std::string user;
    int64_t end_us = 0;    // monotonic deadline (what decide() compares)
    int64_t end_wall = 0;  // unix seconds, for the state file
    int minutes = 0;       // its stated length: a wrong clock never makes it longer
};

struct Moderation {
    bool anon_control = true;
    bool anon_tts = true;
    bool table_mode = false;
    DevMode devmode = DevMode::Off;
    std::optional<std::string> exclusive_user;
    int tts_volume = 100;  // percent
    bool tts_muted = false;
    bool mic_muted = false;
    std::vector<std::string> banned;
    std::vector<Timeout> timeouts;
    std::vector<std::string> whitelist_users;
    std::vector<std::string> whitelist_commands;

    // Names compare ASCII case-insensitively.
    bool is_banned(std::string_view user) const;
    // Timed out until the end time, accepted again from then on.
    bool timed_out(std::string_view user, int64_t now_us) const;
    bool whitelisted(std::string_view user) const;
    bool command_whitelisted(std::string_view command) const;

    // Each returns false when nothing changed (already there, not there, or a list is full),
    // with *why set to one line for the log.
    bool ban(std::string_view user, std::string* why);
    bool unban(std::string_view user, std::string* why);
    bool timeout(std::string_view user, int minutes, int64_t now_us, int64_t now_wall,
                 std::string* why);
    bool untimeout(std::string_view user, std::string* why);
    bool whitelist_add(std::string_view user, std::string* why);
    bool whitelist_del(std::string_view user, std::string* why);
    bool command_add(std::string_view command, std::string* why);
    bool command_del(std::string_view command, std::string* why);
    // Drops the timeouts that ended; true when any did.
    bool expire(int64_t now_us);
};

// A name as stored: at most kMaxModName bytes.
std::string cap_name(std::string_view name);

// The state file's JSON. Timeouts keep their wall-clock end and their length. `basis` is the
// config's values the choices were made over (table mode, anonymous control and TTS, TTS
// volume), recorded so that a later edit of the config wins over an older chat choice.
std::string moderation_to_json(const Moderation& m, const Moderation& basis);
// Reads a state file's text over `defaults` (the config's values); a choice whose config
// value is no longer the one the file recorded as its basis keeps the config's. A timeout's
// wall-clock end becomes a monotonic deadline, clamped to its stated length (a clock set wrong
// never lengthens it); ended ones are dropped. False with *error one line when the text is not a
// state file (the caller keeps the defaults).
bool moderation_from_json(std::string_view text, const Moderation& defaults, int64_t now_us,
                          int64_t now_wall, Moderation* out, std::string* error);

}  // namespace robotd
