// Chat messages as the chat and user sockets deliver them (chat_message_with_name): the
// spoken text after the "[robotname]" prefix, and "."-commands split into name and words.
#pragma once

#include <cjson/cJSON.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace robotd {

struct ChatMessage {
    std::string name;      // who wrote it
    std::string text;      // after the first ']' (the "[robotname] " prefix), trimmed
    std::string robot_id;  // empty when the server did not say
    std::string room;
    std::string id;  // "_id", which message_removed names later
    bool anonymous = false;
    bool non_global = false;
    // A chat command: text starts with '.'; never spoken.
    bool is_command = false;
    std::string command;             // ".table" -> "table", lower-cased
    std::vector<std::string> words;  // the rest, split on blanks
};

std::optional<ChatMessage> parse_chat_message(const cJSON* payload, std::string* error);
// ".name word ...", as written (the command lower-cased), for log lines.
std::string command_text(const ChatMessage& m);
// The one argument of a percent command (".brightness 60"; "60%" too): a whole number in
// 0..100. True with *percent set; else false with *error one line for the log.
bool parse_percent_argument(const std::vector<std::string>& words, int* percent,
                            std::string* error);
// `text` without its links (words starting with http://, https:// or www., any case), the
// remaining words joined by single spaces: what filter_url_tts leaves to be spoken.
std::string drop_urls(std::string_view text);
// The text of a "[robotname] text" message: what follows the first ']', trimmed; the whole
// message, trimmed, when there is no ']'.
std::string chat_text(std::string_view message);

}  // namespace robotd
