#include "robot/chat.h"

#include <cctype>

#include "core/json.h"

namespace robotd {

namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}
}  // namespace

std::string chat_text(std::string_view message) {
    const size_t close = message.find(']');
    return std::string(trim(close == std::string_view::npos ? message : message.substr(close + 1)));
}

std::optional<ChatMessage> parse_chat_message(const cJSON* payload, std::string* error) {
    if (!cJSON_IsObject(payload)) {
        *error = "chat message is not an object";
        return std::nullopt;
    }
    auto message = json_string(payload, "message");
    if (!message) {
        *error = "chat message has no string 'message' (keys: " + json_keys(payload) + ")";
        return std::nullopt;
    }
    ChatMessage m;
    m.name = json_string(payload, "name").value_or("");
    m.robot_id = json_string(payload, "robot_id").value_or("");
    m.room = json_string(payload, "room").value_or("");
    m.id = json_string(payload, "_id").value_or("");
    m.anonymous = json_bool(payload, "anonymous").value_or(false);
    m.non_global = json_bool(payload, "non_global").value_or(false);
    m.text = chat_text(*message);
    if (!m.text.empty() && m.text[0] == '.') {
        m.is_command = true;
        std::string_view rest(m.text);
        rest.remove_prefix(1);
        bool first = true;
        while (!(rest = trim(rest)).empty()) {
            size_t end = 0;
            while (end < rest.size() && !std::isspace(static_cast<unsigned char>(rest[end]))) ++end;
            std::string word(rest.substr(0, end));
            rest.remove_prefix(end);
            if (first) {
                for (char& c : word)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                m.command = std::move(word);
                first = false;
            } else {
                m.words.push_back(std::move(word));
            }
        }
    }
    return m;
}

}  // namespace robotd
