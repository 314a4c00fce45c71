// Command lines from the config as argv vectors: robotd starts helpers (the pipe driver's
// consumer, reverse SSH, TTS) without a shell, so nothing in a value is ever interpreted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace robotd {

// Splits a command line into argv: blanks separate words; '...' and "..." group; a
// backslash escapes the next character (outside quotes and inside "..."). No variables,
// globs or redirections. Returns false with `error` set on an unterminated quote or an
// empty command.
bool split_argv(std::string_view text, std::vector<std::string>* argv, std::string* error);

// Comma-separated items, each trimmed, empty ones dropped: "F, B,,L" -> {F, B, L}.
std::vector<std::string> split_list(std::string_view text);

}  // namespace robotd
