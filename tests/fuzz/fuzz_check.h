// What every fuzz target checks besides "no crash": a broken invariant aborts the run with
// the input quoted, so libFuzzer writes the reproducer as for any crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace robotd::fuzz {

// The first 200 bytes of `input`, non-printable bytes as '?' (the reproducer file has it all).
inline std::string quote(std::string_view input) {
    std::string out;
    for (char c : input.substr(0, 200)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7f) ? c : '?';
    }
    return input.size() > 200 ? out + "..." : out;
}

inline void require(bool ok, const char* what, std::string_view input) {
    if (ok) return;
    std::fprintf(stderr, "invariant broken: %s (input '%s')\n", what, quote(input).c_str());
    std::abort();
}

// One line of printable ASCII-or-UTF-8 text: no control byte, so it cannot forge a log line.
inline bool printable_line(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return false;
    }
    return true;
}

// A parser's reason for refusing: present, one printable line, bounded (it goes to the log).
inline bool good_reason(std::string_view s, size_t max = 512) {
    return !s.empty() && s.size() <= max && printable_line(s);
}

}  // namespace robotd::fuzz
