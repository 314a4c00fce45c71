#include "robot/moderation.h"

#include <cjson/cJSON.h>

#include <algorithm>

#include "core/json.h"
#include "core/text.h"

namespace robotd {

namespace {

std::string quoted(std::string_view s) {
    return "'" + excerpt(std::string(s), 40) + "'";
}

auto find_name(std::vector<std::string>& list, std::string_view name) {
    return std::find_if(list.begin(), list.end(),
                        [&](const std::string& n) { return iequals(n, name); });
}

bool add_name(std::vector<std::string>& list, std::string_view name, const char* what,
              std::string* why) {
    const std::string n = cap_name(name);
    if (find_name(list, n) != list.end()) {
        *why = quoted(n) + " is already " + what;
        return false;
    }
    if (list.size() >= kMaxModList) {
        *why = std::string("the list of those ") + what + " is full (" +
               std::to_string(kMaxModList) + ")";
        return false;
    }
    list.push_back(n);
    return true;
}

bool del_name(std::vector<std::string>& list, std::string_view name, const char* what,
              std::string* why) {
    const auto it = find_name(list, cap_name(name));
    if (it == list.end()) {
        *why = quoted(name) + " is not " + what;
        return false;
    }
    list.erase(it);
    return true;
}

constexpr int64_t kMinuteUs = 60 * 1000000LL;

}  // namespace

const char* devmode_name(DevMode m) {
    switch (m) {
        case DevMode::Off:
            return "off";
        case DevMode::On:
            return "on";
        case DevMode::Mods:
            return "mods";
    }
    return "off";
}

std::string cap_name(std::string_view name) {
    return std::string(name.substr(0, kMaxModName));
}

bool Moderation::is_banned(std::string_view user) const {
    return !user.empty() && name_in(cap_name(user), banned);
}

bool Moderation::timed_out(std::string_view user, int64_t now_us) const {
    if (user.empty()) return false;
    const std::string n = cap_name(user);
    return std::any_of(timeouts.begin(), timeouts.end(),
                       [&](const Timeout& t) { return iequals(t.user, n) && now_us < t.end_us; });
}

bool Moderation::whitelisted(std::string_view user) const {
    return !user.empty() && name_in(cap_name(user), whitelist_users);
}

bool Moderation::command_whitelisted(std::string_view command) const {
    return name_in(command, whitelist_commands);
}

bool Moderation::ban(std::string_view user, std::string* why) {
    return add_name(banned, user, "banned", why);
}
bool Moderation::unban(std::string_view user, std::string* why) {
    return del_name(banned, user, "banned", why);
}
bool Moderation::whitelist_add(std::string_view user, std::string* why) {
    return add_name(whitelist_users, user, "on the whitelist", why);
}
bool Moderation::whitelist_del(std::string_view user, std::string* why) {
    return del_name(whitelist_users, user, "on the whitelist", why);
}
bool Moderation::command_add(std::string_view command, std::string* why) {
    return add_name(whitelist_commands, command, "a whitelisted command", why);
}
bool Moderation::command_del(std::string_view command, std::string* why) {
    return del_name(whitelist_commands, command, "a whitelisted command", why);
}

bool Moderation::timeout(std::string_view user, int minutes, int64_t now_us, int64_t now_wall,
                         std::string* why) {
    const std::string n = cap_name(user);
    Timeout t{n, now_us + minutes * kMinuteUs, now_wall + int64_t(minutes) * 60, minutes};
    // A new timeout for the same user replaces the old one (it may shorten it: the moderator
    // said so).
    for (auto& old : timeouts)
        if (iequals(old.user, n)) {
            old = std::move(t);
            return true;
        }
    if (timeouts.size() >= kMaxModList) {
        *why = "the list of timed-out users is full (" + std::to_string(kMaxModList) + ")";
        return false;
    }
    timeouts.push_back(std::move(t));
    return true;
}

bool Moderation::untimeout(std::string_view user, std::string* why) {
    const std::string n = cap_name(user);
    const auto it = std::find_if(timeouts.begin(), timeouts.end(),
                                 [&](const Timeout& t) { return iequals(t.user, n); });
    if (it == timeouts.end()) {
        *why = quoted(n) + " is not timed out";
        return false;
    }
    timeouts.erase(it);
    return true;
}

bool Moderation::expire(int64_t now_us) {
    const size_t before = timeouts.size();
    timeouts.erase(std::remove_if(timeouts.begin(), timeouts.end(),
                                  [&](const Timeout& t) { return now_us >= t.end_us; }),
                   timeouts.end());
    return timeouts.size() != before;
}

// ---- the state file ----

namespace {

void add_list(cJSON* obj, const char* key, const std::vector<std::string>& list) {
    cJSON* a = cJSON_AddArrayToObject(obj, key);
    for (const auto& s : list) cJSON_AddItemToArray(a, cJSON_CreateString(s.c_str()));
}

// Names from the file pass the same caps as names from chat.
void read_list(const cJSON* obj, const char* key, std::vector<std::string>* out) {
    const cJSON* a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(a)) return;
    out->clear();
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, a) {
        if (!cJSON_IsString(item) || !*item->valuestring) continue;
        if (out->size() >= kMaxModList) break;
        const std::string n = cap_name(item->valuestring);
        if (!name_in(n, *out)) out->push_back(n);
    }
}

void read_bool(const cJSON* obj, const char* key, bool* out) {
    if (auto v = json_bool(obj, key)) *out = *v;
}

}  // namespace

std::string moderation_to_json(const Moderation& m, const Moderation& basis) {
    JsonPtr o(cJSON_CreateObject());
    cJSON* obj = o.get();
    cJSON_AddNumberToObject(obj, "version", 1);
    cJSON* config = cJSON_AddObjectToObject(obj, "config");
    cJSON_AddBoolToObject(config, "table_mode", basis.table_mode);
    cJSON_AddBoolToObject(config, "anon_control", basis.anon_control);
    cJSON_AddBoolToObject(config, "anon_tts", basis.anon_tts);
    cJSON_AddNumberToObject(config, "tts_volume", basis.tts_volume);
    cJSON_AddBoolToObject(obj, "table_mode", m.table_mode);
    cJSON_AddBoolToObject(obj, "anon_control", m.anon_control);
    cJSON_AddBoolToObject(obj, "anon_tts", m.anon_tts);
    cJSON_AddStringToObject(obj, "devmode", devmode_name(m.devmode));
    if (m.exclusive_user)
        cJSON_AddStringToObject(obj, "exclusive_user", m.exclusive_user->c_str());
    else
        cJSON_AddNullToObject(obj, "exclusive_user");
    cJSON_AddNumberToObject(obj, "tts_volume", m.tts_volume);
    cJSON_AddBoolToObject(obj, "tts_muted", m.tts_muted);
    cJSON_AddBoolToObject(obj, "mic_muted", m.mic_muted);
    add_list(obj, "banned", m.banned);
    cJSON* ts = cJSON_AddArrayToObject(obj, "timeouts");
    for (const auto& t : m.timeouts) {
        cJSON* e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "user", t.user.c_str());
        cJSON_AddNumberToObject(e, "until", double(t.end_wall));
        cJSON_AddNumberToObject(e, "minutes", t.minutes);
        cJSON_AddItemToArray(ts, e);
    }
    add_list(obj, "whitelist_users", m.whitelist_users);
    add_list(obj, "whitelist_commands", m.whitelist_commands);
    char* text = cJSON_Print(obj);
    std::string out = text ? text : "{}";
    cJSON_free(text);
    return out + "\n";
}

bool moderation_from_json(std::string_view text, const Moderation& defaults, int64_t now_us,
                          int64_t now_wall, Moderation* out, std::string* error) {
    JsonPtr doc = json_parse(text, error);
    if (!doc) return false;
    const cJSON* obj = doc.get();
    if (!cJSON_IsObject(obj)) {
        *error = "not a JSON object";
        return false;
    }
    Moderation m = defaults;
    // The owner edited the config since the file was written: that key's new value wins.
    const cJSON* basis = cJSON_GetObjectItemCaseSensitive(obj, "config");
    const auto edited = [basis](const char* key, double now) {
        const cJSON* was = cJSON_GetObjectItemCaseSensitive(basis, key);
        if (cJSON_IsBool(was)) return (cJSON_IsTrue(was) ? 1.0 : 0.0) != now;
        return cJSON_IsNumber(was) && was->valuedouble != now;
    };
    if (!edited("table_mode", defaults.table_mode)) read_bool(obj, "table_mode", &m.table_mode);
    if (!edited("anon_control", defaults.anon_control))
        read_bool(obj, "anon_control", &m.anon_control);
    if (!edited("anon_tts", defaults.anon_tts)) read_bool(obj, "anon_tts", &m.anon_tts);
    read_bool(obj, "tts_muted", &m.tts_muted);
    read_bool(obj, "mic_muted", &m.mic_muted);
    if (auto d = json_string(obj, "devmode")) {
        if (*d == "on") m.devmode = DevMode::On;
        if (*d == "mods") m.devmode = DevMode::Mods;
        if (*d == "off") m.devmode = DevMode::Off;
    }
    const cJSON* ex = cJSON_GetObjectItemCaseSensitive(obj, "exclusive_user");
    if (cJSON_IsString(ex) && *ex->valuestring)
        m.exclusive_user = cap_name(ex->valuestring);
    else if (cJSON_IsNull(ex))
        m.exclusive_user.reset();
    if (auto v = json_int(obj, "tts_volume");
        v && *v >= 0 && *v <= 100 && !edited("tts_volume", defaults.tts_volume))
        m.tts_volume = static_cast<int>(*v);
    read_list(obj, "banned", &m.banned);
    read_list(obj, "whitelist_users", &m.whitelist_users);
    read_list(obj, "whitelist_commands", &m.whitelist_commands);
    const cJSON* ts = cJSON_GetObjectItemCaseSensitive(obj, "timeouts");
    if (cJSON_IsArray(ts)) {
        m.timeouts.clear();
        const cJSON* e = nullptr;
        cJSON_ArrayForEach(e, ts) {
            const auto user = json_string(e, "user");
            const auto until = json_int(e, "until");
            const auto minutes = json_int(e, "minutes");
            if (!user || user->empty() || !until || !minutes || *minutes < 1 ||
                *minutes > kMaxTimeoutMinutes || m.timeouts.size() >= kMaxModList)
                continue;
            // What is left by the wall clock, never more than the stated length; an "until"
            // anywhere in the int64 range must not wrap (a string takes all of it).
            int64_t by_clock = 0;
            if (__builtin_sub_overflow(int64_t(*until), now_wall, &by_clock))
                by_clock = *until < 0 ? 0 : INT64_MAX;
            const int64_t left_s = std::min<int64_t>(by_clock, *minutes * 60);
            if (left_s <= 0) continue;
            m.timeouts.push_back(
                {cap_name(*user), now_us + left_s * 1000000, now_wall + left_s, int(*minutes)});
        }
    }
    *out = std::move(m);
    return true;
}

}  // namespace robotd
