// Small, defensive helpers over cJSON: owned documents, and typed reads that accept the
// loose forms servers send (a port as number or string, a flag as bool, 0/1 or "true").
#pragma once

#include <cjson/cJSON.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace robotd {

struct JsonDeleter {
    void operator()(cJSON* j) const { cJSON_Delete(j); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

// Parses `text` (not NUL-terminated); on failure returns null and sets `error`.
JsonPtr json_parse(std::string_view text, std::string* error);

// A printable, bounded excerpt of untrusted text for a log line.
std::string excerpt(std::string_view text, size_t max = 48);

std::optional<std::string> json_string(const cJSON* obj, const char* key);
// An integer given as a JSON number or a string of digits (optionally signed).
std::optional<long long> json_int(const cJSON* obj, const char* key);
// true/false, 1/0, or the strings "true"/"false"/"1"/"0".
std::optional<bool> json_bool(const cJSON* obj, const char* key);
// Compact JSON text of `v` ("null" for none).
std::string json_text(const cJSON* v);
// The object's keys, comma separated, bounded: tells the reader what came instead.
std::string json_keys(const cJSON* obj);

}  // namespace robotd
