// Parsers for the discovery and api replies (PROTOCOL.md's table). Pure: body in, value or
// a one-line reason out, for every shape a real server has been seen to send.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace robotd {

// A body above this is refused before parsing (a lookup reply is a few dozen bytes).
constexpr size_t kMaxLookupBody = 64 * 1024;

template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string error;  // set when value is empty
    static Parsed fail(std::string why) { return {std::nullopt, std::move(why)}; }
};

struct HostPort {
    std::string host;
    int port = 0;
};

struct RobotSettings {
    std::optional<int> xres, yres;
    std::optional<bool> mic_enabled, anonymous_control, public_robot, dev_mode, non_global_chat,
        profanity_filter, mute_tts;
};

struct WifiLogin {
    std::string name;
    std::string password;
};

Parsed<HostPort> parse_host_port(std::string_view body);
Parsed<std::string> parse_host(std::string_view body);
// `key` is the reference client's spelling ("mpeg_stream_port", "audio_stream_port");
// the document's "port" is accepted too.
Parsed<int> parse_port(std::string_view body, const char* key);
Parsed<std::string> parse_owner(std::string_view body);
Parsed<RobotSettings> parse_robot_settings(std::string_view body);
Parsed<std::vector<std::string>> parse_moderators(std::string_view body);
Parsed<WifiLogin> parse_wifi_login(std::string_view body);

// One line for the log: what the settings say, omitting what they do not.
std::string describe(const RobotSettings& s);

}  // namespace robotd
