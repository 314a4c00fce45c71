#include "robot/command.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/json.h"

namespace robotd {

namespace {

constexpr size_t kMaxKind = 32;

// A robot id as a string or an integer (some servers send numbers).
std::optional<std::string> robot_id_of(const cJSON* payload) {
    if (auto s = json_string(payload, "robot_id"); s && !s->empty()) return s;
    if (const cJSON* v = cJSON_GetObjectItemCaseSensitive(payload, "robot_id"); cJSON_IsNumber(v)) {
        if (auto n = json_int(payload, "robot_id")) return std::to_string(*n);
    }
    return std::nullopt;
}

// Anonymous unless the flag says otherwise; a flag present but unreadable counts as anonymous.
bool anonymous_flag(const cJSON* obj, bool current) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(obj, "anonymous");
    if (!item || cJSON_IsNull(item)) return current;
    const auto v = json_bool(obj, "anonymous");
    return current || !v || *v;
}

struct Who {
    std::string user;
    bool anonymous = false;
};

// The sender, from `user` (a string or {username, anonymous}), `username` and `anonymous`.
Who who_of(const cJSON* obj) {
    Who who;
    const cJSON* user = cJSON_GetObjectItemCaseSensitive(obj, "user");
    if (cJSON_IsString(user) && user->valuestring) {
        who.user = user->valuestring;
    } else if (cJSON_IsObject(user)) {
        who.user = json_string(user, "username").value_or("");
        who.anonymous = anonymous_flag(user, false);
    }
    if (who.user.empty()) who.user = json_string(obj, "username").value_or("");
    who.anonymous = anonymous_flag(obj, who.anonymous);
    return who;
}

std::string key_position_of(const cJSON* payload) {
    std::string k = json_string(payload, "key_position").value_or("");
    for (char& c : k)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return (k == "down" || k == "intermediate" || k == "up") ? k : "";
}

std::optional<double> unit_number(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (errno != 0 || !end || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1)
        return std::nullopt;
    return v;
}

// "kind:x:y" into `event`; false with `error` set when it is not that.
bool parse_pointer_text(const std::string& text, PointerEvent* event, std::string* error) {
    const size_t a = text.find(':');
    const size_t b = a == std::string::npos ? a : text.find(':', a + 1);
    if (b == std::string::npos || text.find(':', b + 1) != std::string::npos) {
        *error = "custom_event data is not kind:x:y: '" + excerpt(text) + "'";
        return false;
    }
    const std::string kind = text.substr(0, a);
    bool kind_ok = !kind.empty() && kind.size() <= kMaxKind;
    for (char c : kind)
        kind_ok = kind_ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-');
    const auto x = unit_number(text.substr(a + 1, b - a - 1));
    const auto y = unit_number(text.substr(b + 1));
    if (!kind_ok || !x || !y) {
        *error = "custom_event data needs a kind and x, y in 0..1: '" + excerpt(text) + "'";
        return false;
    }
    event->kind = kind;
    event->x = *x;
    event->y = *y;
    return true;
}

}  // namespace

std::optional<CommandMessage> parse_command(const cJSON* payload, std::string* error) {
    if (!cJSON_IsObject(payload)) {
        *error = "command_to_robot payload is not an object";
        return std::nullopt;
    }
    CommandMessage m;
    auto robot_id = robot_id_of(payload);
    if (!robot_id) {
        *error = "command_to_robot without a robot_id (keys: " + json_keys(payload) + ")";
        return std::nullopt;
    }
    m.robot_id = std::move(*robot_id);
    auto command = json_string(payload, "command");
    if (!command || command->empty()) {
        *error = "command_to_robot without a command (keys: " + json_keys(payload) + ")";
        return std::nullopt;
    }
    m.command.command = std::move(*command);
    const Who who = who_of(payload);
    m.command.user = who.user;
    m.command.anonymous = who.anonymous;
    m.command.key_position = key_position_of(payload);
    return m;
}

std::optional<PointerMessage> parse_custom_event(const cJSON* payload, std::string* error) {
    if (!cJSON_IsObject(payload)) {
        *error = "custom_event payload is not an object";
        return std::nullopt;
    }
    PointerMessage m;
    auto robot_id = robot_id_of(payload);
    if (!robot_id) {
        *error = "custom_event without a robot_id (keys: " + json_keys(payload) + ")";
        return std::nullopt;
    }
    m.robot_id = std::move(*robot_id);
    const cJSON* data = cJSON_GetObjectItemCaseSensitive(payload, "data");
    std::optional<std::string> text;
    Who who = who_of(payload);
    if (cJSON_IsString(data) && data->valuestring) {
        text = data->valuestring;
    } else if (cJSON_IsObject(data)) {
        text = json_string(data, "data");
        if (!text) text = json_string(data, "event");
        const Who inner = who_of(data);
        if (!inner.user.empty()) who.user = inner.user;
        who.anonymous = who.anonymous || inner.anonymous;
    }
    if (!text) {
        *error = "custom_event without a kind:x:y string in data";
        return std::nullopt;
    }
    if (!parse_pointer_text(*text, &m.event, error)) return std::nullopt;
    m.event.user = who.user;
    m.event.anonymous = who.anonymous;
    return m;
}

}  // namespace robotd
