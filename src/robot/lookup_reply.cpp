#include "robot/lookup_reply.h"

#include "core/json.h"

namespace robotd {

namespace {

// The reply must be a JSON object of bounded size; everything else is a reason.
JsonPtr object_of(std::string_view body, std::string* error) {
    if (body.size() > kMaxLookupBody) {
        *error = "reply of " + std::to_string(body.size()) + " bytes is over the 64 KiB limit";
        return nullptr;
    }
    if (body.empty()) {
        *error = "empty reply";
        return nullptr;
    }
    JsonPtr doc = json_parse(body, error);
    if (doc && !cJSON_IsObject(doc.get())) {
        *error = "reply is JSON but not an object: '" + excerpt(body) + "'";
        return nullptr;
    }
    return doc;
}

// A hostname or address literal: no scheme, path, spaces or control bytes.
bool plausible_host(const std::string& h) {
    if (h.empty() || h.size() > 253) return false;
    for (char c : h) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@') return false;
    }
    return true;
}

Parsed<std::string> host_of(const cJSON* obj) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, "host");
    if (!v) return Parsed<std::string>::fail("reply has no 'host' (keys: " + json_keys(obj) + ")");
    auto host = json_string(obj, "host");
    if (!host || !plausible_host(*host))
        return Parsed<std::string>::fail("'host' is not a host name");
    return {host, {}};
}

Parsed<int> port_of(const cJSON* obj, const char* key) {
    if (!cJSON_GetObjectItemCaseSensitive(obj, key))
        return Parsed<int>::fail(std::string("reply has no '") + key +
                                 "' (keys: " + json_keys(obj) + ")");
    auto n = json_int(obj, key);
    if (!n || *n < 1 || *n > 65535)
        return Parsed<int>::fail(std::string("'") + key + "' is not a port number 1..65535");
    return {static_cast<int>(*n), {}};
}

}  // namespace

Parsed<HostPort> parse_host_port(std::string_view body) {
    std::string err;
    JsonPtr doc = object_of(body, &err);
    if (!doc) return Parsed<HostPort>::fail(err);
    auto host = host_of(doc.get());
    if (!host.value) return Parsed<HostPort>::fail(host.error);
    auto port = port_of(doc.get(), "port");
    if (!port.value) return Parsed<HostPort>::fail(port.error);
    return {HostPort{*host.value, *port.value}, {}};
}

Parsed<std::string> parse_host(std::string_view body) {
    std::string err;
    JsonPtr doc = object_of(body, &err);
    if (!doc) return Parsed<std::string>::fail(err);
    return host_of(doc.get());
}

Parsed<int> parse_port(std::string_view body, const char* key) {
    std::string err;
    JsonPtr doc = object_of(body, &err);
    if (!doc) return Parsed<int>::fail(err);
    if (cJSON_GetObjectItemCaseSensitive(doc.get(), key)) return port_of(doc.get(), key);
    if (cJSON_GetObjectItemCaseSensitive(doc.get(), "port")) return port_of(doc.get(), "port");
    return Parsed<int>::fail(std::string("reply has neither '") + key +
                             "' nor 'port' (keys: " + json_keys(doc.get()) + ")");
}

Parsed<std::string> parse_owner(std::string_view body) {
    std::string err;
    JsonPtr doc = object_of(body, &err);
    if (!doc) return Parsed<std::string>::fail(err);
    auto owner = json_string(doc.get(), "owner");
    if (!owner)
        return Parsed<std::string>::fail(
            "reply has no string 'owner' (keys: " + json_keys(doc.get()) + ")");
    return {owner, {}};
}

Parsed<RobotSettings> parse_robot_settings(std::string_view body) {
    std::string err;
    JsonPtr doc = object_of(body, &err);
    if (!doc) return Parsed<RobotSettings>::fail(err);
    const cJSON* o = doc.get();
    RobotSettings s;
    auto res = [&](const char* key) -> std::optional<int> {
        auto n = json_int(o, key);
        // As the config's x_res/y_res: MPEG-1 writes a size in 12 bits and the encoder
        // wants it even, so anything else would fail the stream forever.
        if (n && *n >= 16 && *n <= 4094 && *n % 2 == 0) return static_cast<int>(*n);
        return std::nullopt;
    };
    s.xres = res("xres");
    s.yres = res("yres");
    s.mic_enabled = json_bool(o, "mic_enabled");
    s.anonymous_control = json_bool(o, "anonymous_control");
    s.public_robot = json_bool(o, "public");
    s.dev_mode = json_bool(o, "dev_mode");
    s.non_global_chat = json_bool(o, "non_global_chat");
    s.profanity_filter = json_bool(o, "profanity_filter");
    s.mute_tts = json_bool(o, "mute_text-to-speech");
    return {s, {}};
}

Parsed<std::vector<std::string>> parse_moderators(std::string_view body) {
    using Result = Parsed<std::vector<std::string>>;
    std::string err;
    JsonPtr doc = object_of(body, &err);
    if (!doc) return Result::fail(err);
    const cJSON* list = cJSON_GetObjectItemCaseSensitive(doc.get(), "moderators");
    if (!list) return Result{std::vector<std::string>{}, {}};  // an owner with no moderators
    if (!cJSON_IsArray(list)) return Result::fail("'moderators' is not a list");
    std::vector<std::string> mods;
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, list) {
        if (cJSON_IsString(item) && item->valuestring && *item->valuestring)
            mods.emplace_back(item->valuestring);
    }
    return {mods, {}};
}

Parsed<WifiLogin> parse_wifi_login(std::string_view body) {
    std::string err;
    JsonPtr doc = object_of(body, &err);
    if (!doc) return Parsed<WifiLogin>::fail(err);
    auto name = json_string(doc.get(), "wifi_name");
    auto pass = json_string(doc.get(), "wifi_password");
    if (!name || !pass)
        return Parsed<WifiLogin>::fail(
            "reply lacks 'wifi_name'/'wifi_password' (keys: " + json_keys(doc.get()) + ")");
    return {WifiLogin{*name, *pass}, {}};
}

std::string describe(const RobotSettings& s) {
    std::string out;
    auto add = [&out](const char* key, const std::string& v) {
        if (!out.empty()) out += ' ';
        out += key;
        out += '=';
        out += v;
    };
    auto flag = [&](const char* key, const std::optional<bool>& b) {
        if (b) add(key, *b ? "true" : "false");
    };
    if (s.xres) add("xres", std::to_string(*s.xres));
    if (s.yres) add("yres", std::to_string(*s.yres));
    flag("mic_enabled", s.mic_enabled);
    flag("anonymous_control", s.anonymous_control);
    flag("public", s.public_robot);
    flag("dev_mode", s.dev_mode);
    flag("non_global_chat", s.non_global_chat);
    flag("profanity_filter", s.profanity_filter);
    flag("mute_text-to-speech", s.mute_tts);
    return out.empty() ? "(no known keys)" : out;
}

}  // namespace robotd
