#include "core/config.h"

#include <ini.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/argv.h"
#include "core/config_keys.h"
#include "core/text.h"

namespace robotd {

namespace {

using Level = ConfigDiag::Level;

// A config file is a few kilobytes; the cap keeps a mistaken path (a device, a log)
// from being read without end.
constexpr size_t kMaxFileSize = 1 << 20;

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// ---- Values: the whole (trimmed) text must parse, or it is an error. ----

std::optional<bool> parse_bool(std::string_view text) {
    const std::string s = lower(text);
    if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
    if (s == "false" || s == "no" || s == "off" || s == "0") return false;
    return std::nullopt;
}

std::optional<int> parse_int(std::string_view text) {
    if (text.empty()) return std::nullopt;
    int value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || stop != end) return std::nullopt;
    return value;
}

std::optional<double> parse_double(std::string_view text) {
    if (text.empty()) return std::nullopt;
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || stop != end || !std::isfinite(value)) return std::nullopt;
    return value;
}

// The config being built, plus what decides the app/user server defaults at the end.
struct Draft {
    Config config;
    bool app_server_set = false;
    bool user_server_set = false;
};

bool set_text(std::string& field, std::string_view text) {
    field = text;
    return true;
}

bool set_bool(bool& field, std::string_view text) {
    const auto value = parse_bool(text);
    if (value) field = *value;
    return value.has_value();
}

bool set_int(int& field, std::string_view text, int lo, int hi) {
    const auto value = parse_int(text);
    if (!value || *value < lo || *value > hi) return false;
    field = *value;
    return true;
}

// MPEG-1 and the jsmpeg viewer work in 2x2 chroma blocks, so sizes must be even; MPEG-1
// writes a size in 12 bits, so 4094 is the largest even one.
bool set_resolution(int& field, std::string_view text) {
    const auto value = parse_int(text);
    if (!value || *value < 16 || *value > 4094 || *value % 2 != 0) return false;
    field = *value;
    return true;
}

// Seconds become milliseconds in 32 bits downstream: the bound keeps them far from wrapping.
bool set_seconds(double& field, std::string_view text, double lo, double hi) {
    const auto value = parse_double(text);
    if (!value || *value < lo || *value > hi) return false;
    field = *value;
    return true;
}

// One of `allowed`, exactly.
bool set_int_of(int& field, std::string_view text, std::initializer_list<int> allowed) {
    const auto value = parse_int(text);
    if (!value || std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) return false;
    field = *value;
    return true;
}

// A bare host means https, as the reference client; `port` is what a URL without one gets.
bool set_url(Url& field, std::string_view text, int port) {
    const auto url = parse_url(text, "https", port);
    if (url) field = *url;
    return url.has_value();
}

// Empty means "follow the info server", which is decided once everything is read.
bool set_follower_url(Url& field, bool& set, std::string_view text, int port) {
    if (text.empty()) {
        set = false;
        return true;
    }
    if (!set_url(field, text, port)) return false;
    set = true;
    return true;
}

// An I2C address, as the reference wrote it ("0x40") or in decimal: 0x03..0x77.
bool set_i2c_address(int& field, std::string_view text) {
    int value = 0;
    std::string_view digits = text;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        digits.remove_prefix(2);
        base = 16;
    }
    const char* end = digits.data() + digits.size();
    const auto [stop, ec] = std::from_chars(digits.data(), end, value, base);
    if (digits.empty() || ec != std::errc() || stop != end || value < 0x03 || value > 0x77)
        return false;
    field = value;
    return true;
}

// The reference read [adafruit_pwm] address with int(text, 16): "40" is 0x40 there too.
bool set_hex_address(int& field, std::string_view text) {
    std::string_view digits = text;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        digits.remove_prefix(2);
    int value = 0;
    const char* end = digits.data() + digits.size();
    const auto [stop, ec] = std::from_chars(digits.data(), end, value, 16);
    if (digits.empty() || ec != std::errc() || stop != end || value < 0x03 || value > 0x77)
        return false;
    field = value;
    return true;
}

// [motor_hat] forward/left, JSON as the reference read them: "[-1,1,-1,1]", one direction per
// motor M1..M4 (1 forward, -1 backward, 0.5/-0.5 at half speed, 0 released).
bool set_directions(std::vector<double>& field, std::string_view text) {
    if (text.size() < 2 || text.front() != '[' || text.back() != ']') return false;
    std::vector<double> values;
    std::string_view rest = text.substr(1, text.size() - 2);
    while (true) {
        const size_t comma = rest.find(',');
        const auto value = parse_double(trim(rest.substr(0, comma)));
        if (!value ||
            (*value != 1 && *value != -1 && *value != 0.5 && *value != -0.5 && *value != 0))
            return false;
        values.push_back(*value == 0 ? 0 : *value);  // no "-0" when written back
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (values.size() != 4) return false;
    field = std::move(values);
    return true;
}

std::string show_hex(int value) {
    char buf[16];
    snprintf(buf, sizeof buf, "0x%02x", value);
    return buf;
}

// The outputs and values of each generic map section.
const OutputRules kGpioRules{1023, 1, {{"low", 0}, {"high", 1}, {"off", 0}, {"on", 1}}, "pin"};
// 4096 is the PCA9685's "full on" bit.
const OutputRules kPcaRules{15, 4096, {{"off", 0}, {"full", 4096}}, "channel"};

bool set_safe(Config::OutputMap& map, std::string_view text, const OutputRules& rules) {
    std::string error;
    std::vector<OutputSet> sets;
    if (!parse_output_sets(text, rules, &sets, &error)) return false;
    map.safe = std::move(sets);
    map.safe_text = std::string(text);
    return true;
}

// A comma list of whole numbers 0..max ("4,9"); false for anything else.
bool parse_number_list(std::string_view text, int max, std::vector<int>* out) {
    out->clear();
    for (const std::string& item : split_list(text)) {
        const auto n = parse_int(item);
        if (!n || *n < 0 || *n > max) return false;
        out->push_back(*n);
    }
    return true;
}

bool set_hold(Config::OutputMap& map, std::string_view text, const OutputRules& rules) {
    std::vector<int> outputs;
    if (!parse_number_list(text, rules.max_output, &outputs)) return false;
    map.hold = std::move(outputs);
    map.hold_text = std::string(text);
    return true;
}

// GPIO pin numbers: what a pin map or a chip can have (kGpioRules' range).
constexpr int kMaxPin = 1023;

// A comma list of pins, as the reference wrote l298n's pairs ("12,16"); empty: not set.
bool set_pins(std::vector<int>& field, std::string_view text) {
    std::vector<int> pins;
    if (!parse_number_list(text, kMaxPin, &pins)) return false;
    if (pins.empty() != text.empty() || pins.size() > 16) return false;
    field = std::move(pins);
    return true;
}

std::string show_pins(const std::vector<int>& pins) {
    std::string out;
    for (int pin : pins) out += (out.empty() ? "" : ",") + std::to_string(pin);
    return out;
}

// One pin, or empty for none (-1).
bool set_pin(int& field, std::string_view text) {
    if (text.empty()) {
        field = -1;
        return true;
    }
    return set_int(field, text, 0, kMaxPin);
}

std::string show_pin(int pin) {
    return pin < 0 ? "" : std::to_string(pin);
}

// [motozero] MotorNA / MotorNB / MotorNEnable: Part 0, 1, 2 of motor M (0-based).
template <size_t M, int Part>
int& motor_pin(Config& c) {
    Config::Motozero::Motor& m = c.motozero.motors[M];
    return Part == 0 ? m.a : Part == 1 ? m.b : m.enable;
}
template <size_t M, int Part>
bool set_motor_pin(Draft& d, std::string_view v) {
    return set_pin(motor_pin<M, Part>(d.config), v);
}
template <size_t M, int Part>
std::string get_motor_pin(const Config& c) {
    return show_pin(motor_pin<M, Part>(const_cast<Config&>(c)));
}

// [charge] line: "<chip>:<line>" (chip by name, label or path), or a BCM number; empty: off.
bool set_charge_line(std::string& field, std::string_view text) {
    const size_t colon = text.rfind(':');
    if (!text.empty() && colon == std::string_view::npos) {
        const auto pin = parse_int(text);
        if (!pin || *pin < 0 || *pin > kMaxPin) return false;
    } else if (!text.empty()) {
        const auto line = parse_int(trim(text.substr(colon + 1)));
        if (trim(text.substr(0, colon)).empty() || !line || *line < 0 || *line > 65535)
            return false;
    }
    field = text;
    return true;
}

bool set_list(std::vector<std::string>& field, std::string_view text) {
    field = split_list(text);
    return true;
}

// A command line is checked for its quoting now, so a typo is an error at file:line and
// not a failure the first time the command is needed.
bool set_command(std::string& field, std::string_view text) {
    std::vector<std::string> argv;
    std::string error;
    if (!text.empty() && !split_argv(text, &argv, &error)) return false;
    field = text;
    return true;
}

std::string show_list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

std::string show_bool(bool value) {
    return value ? "true" : "false";
}

std::string show_double(double value) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest exact form
    return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

std::string show_directions(const std::vector<double>& values) {
    std::string out = "[";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + show_double(values[i]);
    return out + "]";
}

// [adafruit_pwm]'s tick values, one template instance per key.
template <int Config::AdafruitPwm::*Field>
bool set_ticks(Draft& d, std::string_view text) {
    return set_int(d.config.adafruit_pwm.*Field, text, 0, 4096);
}
template <int Config::AdafruitPwm::*Field>
std::string get_ticks(const Config& c) {
    return std::to_string(c.adafruit_pwm.*Field);
}

std::string show_eio(EioMode mode) {
    switch (mode) {
        case EioMode::V3:
            return "3";
        case EioMode::V4:
            return "4";
        case EioMode::Auto:
            break;
    }
    return "auto";
}

constexpr std::string_view kBoolForm = "true or false (also yes/no, on/off, 1/0)";
constexpr std::string_view kResForm = "an even integer 16..4094";
constexpr std::string_view kDelayForm = "a number of seconds 0..60";
constexpr std::string_view kListForm = "a comma-separated list of commands";
constexpr std::string_view kSpeedForm = "a whole number 0..255 (Adafruit's motor speed)";
constexpr std::string_view kTicksForm = "a whole number of ticks 0..4096";
constexpr std::string_view kDirectionsForm =
    "a list of 4 directions, one per motor M1..M4, such as [-1,1,-1,1] (each 1, -1, 0.5, -0.5 "
    "or 0)";
constexpr std::string_view kCommandForm =
    "a command line with balanced quotes (run without a shell)";
constexpr std::string_view kPinForm = "a BCM pin number 0..1023";
constexpr std::string_view kUrlForm =
    "a host name or a URL such as https://host:port (port 1..65535)";
constexpr std::string_view kFollowerUrlForm =
    "a host name, a URL such as https://host:port (port 1..65535), or empty for the info "
    "server's host";

// A key robotd reads. The table below is in the reference layout's order, which
// format_config follows.
struct UsedKey {
    std::string_view section;
    std::string_view key;
    std::string_view expected;              // the good form, for error messages
    bool (*set)(Draft&, std::string_view);  // false: bad value, nothing changed
    std::string (*get)(const Config&);      // as format_config writes it
    bool secret;                            // masked by format_config, in config_secrets
};

// Plain strings take any value: what they name (a device, a user) is checked where used.
const UsedKey kUsedKeys[] = {
    {"robot", "owner", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.robot.owner, v); },
     [](const Config& c) { return c.robot.owner; }, false},
    {"robot", "robot_id", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.robot.robot_id, v); },
     [](const Config& c) { return c.robot.robot_id; }, false},
    {"robot", "camera_id", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.robot.camera_id, v); },
     [](const Config& c) { return c.robot.camera_id; }, false},
    {"robot", "type", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.robot.type, v); },
     [](const Config& c) { return c.robot.type; }, false},
    {"robot", "stream_key", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.robot.stream_key, v); },
     [](const Config& c) { return c.robot.stream_key; }, true},
    {"robot", "api_key", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.robot.api_key, v); },
     [](const Config& c) { return c.robot.api_key; }, true},
    {"robot", "turn_delay", kDelayForm,
     [](Draft& d, std::string_view v) { return set_seconds(d.config.robot.turn_delay, v, 0, 60); },
     [](const Config& c) { return show_double(c.robot.turn_delay); }, false},
    {"robot", "straight_delay", kDelayForm,
     [](Draft& d, std::string_view v) {
         return set_seconds(d.config.robot.straight_delay, v, 0, 60);
     },
     [](const Config& c) { return show_double(c.robot.straight_delay); }, false},

    // robotd's own [robot] keys.
    {"robot", "anon_control", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.robot.anon_control, v); },
     [](const Config& c) { return show_bool(c.robot.anon_control); }, false},
    {"robot", "table_mode", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.robot.table_mode, v); },
     [](const Config& c) { return show_bool(c.robot.table_mode); }, false},
    {"robot", "straight_commands", kListForm,
     [](Draft& d, std::string_view v) { return set_list(d.config.robot.straight_commands, v); },
     [](const Config& c) { return show_list(c.robot.straight_commands); }, false},
    {"robot", "turn_commands", kListForm,
     [](Draft& d, std::string_view v) { return set_list(d.config.robot.turn_commands, v); },
     [](const Config& c) { return show_list(c.robot.turn_commands); }, false},
    {"robot", "owner_commands", kListForm,
     [](Draft& d, std::string_view v) { return set_list(d.config.robot.owner_commands, v); },
     [](const Config& c) { return show_list(c.robot.owner_commands); }, false},

    {"camera", "no_camera", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.camera.no_camera, v); },
     [](const Config& c) { return show_bool(c.camera.no_camera); }, false},
    {"camera", "no_mic", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.camera.no_mic, v); },
     [](const Config& c) { return show_bool(c.camera.no_mic); }, false},
    {"camera", "x_res", kResForm,
     [](Draft& d, std::string_view v) { return set_resolution(d.config.camera.x_res, v); },
     [](const Config& c) { return std::to_string(c.camera.x_res); }, false},
    {"camera", "y_res", kResForm,
     [](Draft& d, std::string_view v) { return set_resolution(d.config.camera.y_res, v); },
     [](const Config& c) { return std::to_string(c.camera.y_res); }, false},
    {"camera", "camera_device", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.camera.camera_device, v); },
     [](const Config& c) { return c.camera.camera_device; }, false},
    // Kept as text: "1,0" is an ALSA card,device pair, not a number.
    {"camera", "mic_num", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.camera.mic_num, v); },
     [](const Config& c) { return c.camera.mic_num; }, false},
    {"camera", "mic_device", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.camera.mic_device, v); },
     [](const Config& c) { return c.camera.mic_device; }, false},

    {"ffmpeg", "audio_channels", "1 or 2",
     [](Draft& d, std::string_view v) { return set_int(d.config.ffmpeg.audio_channels, v, 1, 2); },
     [](const Config& c) { return std::to_string(c.ffmpeg.audio_channels); }, false},
    // The bitrates MPEG-1 Layer II has at 32, 44.1 and 48 kHz; the encoder refuses others.
    {"ffmpeg", "audio_bitrate",
     "one of 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384 (kbit/s)",
     [](Draft& d, std::string_view v) {
         return set_int_of(d.config.ffmpeg.audio_bitrate, v,
                           {32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384});
     },
     [](const Config& c) { return std::to_string(c.ffmpeg.audio_bitrate); }, false},
    // The rates MP2 has and the jsmpeg viewer plays.
    {"ffmpeg", "audio_sample_rate", "32000, 44100 or 48000",
     [](Draft& d, std::string_view v) {
         return set_int_of(d.config.ffmpeg.audio_sample_rate, v, {32000, 44100, 48000});
     },
     [](const Config& c) { return std::to_string(c.ffmpeg.audio_sample_rate); }, false},
    // MPEG-1 states the rate in 18 bits of 400 bit/s: 104857 kbit/s at most.
    {"ffmpeg", "video_bitrate", "an integer 1..100000 (kbit/s)",
     [](Draft& d, std::string_view v) {
         return set_int(d.config.ffmpeg.video_bitrate, v, 1, 100000);
     },
     [](const Config& c) { return std::to_string(c.ffmpeg.video_bitrate); }, false},

    {"tts", "type", "espeak, festival, pico, flite, custom or none",
     [](Draft& d, std::string_view v) {
         for (const char* name : {"espeak", "festival", "pico", "flite", "custom", "none"})
             if (iequals(v, name)) return set_text(d.config.tts.type, name);
         return false;
     },
     [](const Config& c) { return c.tts.type; }, false},
    {"tts", "command", kCommandForm,
     [](Draft& d, std::string_view v) { return set_command(d.config.tts.command, v); },
     [](const Config& c) { return c.tts.command; }, false},
    {"tts", "speaker_device", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.tts.speaker_device, v); },
     [](const Config& c) { return c.tts.speaker_device; }, false},
    {"tts", "speaker_num", "a sound card number N or N,M (or empty)",
     [](Draft& d, std::string_view v) {
         const size_t comma = v.find(',');
         auto number = [](std::string_view n) {
             return !n.empty() && n.size() <= 3 &&
                    std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
         };
         if (!v.empty() && !(comma == std::string_view::npos
                                 ? number(v)
                                 : number(v.substr(0, comma)) && number(v.substr(comma + 1))))
             return false;
         return set_text(d.config.tts.speaker_num, v);
     },
     [](const Config& c) { return c.tts.speaker_num; }, false},
    {"tts", "tts_volume", "a whole number 0..100 (%)",
     [](Draft& d, std::string_view v) { return set_int(d.config.tts.tts_volume, v, 0, 100); },
     [](const Config& c) { return std::to_string(c.tts.tts_volume); }, false},
    {"tts", "max_length", "a whole number of characters 1..5000",
     [](Draft& d, std::string_view v) { return set_int(d.config.tts.max_length, v, 1, 5000); },
     [](const Config& c) { return std::to_string(c.tts.max_length); }, false},
    {"tts", "timeout", "a whole number of seconds 1..120",
     [](Draft& d, std::string_view v) { return set_int(d.config.tts.timeout, v, 1, 120); },
     [](const Config& c) { return std::to_string(c.tts.timeout); }, false},
    {"tts", "queue", "a whole number of messages 1..100",
     [](Draft& d, std::string_view v) { return set_int(d.config.tts.queue, v, 1, 100); },
     [](const Config& c) { return std::to_string(c.tts.queue); }, false},
    {"tts", "anon_tts", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.tts.anon_tts, v); },
     [](const Config& c) { return show_bool(c.tts.anon_tts); }, false},
    {"tts", "filter_url_tts", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.tts.filter_url_tts, v); },
     [](const Config& c) { return show_bool(c.tts.filter_url_tts); }, false},
    {"tts", "ext_chat", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.tts.ext_chat, v); },
     [](const Config& c) { return show_bool(c.tts.ext_chat); }, false},
    {"tts", "boot_message", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.tts.boot_message, v); },
     [](const Config& c) { return c.tts.boot_message; }, false},
    {"tts", "delay_tts", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.tts.delay_tts, v); },
     [](const Config& c) { return show_bool(c.tts.delay_tts); }, false},
    {"tts", "delay", "a whole number of seconds 0..60",
     [](Draft& d, std::string_view v) { return set_int(d.config.tts.delay, v, 0, 60); },
     [](const Config& c) { return std::to_string(c.tts.delay); }, false},

    {"espeak", "male", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.espeak.male, v); },
     [](const Config& c) { return show_bool(c.espeak.male); }, false},
    // espeak-ng's English variants m1..m7 (and f1..f5: robotd uses f5 for 6 and 7).
    {"espeak", "voice_number", "a whole number 1..7",
     [](Draft& d, std::string_view v) { return set_int(d.config.espeak.voice_number, v, 1, 7); },
     [](const Config& c) { return std::to_string(c.espeak.voice_number); }, false},
    {"pico", "voice", "a language such as en-US, en-GB, de-DE, es-ES, fr-FR or it-IT",
     [](Draft& d, std::string_view v) {
         if (v.empty() || v.size() > 16 || v.find_first_of(" \t/") != std::string_view::npos)
             return false;
         return set_text(d.config.pico.voice, v);
     },
     [](const Config& c) { return c.pico.voice; }, false},

    {"misc", "info_server", kUrlForm,
     [](Draft& d, std::string_view v) { return set_url(d.config.misc.info_server, v, 0); },
     [](const Config& c) { return c.misc.info_server.str(); }, false},
    {"misc", "api_server", kUrlForm,
     [](Draft& d, std::string_view v) { return set_url(d.config.misc.api_server, v, 0); },
     [](const Config& c) { return c.misc.api_server.str(); }, false},
    {"misc", "secret_key", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.misc.secret_key, v); },
     [](const Config& c) { return c.misc.secret_key; }, true},
    {"misc", "secure_cert", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.misc.secure_cert, v); },
     [](const Config& c) { return show_bool(c.misc.secure_cert); }, false},
    // robotd's own keys from here on.
    {"misc", "app_server", kFollowerUrlForm,
     [](Draft& d, std::string_view v) {
         return set_follower_url(d.config.misc.app_server, d.app_server_set, v, 8022);
     },
     [](const Config& c) { return c.misc.app_server.str(); }, false},
    {"misc", "user_server", kFollowerUrlForm,
     [](Draft& d, std::string_view v) {
         return set_follower_url(d.config.misc.user_server, d.user_server_set, v, 8000);
     },
     [](const Config& c) { return c.misc.user_server.str(); }, false},
    {"misc", "eio", "auto, 3 or 4",
     [](Draft& d, std::string_view v) {
         const std::string mode = lower(v);
         if (mode == "auto") {
             d.config.misc.eio = EioMode::Auto;
         } else if (mode == "3") {
             d.config.misc.eio = EioMode::V3;
         } else if (mode == "4") {
             d.config.misc.eio = EioMode::V4;
         } else {
             return false;
         }
         return true;
     },
     [](const Config& c) { return show_eio(c.misc.eio); }, false},
    {"misc", "ca_file", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.misc.ca_file, v); },
     [](const Config& c) { return c.misc.ca_file; }, false},
    {"misc", "video_status_interval", "a whole number of seconds 1..3600",
     [](Draft& d, std::string_view v) {
         return set_int(d.config.misc.video_status_interval, v, 1, 3600);
     },
     [](const Config& c) { return std::to_string(c.misc.video_status_interval); }, false},
    {"misc", "lookup_timeout", "a number of seconds 1..300",
     [](Draft& d, std::string_view v) {
         return set_seconds(d.config.misc.lookup_timeout, v, 1, 300);
     },
     [](const Config& c) { return show_double(c.misc.lookup_timeout); }, false},
    {"misc", "reverse_ssh_command", kCommandForm,
     [](Draft& d, std::string_view v) { return set_command(d.config.misc.reverse_ssh_command, v); },
     [](const Config& c) { return c.misc.reverse_ssh_command; }, false},
    {"misc", "discovered_scheme", "http or https",
     [](Draft& d, std::string_view v) {
         const std::string scheme = lower(v);
         if (scheme != "http" && scheme != "https") return false;
         d.config.misc.discovered_scheme = scheme;
         return true;
     },
     [](const Config& c) { return c.misc.discovered_scheme; }, false},
    {"misc", "woot_room", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.misc.woot_room, v); },
     [](const Config& c) { return c.misc.woot_room; }, false},
    {"misc", "state_file", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.misc.state_file, v); },
     [](const Config& c) { return c.misc.state_file; }, false},
    {"misc", "watchdog_device", "the path of a watchdog device (/dev/watchdog), or empty",
     [](Draft& d, std::string_view v) {
         if (!v.empty() && v[0] != '/') return false;
         d.config.misc.watchdog_device = std::string(v);
         return true;
     },
     [](const Config& c) { return c.misc.watchdog_device; }, false},
    {"misc", "watchdog_timeout", "a whole number of seconds 2..600",
     [](Draft& d, std::string_view v) {
         return set_int(d.config.misc.watchdog_timeout, v, 2, 600);
     },
     [](const Config& c) { return std::to_string(c.misc.watchdog_timeout); }, false},

    {"media", "gop", "a whole number of frames 1..250",
     [](Draft& d, std::string_view v) { return set_int(d.config.media.gop, v, 1, 250); },
     [](const Config& c) { return std::to_string(c.media.gop); }, false},
    {"media", "ring_kib", "a whole number of KiB 16..65536",
     [](Draft& d, std::string_view v) { return set_int(d.config.media.ring_kib, v, 16, 65536); },
     [](const Config& c) { return std::to_string(c.media.ring_kib); }, false},
    {"media", "camera_format",
     "a V4L2 pixel format code of 4 characters (YUYV, MJPG, YU12, RGB3), or empty",
     [](Draft& d, std::string_view v) {
         if (!v.empty() && (v.size() != 4 || !std::all_of(v.begin(), v.end(), [](char c) {
                                return c > ' ' && c < 0x7f;
                            })))
             return false;
         d.config.media.camera_format = std::string(v);
         return true;
     },
     [](const Config& c) { return c.media.camera_format; }, false},
    {"media", "m2m", "auto, off, or the path of a V4L2 memory-to-memory device",
     [](Draft& d, std::string_view v) {
         if (v != "auto" && v != "off" && (v.empty() || v[0] != '/')) return false;
         d.config.media.m2m = std::string(v);
         return true;
     },
     [](const Config& c) { return c.media.m2m; }, false},

    {"gpio", "chip", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.gpio.chip, v); },
     [](const Config& c) { return c.gpio.chip; }, false},
    {"gpio", "numbering", "bcm or board",
     [](Draft& d, std::string_view v) {
         const std::string n = lower(v);
         if (n != "bcm" && n != "board") return false;
         d.config.gpio.numbering = n;
         return true;
     },
     [](const Config& c) { return c.gpio.numbering; }, false},
    {"gpio", "pin_map", "auto, a board name, or the path of a pin map file",
     [](Draft& d, std::string_view v) { return !v.empty() && set_text(d.config.gpio.pin_map, v); },
     [](const Config& c) { return c.gpio.pin_map; }, false},
    {"gpio", "hold", "a comma-separated list of pins",
     [](Draft& d, std::string_view v) { return set_hold(d.config.gpio.map, v, kGpioRules); },
     [](const Config& c) { return c.gpio.map.hold_text; }, false},
    {"gpio", "safe", "PIN=LEVEL pairs (level 0, 1, low or high)",
     [](Draft& d, std::string_view v) { return set_safe(d.config.gpio.map, v, kGpioRules); },
     [](const Config& c) { return c.gpio.map.safe_text; }, false},

    {"pca9685", "hold", "a comma-separated list of channels 0..15",
     [](Draft& d, std::string_view v) { return set_hold(d.config.pca9685.map, v, kPcaRules); },
     [](const Config& c) { return c.pca9685.map.hold_text; }, false},
    {"pca9685", "bus", "",
     [](Draft& d, std::string_view v) { return !v.empty() && set_text(d.config.pca9685.bus, v); },
     [](const Config& c) { return c.pca9685.bus; }, false},
    {"pca9685", "address", "an I2C address 0x03..0x77",
     [](Draft& d, std::string_view v) { return set_i2c_address(d.config.pca9685.address, v); },
     [](const Config& c) { return show_hex(c.pca9685.address); }, false},
    {"pca9685", "pwm_freq", "a whole number of Hz 24..1743 (1600 for the motor HAT)",
     [](Draft& d, std::string_view v) { return set_int(d.config.pca9685.pwm_freq, v, 24, 1743); },
     [](const Config& c) { return std::to_string(c.pca9685.pwm_freq); }, false},
    {"pca9685", "safe", "CHANNEL=TICKS pairs (ticks 0..4096, off or full)",
     [](Draft& d, std::string_view v) { return set_safe(d.config.pca9685.map, v, kPcaRules); },
     [](const Config& c) { return c.pca9685.map.safe_text; }, false},

    {"adafruit_pwm", "address", "an I2C address in hex 0x03..0x77 (40 means 0x40)",
     [](Draft& d, std::string_view v) { return set_hex_address(d.config.adafruit_pwm.address, v); },
     [](const Config& c) { return show_hex(c.adafruit_pwm.address); }, false},
    {"adafruit_pwm", "pwm_freq", "a whole number of Hz 24..1743 (1600 for the motor HAT)",
     [](Draft& d, std::string_view v) {
         return set_int(d.config.adafruit_pwm.pwm_freq, v, 24, 1743);
     },
     [](const Config& c) { return std::to_string(c.adafruit_pwm.pwm_freq); }, false},
    // robotd's own [adafruit_pwm] keys.
    {"adafruit_pwm", "bus", "",
     [](Draft& d, std::string_view v) {
         return !v.empty() && set_text(d.config.adafruit_pwm.bus, v);
     },
     [](const Config& c) { return c.adafruit_pwm.bus; }, false},
    {"adafruit_pwm", "esc_forward", kTicksForm, set_ticks<&Config::AdafruitPwm::esc_forward>,
     get_ticks<&Config::AdafruitPwm::esc_forward>, false},
    {"adafruit_pwm", "esc_slow_forward", kTicksForm,
     set_ticks<&Config::AdafruitPwm::esc_slow_forward>,
     get_ticks<&Config::AdafruitPwm::esc_slow_forward>, false},
    {"adafruit_pwm", "esc_neutral", kTicksForm, set_ticks<&Config::AdafruitPwm::esc_neutral>,
     get_ticks<&Config::AdafruitPwm::esc_neutral>, false},
    {"adafruit_pwm", "esc_backward", kTicksForm, set_ticks<&Config::AdafruitPwm::esc_backward>,
     get_ticks<&Config::AdafruitPwm::esc_backward>, false},
    {"adafruit_pwm", "esc_slow_backward", kTicksForm,
     set_ticks<&Config::AdafruitPwm::esc_slow_backward>,
     get_ticks<&Config::AdafruitPwm::esc_slow_backward>, false},
    {"adafruit_pwm", "steer_left", kTicksForm, set_ticks<&Config::AdafruitPwm::steer_left>,
     get_ticks<&Config::AdafruitPwm::steer_left>, false},
    {"adafruit_pwm", "steer_right", kTicksForm, set_ticks<&Config::AdafruitPwm::steer_right>,
     get_ticks<&Config::AdafruitPwm::steer_right>, false},
    {"adafruit_pwm", "steer_neutral", kTicksForm, set_ticks<&Config::AdafruitPwm::steer_neutral>,
     get_ticks<&Config::AdafruitPwm::steer_neutral>, false},
    {"adafruit_pwm", "s2inc", kTicksForm, set_ticks<&Config::AdafruitPwm::s2inc>,
     get_ticks<&Config::AdafruitPwm::s2inc>, false},
    {"adafruit_pwm", "s2dec", kTicksForm, set_ticks<&Config::AdafruitPwm::s2dec>,
     get_ticks<&Config::AdafruitPwm::s2dec>, false},
    {"adafruit_pwm", "pos60", kTicksForm, set_ticks<&Config::AdafruitPwm::pos60>,
     get_ticks<&Config::AdafruitPwm::pos60>, false},
    {"adafruit_pwm", "neg60", kTicksForm, set_ticks<&Config::AdafruitPwm::neg60>,
     get_ticks<&Config::AdafruitPwm::neg60>, false},

    {"motor_hat", "day_speed", kSpeedForm,
     [](Draft& d, std::string_view v) { return set_int(d.config.motor_hat.day_speed, v, 0, 255); },
     [](const Config& c) { return std::to_string(c.motor_hat.day_speed); }, false},
    {"motor_hat", "night_speed", kSpeedForm,
     [](Draft& d, std::string_view v) {
         return set_int(d.config.motor_hat.night_speed, v, 0, 255);
     },
     [](const Config& c) { return std::to_string(c.motor_hat.night_speed); }, false},
    {"motor_hat", "turning_speed", kSpeedForm,
     [](Draft& d, std::string_view v) {
         return set_int(d.config.motor_hat.turning_speed, v, 0, 255);
     },
     [](const Config& c) { return std::to_string(c.motor_hat.turning_speed); }, false},
    {"motor_hat", "forward", kDirectionsForm,
     [](Draft& d, std::string_view v) { return set_directions(d.config.motor_hat.forward, v); },
     [](const Config& c) { return show_directions(c.motor_hat.forward); }, false},
    {"motor_hat", "left", kDirectionsForm,
     [](Draft& d, std::string_view v) { return set_directions(d.config.motor_hat.left, v); },
     [](const Config& c) { return show_directions(c.motor_hat.left); }, false},
    {"motor_hat", "slow_for_low_battery", kBoolForm,
     [](Draft& d, std::string_view v) {
         return set_bool(d.config.motor_hat.slow_for_low_battery, v);
     },
     [](const Config& c) { return show_bool(c.motor_hat.slow_for_low_battery); }, false},
    {"motor_hat", "charge_hours", "a number of hours 0.01..1000",
     [](Draft& d, std::string_view v) {
         return set_seconds(d.config.motor_hat.charge_hours, v, 0.01, 1000);
     },
     [](const Config& c) { return show_double(c.motor_hat.charge_hours); }, false},
    {"motor_hat", "discharge_hours", "a number of hours 0.01..1000",
     [](Draft& d, std::string_view v) {
         return set_seconds(d.config.motor_hat.discharge_hours, v, 0.01, 1000);
     },
     [](const Config& c) { return show_double(c.motor_hat.discharge_hours); }, false},
    // robotd's own [motor_hat] keys.
    {"motor_hat", "bus", "",
     [](Draft& d, std::string_view v) { return !v.empty() && set_text(d.config.motor_hat.bus, v); },
     [](const Config& c) { return c.motor_hat.bus; }, false},
    {"motor_hat", "address", "an I2C address 0x03..0x77",
     [](Draft& d, std::string_view v) { return set_i2c_address(d.config.motor_hat.address, v); },
     [](const Config& c) { return show_hex(c.motor_hat.address); }, false},
    // The reference's charge keys (its motor_hat read them); the rest of [motor_hat] is the
    // pca9685 presets'.
    {"motor_hat", "chargeCheckInterval", "a whole number of seconds 1..3600",
     [](Draft& d, std::string_view v) {
         return set_int(d.config.charge.check_interval, v, 1, 3600);
     },
     [](const Config& c) { return std::to_string(c.charge.check_interval); }, false},
    {"motor_hat", "chargeIONumber", "a BCM pin number 0..1023, or empty for none",
     [](Draft& d, std::string_view v) { return set_pin(d.config.charge.io_number, v); },
     [](const Config& c) { return show_pin(c.charge.io_number); }, false},

    {"l298n", "StepPinForward", "a comma-separated list of BOARD pin numbers (e.g. 12,16)",
     [](Draft& d, std::string_view v) { return set_pins(d.config.l298n.forward, v); },
     [](const Config& c) { return show_pins(c.l298n.forward); }, false},
    {"l298n", "StepPinBackward", "a comma-separated list of BOARD pin numbers (e.g. 11,15)",
     [](Draft& d, std::string_view v) { return set_pins(d.config.l298n.backward, v); },
     [](const Config& c) { return show_pins(c.l298n.backward); }, false},
    {"l298n", "StepPinLeft", "a comma-separated list of BOARD pin numbers (e.g. 15,12)",
     [](Draft& d, std::string_view v) { return set_pins(d.config.l298n.left, v); },
     [](const Config& c) { return show_pins(c.l298n.left); }, false},
    {"l298n", "StepPinRight", "a comma-separated list of BOARD pin numbers (e.g. 11,16)",
     [](Draft& d, std::string_view v) { return set_pins(d.config.l298n.right, v); },
     [](const Config& c) { return show_pins(c.l298n.right); }, false},
    {"l298n", "sleeptime", "a number of seconds 0.001..60",
     [](Draft& d, std::string_view v) {
         return set_seconds(d.config.l298n.sleeptime, v, 0.001, 60);
     },
     [](const Config& c) { return show_double(c.l298n.sleeptime); }, false},
    {"l298n", "rotatetimes", "a number 0.001..1000 (turns last sleeptime times this)",
     [](Draft& d, std::string_view v) {
         return set_seconds(d.config.l298n.rotatetimes, v, 0.001, 1000);
     },
     [](const Config& c) { return show_double(c.l298n.rotatetimes); }, false},

    {"motozero", "MotorDelay", "a number of seconds 0.001..60",
     [](Draft& d, std::string_view v) {
         return set_seconds(d.config.motozero.motor_delay, v, 0.001, 60);
     },
     [](const Config& c) { return show_double(c.motozero.motor_delay); }, false},
    {"motozero", "Motor1A", kPinForm, set_motor_pin<0, 0>, get_motor_pin<0, 0>, false},
    {"motozero", "Motor1B", kPinForm, set_motor_pin<0, 1>, get_motor_pin<0, 1>, false},
    {"motozero", "Motor1Enable", kPinForm, set_motor_pin<0, 2>, get_motor_pin<0, 2>, false},
    {"motozero", "Motor2A", kPinForm, set_motor_pin<1, 0>, get_motor_pin<1, 0>, false},
    {"motozero", "Motor2B", kPinForm, set_motor_pin<1, 1>, get_motor_pin<1, 1>, false},
    {"motozero", "Motor2Enable", kPinForm, set_motor_pin<1, 2>, get_motor_pin<1, 2>, false},
    {"motozero", "Motor3A", kPinForm, set_motor_pin<2, 0>, get_motor_pin<2, 0>, false},
    {"motozero", "Motor3B", kPinForm, set_motor_pin<2, 1>, get_motor_pin<2, 1>, false},
    {"motozero", "Motor3Enable", kPinForm, set_motor_pin<2, 2>, get_motor_pin<2, 2>, false},
    {"motozero", "Motor4A", kPinForm, set_motor_pin<3, 0>, get_motor_pin<3, 0>, false},
    {"motozero", "Motor4B", kPinForm, set_motor_pin<3, 1>, get_motor_pin<3, 1>, false},
    {"motozero", "Motor4Enable", kPinForm, set_motor_pin<3, 2>, get_motor_pin<3, 2>, false},

    // robotd's own: charge sensing on any line.
    {"charge", "line",
     "CHIP:LINE (a chip's name, label or /dev path and a line offset), a BCM pin number, or "
     "empty for none",
     [](Draft& d, std::string_view v) { return set_charge_line(d.config.charge.line, v); },
     [](const Config& c) { return c.charge.line; }, false},
    {"charge", "active", "high or low (the input's level while charging)",
     [](Draft& d, std::string_view v) {
         const std::string a = lower(v);
         if (a != "high" && a != "low") return false;
         d.config.charge.active_high = a == "high";
         return true;
     },
     [](const Config& c) { return std::string(c.charge.active_high ? "high" : "low"); }, false},
    {"charge", "debounce_ms", "a whole number of milliseconds 0..10000",
     [](Draft& d, std::string_view v) { return set_int(d.config.charge.debounce_ms, v, 0, 10000); },
     [](const Config& c) { return std::to_string(c.charge.debounce_ms); }, false},
    {"charge", "interval",
     "a whole number of seconds 1..3600, or empty for [motor_hat] chargeCheckInterval",
     [](Draft& d, std::string_view v) {
         if (v.empty()) {
             d.config.charge.interval = 0;
             return true;
         }
         return set_int(d.config.charge.interval, v, 1, 3600);
     },
     [](const Config& c) {
         return c.charge.interval == 0 ? std::string() : std::to_string(c.charge.interval);
     },
     false},

    {"pipe", "path", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.pipe.path, v); },
     [](const Config& c) { return c.pipe.path; }, false},
    {"pipe", "command", kCommandForm,
     [](Draft& d, std::string_view v) { return set_command(d.config.pipe.command, v); },
     [](const Config& c) { return c.pipe.command; }, false},

    // The reference's [mqtt_pub] keys, then robotd's own.
    {"mqtt_pub", "host", "a host name or address, without spaces",
     [](Draft& d, std::string_view v) {
         if (v.find_first_of(" \t/") != std::string_view::npos) return false;
         return set_text(d.config.mqtt_pub.host, v);
     },
     [](const Config& c) { return c.mqtt_pub.host; }, false},
    {"mqtt_pub", "port", "a port number 1..65535",
     [](Draft& d, std::string_view v) { return set_int(d.config.mqtt_pub.port, v, 1, 65535); },
     [](const Config& c) { return std::to_string(c.mqtt_pub.effective_port()); }, false},
    // A PUBLISH names one topic: the subscribers' wildcards have no place in it.
    {"mqtt_pub", "topic", "a topic name of 1..1024 characters without '+', '#' or NUL",
     [](Draft& d, std::string_view v) {
         if (v.size() > 1024 || v.find_first_of(std::string_view("+#\0", 3)) != v.npos)
             return false;
         return set_text(d.config.mqtt_pub.topic, v);
     },
     [](const Config& c) { return c.mqtt_pub.topic; }, false},
    {"mqtt_pub", "user", "a user name (client id, user and password: 237 bytes together at most)",
     [](Draft& d, std::string_view v) {
         return v.size() <= 1024 && set_text(d.config.mqtt_pub.user, v);
     },
     [](const Config& c) { return c.mqtt_pub.user; }, false},
    {"mqtt_pub", "password",
     "a password (client id, user and password: 237 bytes together at most)",
     [](Draft& d, std::string_view v) {
         return v.size() <= 1024 && set_text(d.config.mqtt_pub.password, v);
     },
     [](const Config& c) { return c.mqtt_pub.password; }, true},
    {"mqtt_pub", "tls", kBoolForm,
     [](Draft& d, std::string_view v) { return set_bool(d.config.mqtt_pub.tls, v); },
     [](const Config& c) { return show_bool(c.mqtt_pub.tls); }, false},
    // lws' MQTT client takes at most 23 characters, the length every MQTT 3.1.1 broker must
    // accept.
    {"mqtt_pub", "client_id",
     "1..23 printable characters without spaces, or empty for robotd-<robot_id>",
     [](Draft& d, std::string_view v) {
         if (v.size() > 23 ||
             !std::all_of(v.begin(), v.end(), [](char c) { return c > ' ' && c < 0x7f; }))
             return false;
         return set_text(d.config.mqtt_pub.client_id, v);
     },
     [](const Config& c) { return c.mqtt_pub.client_id; }, false},
    {"mqtt_pub", "keepalive", "a whole number of seconds 5..3600",
     [](Draft& d, std::string_view v) { return set_int(d.config.mqtt_pub.keepalive, v, 5, 3600); },
     [](const Config& c) { return std::to_string(c.mqtt_pub.keepalive); }, false},
    {"serial", "serial_device", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.serial.serial_device, v); },
     [](const Config& c) { return c.serial.serial_device; }, false},
    {"serial", "serial_name", "",
     [](Draft& d, std::string_view v) { return set_text(d.config.serial.serial_name, v); },
     [](const Config& c) { return c.serial.serial_name; }, false},
    // The rates Linux termios names (B50..B4000000); any other needs BOTHER, which the
    // reference firmware's boards never ask for.
    {"serial", "baud_rate",
     "a standard serial rate in bit/s: 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, "
     "4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, "
     "1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000 or 4000000",
     [](Draft& d, std::string_view v) {
         return set_int_of(d.config.serial.baud_rate, v,
                           {50,      75,      110,     134,     150,     200,    300,     600,
                            1200,    1800,    2400,    4800,    9600,    19200,  38400,   57600,
                            115200,  230400,  460800,  500000,  576000,  921600, 1000000, 1152000,
                            1500000, 2000000, 2500000, 3000000, 3500000, 4000000});
     },
     [](const Config& c) { return std::to_string(c.serial.baud_rate); }, false},
};

// Keys robotd parses (they are in the reference layout, and their values are checked) but
// nothing in this version acts on. Setting one earns a warning, so that an owner does not
// wait for speech, say, that this version cannot give. A key leaves this list with the code
// that reads it.
struct InertKey {
    std::string_view section;
    std::string_view key;
};
constexpr InertKey kNotActedOn[] = {
    {"motor_hat", "slow_for_low_battery"},
    {"motor_hat", "charge_hours"},
    {"motor_hat", "discharge_hours"},
};

// The sections whose other keys are commands of an output map, and their rules.
Config::OutputMap* output_map_of(Config& c, std::string_view section) {
    if (section == "gpio") return &c.gpio.map;
    if (section == "pca9685") return &c.pca9685.map;
    return nullptr;
}
const Config::OutputMap* output_map_of(const Config& c, std::string_view section) {
    return output_map_of(const_cast<Config&>(c), section);
}
const OutputRules& output_rules_of(std::string_view section) {
    return section == "gpio" ? kGpioRules : kPcaRules;
}

bool acted_on(const UsedKey& key) {
    return std::none_of(std::begin(kNotActedOn), std::end(kNotActedOn), [&](const InertKey& k) {
        return k.section == key.section && k.key == key.key;
    });
}

// Section names are case-sensitive and key names are not, as in Python's configparser
// that read these files for the reference client.
const UsedKey* find_used(std::string_view section, std::string_view key) {
    for (const UsedKey& used : kUsedKeys) {
        if (used.section == section && iequals(used.key, key)) return &used;
    }
    return nullptr;
}

// The reference spelling of a known-but-unused key, or empty.
std::string_view find_unused(std::string_view section, std::string_view key) {
    for (const UnusedSection& unused : kUnusedKeys) {
        if (unused.section != section) continue;
        std::string_view rest = unused.keys;
        while (!rest.empty()) {
            const size_t space = rest.find(' ');
            const std::string_view name = rest.substr(0, space);
            if (!name.empty() && iequals(name, key)) return name;
            rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
        }
    }
    return {};
}

// Does a line starting with '[' close its section name? inih's rule: the ']' must come
// before an inline ';' comment (one preceded by white space).
bool header_closed(std::string_view line) {
    bool was_space = false;
    for (size_t i = 1; i < line.size(); ++i) {
        if (line[i] == ']') return true;
        if (was_space && line[i] == ';') return false;
        was_space = is_space(line[i]);
    }
    return false;
}

class Loader {
  public:
    void parse_text(std::string_view text, const std::string& name);
    void apply_override(const std::string& text);
    void add(Level level, std::string where, std::string message) {
        result_.diags.push_back({level, std::move(where), std::move(message)});
    }
    ConfigResult finish();

  private:
    enum class KeyClass { Used, Unused, Unknown };

    KeyClass apply(const std::string& section, const std::string& name, std::string_view value,
                   const std::string& here);
    std::string where(int line) const { return file_.name + ":" + std::to_string(line); }

    // inih callbacks; exceptions must not unwind through C, so they are carried over.
    static char* read_line_cb(char* buf, int size, void* self);
    static int key_cb(void* self, const char* section, const char* name, const char* value);
    char* read_line(char* buf, int size);
    void on_key(const char* section, const char* name, const char* value);
    void on_continuation();
    void end_line();
    void syntax_error(const std::string& message);

    ConfigResult result_;
    Draft draft_;
    // Known-but-unused keys met so far, by section, in the order first seen.
    std::vector<std::pair<std::string, std::vector<std::string>>> unused_;

    // The text being parsed. inih hands the handler no line number (it is built without
    // INI_HANDLER_LINENO), so lines are fed to it one at a time and counted here.
    struct FileState {
        std::string_view text;
        std::string name;
        size_t pos = 0;
        int line = 0;
        std::string_view raw;        // the current line as inih got it, no line break
        bool truncated = false;      // the current line exceeded inih's buffer
        bool open = false;           // the current line is not classified yet
        bool handled = false;        // inih called the handler for the current line
        bool prev_name_set = false;  // mirrors inih: an indented line continues a key
        int max_length = 0;
        std::set<int> bad_lines;                                  // syntax errors already reported
        std::map<std::pair<std::string, std::string>, int> seen;  // (section, key) -> line
        std::string last_section;  // the key a continuation line belongs to
        std::string last_name;
        KeyClass last_class = KeyClass::Unknown;
        bool last_complained = false;  // one complaint per continued value is enough
        std::exception_ptr failure;
    } file_;
};

char* Loader::read_line_cb(char* buf, int size, void* self) {
    auto& loader = *static_cast<Loader*>(self);
    try {
        return loader.read_line(buf, size);
    } catch (...) {
        loader.file_.failure = std::current_exception();
        return nullptr;
    }
}

int Loader::key_cb(void* self, const char* section, const char* name, const char* value) {
    auto& loader = *static_cast<Loader*>(self);
    try {
        loader.on_key(section, name, value);
        return 1;  // problems are our own diags; inih's error return is kept for syntax
    } catch (...) {
        loader.file_.failure = std::current_exception();
        return 0;
    }
}

// inih calls this once per line and processes the line (calling the handler for a key
// on it) before asking for the next, so file_.line is the line the handler is about.
char* Loader::read_line(char* buf, int size) {
    end_line();
    if (file_.pos >= file_.text.size() || size < 2) return nullptr;
    const size_t eol = file_.text.find('\n', file_.pos);
    std::string_view line = file_.text.substr(file_.pos, eol - file_.pos);
    file_.pos = eol == std::string_view::npos ? file_.text.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++file_.line;
    // Room for the line, its '\n' and the terminator; a longer line is cut here, once,
    // rather than left for inih to split into a bogus extra line.
    file_.max_length = size - 2;
    file_.truncated = line.size() > static_cast<size_t>(file_.max_length);
    if (file_.truncated) line = line.substr(0, static_cast<size_t>(file_.max_length));
    std::memcpy(buf, line.data(), line.size());
    buf[line.size()] = '\n';
    buf[line.size() + 1] = '\0';
    file_.raw = line;
    file_.open = true;
    file_.handled = false;
    return buf;
}

// Classifies a line inih did not pass to the handler, to report every syntax error (inih
// returns only the first) and to follow section changes for continuation lines.
void Loader::end_line() {
    if (!file_.open) return;
    file_.open = false;
    if (file_.handled) return;
    std::string_view s = file_.raw;
    if (file_.line == 1 && s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
    s = trim(s);
    if (s.empty() || s.front() == ';' || s.front() == '#') return;
    if (s.front() == '[') {
        file_.prev_name_set = false;
        if (!header_closed(s)) syntax_error("expected '[section]', the ']' is missing");
        return;
    }
    syntax_error("expected 'key = value', '[section]' or a comment");
}

void Loader::syntax_error(const std::string& message) {
    file_.bad_lines.insert(file_.line);
    // The line itself is not quoted: it may hold a secret typed without its '='.
    if (file_.truncated) {
        add(Level::Error, where(file_.line),
            "line longer than " + std::to_string(file_.max_length) + " characters");
    } else {
        add(Level::Error, where(file_.line), message);
    }
}

void Loader::on_key(const char* section_c, const char* name_c, const char* value_c) {
    if (name_c == nullptr) return;  // a section start, if inih reports those; see end_line
    file_.handled = true;

    // inih treats an indented line after a key as more of that key's value (as Python's
    // configparser does), calling the handler again with the same name.
    if (file_.prev_name_set && !file_.raw.empty() && is_space(file_.raw.front())) {
        on_continuation();
        return;
    }
    const std::string section = section_c;
    const std::string name = name_c;
    const std::string here = where(file_.line);
    file_.prev_name_set = !name.empty();
    file_.last_section = section;
    file_.last_name = name;
    file_.last_class = KeyClass::Unknown;
    file_.last_complained = false;

    if (value_c == nullptr) {  // only if inih allows keys without '='
        add(Level::Error, here, "[" + section + "] " + name + ": expected 'key = value'");
        return;
    }
    if (name.empty()) {
        add(Level::Error, here, "a key name is missing before the '='");
        return;
    }
    const auto [seen, first] = file_.seen.emplace(std::make_pair(section, lower(name)), file_.line);
    if (!first) {
        add(Level::Warning, here,
            "duplicate key [" + section + "] " + name + " (also at line " +
                std::to_string(seen->second) + "); the last one wins");
        seen->second = file_.line;
    }
    if (file_.truncated && find_used(section, name) != nullptr) {
        add(Level::Error, here,
            "[" + section + "] " + name + ": line longer than " + std::to_string(file_.max_length) +
                " characters");
        file_.last_class = KeyClass::Used;
        file_.last_complained = true;
        return;
    }
    file_.last_class = apply(section, name, value_c, here);
}

void Loader::on_continuation() {
    // Continued values of unused or unknown keys (the sample's wpa_template) are fine:
    // they are ignored, and an unknown key has had its warning.
    if (file_.last_class != KeyClass::Used || file_.last_complained) return;
    file_.last_complained = true;
    const UsedKey* key = find_used(file_.last_section, file_.last_name);
    add(Level::Error, where(file_.line),
        "[" + file_.last_section + "] " + std::string(key ? key->key : file_.last_name) +
            ": an indented line continues this value, but it takes one line "
            "(remove the indentation if this line is a key of its own)");
}

Loader::KeyClass Loader::apply(const std::string& section, const std::string& name,
                               std::string_view value, const std::string& here) {
    if (const UsedKey* key = find_used(section, name)) {
        value = trim(value);
        if (!key->set(draft_, value)) {
            add(Level::Error, here,
                "[" + section + "] " + std::string(key->key) + ": expected " +
                    std::string(key->expected) + ", got '" + std::string(value) + "'");
        } else if (!value.empty() && !acted_on(*key)) {
            add(Level::Warning, here,
                "[" + section + "] " + std::string(key->key) +
                    ": accepted but not acted on by this version");
        }
        return KeyClass::Used;
    }
    if (Config::OutputMap* map = output_map_of(draft_.config, section)) {
        // Any other key of a map section is a command (a --set replaces one of the same name).
        value = trim(value);
        OutputCommand command{name, std::string(value), {}};
        std::string error;
        if (!parse_output_steps(value, output_rules_of(section), &command.steps, &error)) {
            add(Level::Error, here,
                "[" + section + "] " + name + ": " + error + " (expected OUTPUT=VALUE ... " +
                    "[for SECONDS] [then ...], got '" + std::string(value) + "')");
            return KeyClass::Used;
        }
        auto same = std::find_if(map->commands.begin(), map->commands.end(),
                                 [&](const OutputCommand& c) { return iequals(c.command, name); });
        if (same != map->commands.end())
            *same = std::move(command);
        else
            map->commands.push_back(std::move(command));
        return KeyClass::Used;
    }
    if (const std::string_view known = find_unused(section, name); !known.empty()) {
        auto group = std::find_if(unused_.begin(), unused_.end(),
                                  [&](const auto& entry) { return entry.first == section; });
        if (group == unused_.end()) group = unused_.insert(unused_.end(), {section, {}});
        std::vector<std::string>& keys = group->second;
        if (std::find(keys.begin(), keys.end(), known) == keys.end()) keys.emplace_back(known);
        return KeyClass::Unused;
    }
    if (section.empty()) {
        add(Level::Warning, here, "key " + name + " comes before any [section]; ignored");
    } else {
        add(Level::Warning, here, "unknown key [" + section + "] " + name);
    }
    return KeyClass::Unknown;
}

void Loader::parse_text(std::string_view text, const std::string& name) {
    file_ = FileState{};
    file_.text = text;
    file_.name = name;
    const int rc = ini_parse_stream(&Loader::read_line_cb, this, &Loader::key_cb, this);
    if (file_.failure) std::rethrow_exception(file_.failure);
    end_line();  // in case inih stopped early without asking for another line
    if (rc > 0 && file_.bad_lines.count(rc) == 0) {
        // Not expected: end_line mirrors inih's rules. Never lose inih's own verdict.
        add(Level::Error, where(rc), "syntax error");
    } else if (rc < 0) {
        add(Level::Error, name, "the INI parser failed (out of memory)");
    }
    file_ = FileState{};  // drop views into `text`
}

void Loader::apply_override(const std::string& text) {
    const size_t eq = text.find('=');
    const std::string_view lhs = trim(std::string_view(text).substr(0, eq));
    const size_t dot = lhs.find('.');
    // Only the part before '=' is quoted back: the value may be a secret.
    if (eq == std::string::npos || dot == std::string_view::npos) {
        add(Level::Error, "--set " + std::string(lhs), "expected section.key=value");
        return;
    }
    const std::string section(trim(lhs.substr(0, dot)));
    const std::string name(trim(lhs.substr(dot + 1)));
    if (section.empty() || name.empty()) {
        add(Level::Error, "--set " + std::string(lhs), "expected section.key=value");
        return;
    }
    apply(section, name, trim(std::string_view(text).substr(eq + 1)),
          "--set " + section + "." + name);
}

ConfigResult Loader::finish() {
    Config& config = draft_.config;
    // Defaults follow the info server as finally configured, file and overrides alike.
    if (!draft_.app_server_set) {
        config.misc.app_server = Url{"http", config.misc.info_server.host, 8022, ""};
    }
    if (!draft_.user_server_set) {
        config.misc.user_server = Url{"https", config.misc.info_server.host, 8000, ""};
    }
    if (config.tts.type == "custom" && config.tts.command.empty())
        add(Level::Error, "",
            "[tts] type custom needs [tts] command: the engine's command line (text on its "
            "stdin, a WAV on its stdout)");
    if (!unused_.empty()) {
        std::string list;
        for (const auto& [section, keys] : unused_) {
            list += list.empty() ? "[" : "; [";
            list += section + "] ";
            for (size_t i = 0; i < keys.size(); ++i) list += (i ? ", " : "") + keys[i];
        }
        add(Level::Notice, "", "not used by this version of robotd: " + list);
    }
    result_.config = std::move(config);
    return std::move(result_);
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

// The whole file, or the errno of the failure.
std::pair<std::string, int> read_file(const std::string& path) {
    errno = 0;
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) return {{}, errno != 0 ? errno : EIO};
    std::string text;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) {
        text.append(buf, n);
        if (text.size() > kMaxFileSize) return {{}, EFBIG};
    }
    if (std::ferror(file.get())) return {{}, errno != 0 ? errno : EIO};
    return {std::move(text), 0};
}

ConfigResult run(const std::string* text, const std::string& name, int read_error,
                 const std::vector<std::string>& overrides) {
    Loader loader;
    if (text != nullptr) {
        loader.parse_text(*text, name);
    } else {
        loader.add(Level::Error, "",
                   "cannot read " + name + ": " + std::generic_category().message(read_error));
    }
    // Overrides still apply after a failed read, so that all mistakes show at once.
    for (const std::string& item : overrides) loader.apply_override(item);
    return loader.finish();
}

}  // namespace

bool ConfigResult::ok() const {
    return std::none_of(diags.begin(), diags.end(),
                        [](const ConfigDiag& d) { return d.level == Level::Error; });
}

ConfigResult load_config(const std::string& path, const std::vector<std::string>& overrides) {
    const auto [text, error] = read_file(path);
    return run(error == 0 ? &text : nullptr, path, error, overrides);
}

ConfigResult parse_config(const std::string& text, const std::string& name,
                          const std::vector<std::string>& overrides) {
    return run(&text, name, 0, overrides);
}

// Values are written as they are: INI has no quoting, so a value holding " ;" (which inih
// reads as a comment) could not be written back faithfully, nor could it have been read.
std::string format_config(const Config& config) {
    std::string out = "# robotd: effective configuration (secrets masked)\n";
    std::string_view section;
    const auto map_commands = [&] {
        if (const Config::OutputMap* map = output_map_of(config, section))
            for (const OutputCommand& c : map->commands) out += c.command + "=" + c.text + "\n";
    };
    for (const UsedKey& key : kUsedKeys) {
        if (key.section != section) {
            map_commands();
            section = key.section;
            out += "\n[" + std::string(section) + "]\n";
        }
        std::string value = key.get(config);
        if (key.secret && !value.empty()) value = "****";
        out += std::string(key.key) + "=" + value + "\n";
    }
    map_commands();
    return out;
}

std::vector<std::string> changed_keys(const Config& a, const Config& b) {
    std::vector<std::string> keys;
    for (const UsedKey& key : kUsedKeys)
        if (key.get(a) != key.get(b))
            keys.push_back(std::string(key.section) + "." + std::string(key.key));
    // A map's commands: added, removed or changed, by name.
    for (const std::string_view section : {"gpio", "pca9685"}) {
        const auto& ca = output_map_of(a, section)->commands;
        const auto& cb = output_map_of(b, section)->commands;
        const auto text_of = [](const std::vector<OutputCommand>& cs, const std::string& name) {
            for (const OutputCommand& c : cs)
                if (iequals(c.command, name)) return std::optional<std::string>(c.text);
            return std::optional<std::string>();
        };
        std::vector<std::string> names;
        for (const auto* cs : {&ca, &cb})
            for (const OutputCommand& c : *cs)
                if (std::none_of(names.begin(), names.end(),
                                 [&](const std::string& n) { return iequals(n, c.command); }))
                    names.push_back(c.command);
        for (const std::string& n : names)
            if (text_of(ca, n) != text_of(cb, n)) keys.push_back(std::string(section) + "." + n);
    }
    return keys;
}

bool key_changed(const std::vector<std::string>& changed, std::string_view key) {
    return std::find(changed.begin(), changed.end(), key) != changed.end();
}

bool section_changed(const std::vector<std::string>& changed, std::string_view section) {
    return std::any_of(changed.begin(), changed.end(), [&](const std::string& k) {
        return k.size() > section.size() && k.compare(0, section.size(), section) == 0 &&
               k[section.size()] == '.';
    });
}

std::vector<std::string> config_secrets(const Config& config) {
    std::vector<std::string> secrets;
    for (const UsedKey& key : kUsedKeys) {
        if (!key.secret) continue;
        std::string value = key.get(config);
        if (!value.empty()) secrets.push_back(std::move(value));
    }
    return secrets;
}

}  // namespace robotd
