#include "core/log.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "core/clock.h"
#include "core/unique_fd.h"

namespace robotd {

namespace {

const char kLevelChar[] = {'E', 'W', 'I', 'D'};
const int kSyslogPrio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
constexpr std::string_view kMask = "****";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The value of the `digits` hex digits at text[at], or -1.
long hex_at(std::string_view text, size_t at, size_t digits) {
    if (at + digits > text.size()) return -1;
    long value = 0;
    for (size_t i = 0; i < digits; ++i) {
        const int v = hex_value(text[at + i]);
        if (v < 0) return -1;
        value = value * 16 + v;
    }
    return value;
}

// The length of the well-formed UTF-8 sequence at s[at] (Unicode's table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF) with its code point, or 0.
size_t utf8_at(std::string_view s, size_t at, uint32_t* cp) {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[at + i]); };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (at + len > s.size()) return 0;
    if (byte(1) < lo || byte(1) > hi) return 0;
    for (size_t i = 2; i < len; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    uint32_t value = b0 & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; ++i) value = (value << 6) | (byte(i) & 0x3F);
    *cp = value;
    return len;
}

// What a JSON writer puts after a backslash for `c`, or 0 when it has no short escape.
char json_short_escape(unsigned char c) {
    switch (c) {
        case '"':
            return '"';
        case '\\':
            return '\\';
        case '/':
            return '/';
        case '\b':
            return 'b';
        case '\f':
            return 'f';
        case '\n':
            return 'n';
        case '\r':
            return 'r';
        case '\t':
            return 't';
        default:
            return 0;
    }
}

// One way `text` at `p` can spell the secret's bytes from `k` on: how many secret bytes it
// stands for and where in the text it ends.
struct Step {
    size_t secret_bytes;
    size_t text_end;
};

// Every spelling of the secret's next character(s) at text[p]. At most a few apply.
size_t steps_at(std::string_view text, size_t p, std::string_view secret, size_t k, Step out[4]) {
    size_t n = 0;
    if (p >= text.size()) return 0;
    const auto b = static_cast<unsigned char>(secret[k]);
    const char c = text[p];
    if (static_cast<unsigned char>(c) == b) out[n++] = {1, p + 1};
    if (c == '%' && hex_at(text, p + 1, 2) == b) out[n++] = {1, p + 3};
    if (c == '+' && b == ' ') out[n++] = {1, p + 1};
    if (c == '\\' && p + 1 < text.size()) {
        const char e = json_short_escape(b);
        if (e != 0 && text[p + 1] == e) out[n++] = {1, p + 2};
        if (text[p + 1] == 'u') {
            uint32_t cp = 0;
            const size_t len = utf8_at(secret, k, &cp);
            const long u = hex_at(text, p + 2, 4);
            if (len > 0 && u >= 0) {
                if (static_cast<uint32_t>(u) == cp) {
                    out[n++] = {len, p + 6};
                } else if (u >= 0xD800 && u <= 0xDBFF && cp > 0xFFFF &&
                           text.substr(p + 6, 2) == "\\u") {
                    const long low = hex_at(text, p + 8, 4);
                    if (low >= 0xDC00 && low <= 0xDFFF &&
                        0x10000 + ((static_cast<uint32_t>(u) - 0xD800) << 10) +
                                (static_cast<uint32_t>(low) - 0xDC00) ==
                            cp)
                        out[n++] = {len, p + 12};
                }
            }
        }
    }
    return n;
}

// The end of the longest spelling of `secret` that starts at text[start], or npos. The
// spellings branch (a '%' in the secret, say, is itself or the start of %25), so every text
// position reachable after k secret bytes is followed; there are few.
size_t match_end(std::string_view text, size_t start, std::string_view secret) {
    const char first = text[start];
    if (first != secret[0] && first != '%' && first != '+' && first != '\\')
        return std::string::npos;
    std::vector<std::vector<size_t>> reached(secret.size() + 1);
    reached[0].push_back(start);
    Step steps[4];
    for (size_t k = 0; k < secret.size(); ++k) {
        std::vector<size_t>& at = reached[k];
        std::sort(at.begin(), at.end());
        at.erase(std::unique(at.begin(), at.end()), at.end());
        for (const size_t p : at) {
            const size_t n = steps_at(text, p, secret, k, steps);
            for (size_t i = 0; i < n; ++i)
                reached[k + steps[i].secret_bytes].push_back(steps[i].text_end);
        }
    }
    const std::vector<size_t>& done = reached[secret.size()];
    return done.empty() ? std::string::npos : *std::max_element(done.begin(), done.end());
}

// The end of the longest occurrence of any secret starting at text[at], or npos.
size_t any_match_end(std::string_view text, size_t at, const std::vector<std::string>& secrets) {
    size_t end = std::string::npos;
    for (const std::string& secret : secrets) {
        if (secret.empty()) continue;
        const size_t e = match_end(text, at, secret);
        if (e != std::string::npos && (end == std::string::npos || e > end)) end = e;
    }
    return end;
}

void append_hex_escape(std::string& out, unsigned char byte) {
    static const char hex[] = "0123456789abcdef";
    out += "\\x";
    out += hex[byte >> 4];
    out += hex[byte & 15];
}

}  // namespace

std::string mask_secrets(std::string_view text, const std::vector<std::string>& secrets) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        size_t end = any_match_end(text, i, secrets);
        if (end == std::string::npos) {
            out += text[i++];
            continue;
        }
        // An occurrence that starts inside this one and reaches further is masked with it.
        for (size_t j = i + 1; j < end; ++j) {
            const size_t e = any_match_end(text, j, secrets);
            if (e != std::string::npos && e > end) end = e;
        }
        out += kMask;
        i = end;
    }
    return out;
}

std::string escape_log_text(std::string_view text, size_t cap, size_t cut_before) {
    std::string out;
    out.reserve(std::min(text.size(), cap) + 16);
    std::string token;
    size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        size_t consumed = 1;
        token.clear();
        if (c == '\n') {
            token = "\\n";
        } else if (c == '\r') {
            token = "\\r";
        } else if (c == '\t') {
            token = "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            append_hex_escape(token, c);
        } else if (c < 0x80) {
            token = static_cast<char>(c);
        } else {
            uint32_t cp = 0;
            const size_t len = utf8_at(text, i, &cp);
            if (len == 0) {
                append_hex_escape(token, c);  // not UTF-8: this byte alone
            } else if (cp <= 0x9F) {
                // C1 controls (CSI is U+009B) act on terminals like ESC does.
                for (size_t b = 0; b < len; ++b)
                    append_hex_escape(token, static_cast<unsigned char>(text[i + b]));
                consumed = len;
            } else {
                token.assign(text.substr(i, len));
                consumed = len;
            }
        }
        if (out.size() + token.size() > cap) {
            out += " [" + std::to_string(text.size() - i + cut_before) + " more bytes cut]";
            return out;
        }
        out += token;
        i += consumed;
    }
    return out;
}

bool syslog_reachable(const std::string& path, std::string* why) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        *why = path + ": not a usable socket path";
        return false;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int err = 0;
    for (const int type : {SOCK_DGRAM, SOCK_STREAM}) {
        const UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
        if (!fd.valid()) {
            err = errno;
            break;
        }
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
            return true;
        err = errno;
        if (err != EPROTOTYPE) break;  // only a socket of the other type is worth a second try
    }
    *why = path + ": " + std::strerror(err);
    return false;
}

Logger::Logger(LogLevel level, LogSink sink) : level_(level), sink_(sink) {
    if (sink_ == LogSink::Syslog) openlog("robotd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

Logger::~Logger() {
    if (sink_ == LogSink::Syslog) closelog();
}

void Logger::set_secrets(std::vector<std::string> secrets) {
    std::lock_guard<std::mutex> lock(mutex_);
    secrets_.clear();
    for (auto& s : secrets)
        if (!s.empty()) secrets_.push_back(std::move(s));
}

std::string Logger::mask(std::string_view text) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return mask_secrets(text, secrets_);
}

// Masking comes first: a secret that holds a control character is still found, and the cap
// can never leave half a secret at the end of a line. It sees only what can reach the line
// (the cap, and room for a secret in its longest encoded form across the cut), so a
// megabyte of hostile chat does not keep the loop busy masking text that is cut anyway.
std::string Logger::render(std::string_view text) const {
    size_t longest = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& s : secrets_) longest = std::max(longest, s.size());
    }
    const size_t keep = kLogLineMax + 12 * longest + 16;  // 12: two JSON escapes per byte
    const size_t cut = text.size() > keep ? text.size() - keep : 0;
    return escape_log_text(mask(text.substr(0, text.size() - cut)), kLogLineMax, cut);
}

void Logger::log(LogLevel level, const char* tag, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, tag, fmt, ap);
    va_end(ap);
}

void Logger::vlog(LogLevel level, const char* tag, const char* fmt, va_list ap) {
    // The whole message, however long: it is cut only after masking.
    char small[512];
    va_list copy;
    va_copy(copy, ap);
    const int n = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    std::string text;
    if (n < 0) {
        text = "(unformattable log message)";
    } else if (static_cast<size_t>(n) < sizeof small) {
        text.assign(small, static_cast<size_t>(n));
    } else {
        text.resize(static_cast<size_t>(n));
        vsnprintf(text.data(), text.size() + 1, fmt, ap);
    }
    const std::string body = render(text);
    const std::string tag_text = escape_log_text(tag != nullptr ? tag : "", 64);
    if (sink_ == LogSink::Syslog) {
        syslog(kSyslogPrio[static_cast<int>(level)], "%s: %s", tag_text.c_str(), body.c_str());
        if (level == LogLevel::Error && errors_to_stderr_) write_stderr(level, tag_text, body);
        return;
    }
    write_stderr(level, tag_text, body);
}

void Logger::write_stderr(LogLevel level, const std::string& tag, const std::string& body) const {
    const int64_t us = mono_us();
    // One fprintf per line so lines from different sources never interleave mid-line.
    fprintf(stderr, "[%8lld.%03lld] %c %s: %s\n", static_cast<long long>(us / 1000000),
            static_cast<long long>(us / 1000 % 1000), kLevelChar[static_cast<int>(level)],
            tag.c_str(), body.c_str());
}

}  // namespace robotd
