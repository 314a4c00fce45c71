#include "core/json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace robotd {

JsonPtr json_parse(std::string_view text, std::string* error) {
    const char* end = nullptr;
    JsonPtr doc(cJSON_ParseWithLengthOpts(text.data(), text.size(), &end, false));
    if (!doc) {
        if (error) *error = "not JSON: '" + excerpt(text) + "'";
        return nullptr;
    }
    // Trailing bytes other than white space mean a garbled reply, not a JSON one.
    const char* stop = text.data() + text.size();
    for (const char* p = end; p && p < stop; ++p) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
            if (error) *error = "not JSON (trailing bytes): '" + excerpt(text) + "'";
            return nullptr;
        }
    }
    return doc;
}

std::string excerpt(std::string_view text, size_t max) {
    std::string out;
    for (char c : text.substr(0, max)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7f) ? c : '?';
    }
    if (text.size() > max) out += "...";
    return out;
}

std::optional<std::string> json_string(const cJSON* obj, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) || !v->valuestring) return std::nullopt;
    return std::string(v->valuestring);
}

std::optional<long long> json_int(const cJSON* obj, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(v)) {
        const double d = v->valuedouble;
        if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) return std::nullopt;
        return static_cast<long long>(d);
    }
    if (cJSON_IsString(v) && v->valuestring && *v->valuestring) {
        char* end = nullptr;
        errno = 0;
        const long long n = std::strtoll(v->valuestring, &end, 10);
        if (errno == 0 && end && *end == '\0') return n;
    }
    return std::nullopt;
}

std::optional<bool> json_bool(const cJSON* obj, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1))
        return v->valuedouble == 1;
    if (cJSON_IsString(v) && v->valuestring) {
        const std::string s = v->valuestring;
        if (s == "true" || s == "1") return true;
        if (s == "false" || s == "0") return false;
    }
    return std::nullopt;
}

std::string json_text(const cJSON* v) {
    if (!v) return "null";
    std::unique_ptr<char, void (*)(void*)> text(cJSON_PrintUnformatted(v), cJSON_free);
    return text ? std::string(text.get()) : "null";
}

std::string json_keys(const cJSON* obj) {
    std::string out;
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, obj) {
        if (!item->string) continue;
        if (!out.empty()) out += ", ";
        if (out.size() > 80) return out + "...";
        out += excerpt(item->string, 24);
    }
    return out.empty() ? "none" : out;
}

}  // namespace robotd
