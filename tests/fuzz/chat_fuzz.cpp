// libFuzzer target for chat messages (robot/chat.h): the input is the JSON payload of a
// chat_message_with_name event; the "[robotname] text" and percent-argument parsers run on
// what it yields, chat_text on the raw input too.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/text.h"
#include "fuzz_check.h"
#include "robot/chat.h"

namespace {

using namespace robotd;
using fuzz::require;

bool trimmed(std::string_view s) {
    return s == trim(s);
}

bool has_space(std::string_view s) {
    for (char c : s)
        if (std::isspace(static_cast<unsigned char>(c))) return true;
    return false;
}

void check_message(const ChatMessage& m, std::string_view in) {
    require(trimmed(m.text), "text not trimmed", in);
    require(m.is_command == (!m.text.empty() && m.text[0] == '.'), "is_command vs text", in);
    if (!m.is_command) {
        require(m.command.empty() && m.words.empty(), "words of a non-command", in);
        return;
    }
    require(m.command == lower(m.command), "command not lower-cased", in);
    require(!has_space(m.command), "blank in the command", in);
    for (const auto& w : m.words) require(!w.empty() && !has_space(w), "bad word", in);
    const std::string text = command_text(m);
    require(!text.empty() && text[0] == '.', "command_text", in);

    int percent = -1;
    std::string error;
    if (parse_percent_argument(m.words, &percent, &error)) {
        require(percent >= 0 && percent <= 100, "percent out of range", in);
        require(m.words.size() == 1, "percent from several words", in);
    } else {
        require(fuzz::good_reason(error), "percent reason not one bounded line", in);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    require(trimmed(chat_text(in)), "chat_text not trimmed", in);

    const JsonPtr doc = json_parse(in, nullptr);  // null for non-JSON: a payload of nothing
    std::string error;
    if (const auto m = parse_chat_message(doc.get(), &error)) {
        require(cJSON_IsObject(doc.get()), "a non-object parsed", in);
        check_message(*m, in);
    } else {
        require(fuzz::good_reason(error), "reason not one bounded line", in);
    }
    return 0;
}
