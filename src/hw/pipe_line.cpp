#include "hw/pipe_line.h"

#include <cjson/cJSON.h>

#include <cstdlib>
#include <memory>

#include "core/json.h"

namespace robotd {

namespace {

constexpr size_t kMaxKeyPosition = 16;
constexpr size_t kMaxKind = 32;
constexpr size_t kMaxReason = 64;

struct FreeDeleter {
    void operator()(char* p) const { cJSON_free(p); }
};

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one.
size_t utf8_sequence(std::string_view s) {
    const auto b0 = static_cast<unsigned char>(s[0]);
    if (b0 == 0) return 0;  // c_str() would end the field here
    if (b0 < 0x80) return 1;
    size_t n = 0;
    unsigned min = 0;
    if ((b0 & 0xE0) == 0xC0)
        n = 2, min = 0x80;
    else if ((b0 & 0xF0) == 0xE0)
        n = 3, min = 0x800;
    else if ((b0 & 0xF8) == 0xF0)
        n = 4, min = 0x10000;
    else
        return 0;
    if (s.size() < n) return 0;
    unsigned cp = b0 & (0x7F >> n);
    for (size_t i = 1; i < n; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past Unicode are not text.
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

std::string finish(cJSON* obj, int64_t t_us) {
    // As raw digits: a double would print large microsecond counts in exponent form.
    cJSON_AddRawToObject(obj, "t_us", std::to_string(t_us).c_str());
    std::unique_ptr<char, FreeDeleter> text(cJSON_PrintUnformatted(obj));
    if (!text) return {};
    std::string line(text.get());
    line += '\n';
    return line;
}

}  // namespace

std::string bounded_utf8(std::string_view text, size_t max) {
    std::string out;
    while (!text.empty()) {
        const size_t n = utf8_sequence(text);
        const size_t in = n ? n : 1;  // an invalid byte becomes one '?'
        if (out.size() + in > max) break;
        if (n)
            out.append(text.substr(0, n));
        else
            out += '?';
        text.remove_prefix(in);
    }
    return out;
}

std::string command_line(const DriveCommand& c) {
    JsonPtr obj(cJSON_CreateObject());
    if (!obj) return {};
    cJSON_AddStringToObject(obj.get(), "command", bounded_utf8(c.command, kMaxPipeField).c_str());
    cJSON_AddStringToObject(obj.get(), "user", bounded_utf8(c.user, kMaxPipeField).c_str());
    cJSON_AddBoolToObject(obj.get(), "anonymous", c.anonymous);
    cJSON_AddStringToObject(obj.get(), "key_position",
                            bounded_utf8(c.key_position, kMaxKeyPosition).c_str());
    if (!c.reason.empty())
        cJSON_AddStringToObject(obj.get(), "reason", bounded_utf8(c.reason, kMaxReason).c_str());
    return finish(obj.get(), c.received_us);
}

std::string pointer_line(const PointerEvent& p) {
    JsonPtr obj(cJSON_CreateObject());
    if (!obj) return {};
    cJSON_AddStringToObject(obj.get(), "command", "pointer");
    cJSON_AddStringToObject(obj.get(), "kind", bounded_utf8(p.kind, kMaxKind).c_str());
    cJSON_AddNumberToObject(obj.get(), "x", p.x);
    cJSON_AddNumberToObject(obj.get(), "y", p.y);
    cJSON_AddStringToObject(obj.get(), "user", bounded_utf8(p.user, kMaxPipeField).c_str());
    cJSON_AddBoolToObject(obj.get(), "anonymous", p.anonymous);
    return finish(obj.get(), p.received_us);
}

}  // namespace robotd
