#include "robot/chat.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/json.h"
#include "core/text.h"

namespace robotd {

std::string chat_text(std::string_view message) {
    const size_t close = message.find(']');
    return std::string(trim(close == std::string_view::npos ? message : message.substr(close + 1)));
}

std::string drop_urls(std::string_view text) {
    std::string out;
    while (!(text = trim(text)).empty()) {
        size_t end = 0;
        while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
        const std::string word(text.substr(0, end));
        text.remove_prefix(end);
        const std::string l = lower(word);
        if (l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0 || l.rfind("www.", 0) == 0)
            continue;
        if (!out.empty()) out += ' ';
        out += word;
    }
    return out;
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
                m.command = lower(word);
                first = false;
            } else {
                m.words.push_back(std::move(word));
            }
        }
    }
    return m;
}

std::string command_text(const ChatMessage& m) {
    std::string text = "." + m.command;
    for (const auto& w : m.words) text += " " + w;
    return text;
}

bool parse_percent_argument(const std::vector<std::string>& words, int* percent,
                            std::string* error) {
    if (words.size() != 1) {
        *error = words.empty() ? "a value 0..100 is missing"
                               : "expected one value 0..100, got " + std::to_string(words.size());
        return false;
    }
    std::string_view w = words[0];
    if (!w.empty() && w.back() == '%') w.remove_suffix(1);
    // Digits only: from_chars alone would take "-5" and stop quietly at "6o".
    const bool digits = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
    });
    if (!digits) {
        *error = "'" + excerpt(words[0], 16) + "' is not a whole number 0..100";
        return false;
    }
    long value = 0;
    if (std::from_chars(w.data(), w.data() + w.size(), value).ec != std::errc() || value > 100) {
        *error = excerpt(words[0], 16) + " is out of range 0..100";
        return false;
    }
    *percent = static_cast<int>(value);
    return true;
}

}  // namespace robotd
