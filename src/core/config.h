// The daemon's configuration: the reference client's letsrobot.conf layout (INI, read
// with inih) plus robotd's own keys, with file:line diagnostics and --set overrides.
#pragma once

#include <string>
#include <vector>

#include "core/url.h"

namespace robotd {

enum class EioMode { Auto, V3, V4 };

struct Config {
    struct Robot {
        std::string owner;
        std::string robot_id;
        std::string camera_id;
        std::string type = "none";
        std::string stream_key;       // secret
        std::string api_key;          // secret
        double turn_delay = 0.4;      // seconds
        double straight_delay = 0.5;  // seconds
        // robotd's own keys: who may drive, and which commands are timed motions.
        bool anon_control = true;  // anonymous users may drive (robot settings may say no)
        bool table_mode = false;   // start in table mode: F and B refused, turns pass
        std::vector<std::string> straight_commands = {"F", "B"};  // stop after straight_delay
        std::vector<std::string> turn_commands = {"L", "R"};      // stop after turn_delay
        std::vector<std::string> owner_commands;                  // only the owner may send these
    } robot;
    struct Camera {
        bool no_camera = false;
        bool no_mic = false;
        int x_res = 640;
        int y_res = 480;
        std::string camera_device = "/dev/video0";
        std::string mic_device;
        std::string mic_num = "1,0";
    } camera;
    struct Ffmpeg {
        int video_bitrate = 350;  // kbit/s
        int audio_bitrate = 32;   // kbit/s
        int audio_sample_rate = 44100;
        int audio_channels = 1;
    } ffmpeg;
    struct Tts {
        std::string type = "none";
        bool anon_tts = true;
        bool filter_url_tts = true;
        bool ext_chat = true;
        bool delay_tts = false;
        int delay = 10;  // seconds
        std::string boot_message;
    } tts;
    struct Media {
        int gop = 25;        // frames between keyframes: a new viewer's join delay (25 = 1 s)
        int ring_kib = 256;  // each stream's ring between its encoder thread and the upload
        std::string camera_format;  // a V4L2 fourcc to insist on ("MJPG"); "" = the cheapest
        std::string m2m = "auto";   // V4L2 M2M converter: auto, off, or a /dev/videoN path
    } media;
    struct Pipe {
        std::string path = "-";  // file or FIFO for the pipe driver's lines; "-" = stdout
        std::string command;     // or: a consumer started with this argv (no shell)
    } pipe;
    struct Serial {  // the serial_board driver (reference keys)
        std::string serial_device = "/dev/ttyACM0";
        // Matched against USB serial devices' manufacturer, product and serial number (sysfs);
        // a match overrides serial_device.
        std::string serial_name;
        int baud_rate = 9600;  // bit/s, a standard termios rate
    } serial;
    struct Misc {
        Url info_server{"https", "letsrobot.tv", 443, ""};
        Url api_server{"https", "api.letsrobot.tv", 443, ""};
        Url app_server{"http", "letsrobot.tv", 8022, ""};    // default: info server's host
        Url user_server{"https", "letsrobot.tv", 8000, ""};  // default: info server's host
        EioMode eio = EioMode::Auto;
        std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
        bool secure_cert = true;
        int video_status_interval = 30;   // seconds
        double lookup_timeout = 10;       // seconds, whole HTTP lookup
        std::string secret_key;           // secret; enables the wifi login lookup
        std::string reverse_ssh_command;  // argv started on the app server's request
        std::string woot_room;            // chat room heard on the user socket
        // Scheme for hosts that discovery names without one (control, chat, relay): the
        // reference clients used plain http/ws there.
        std::string discovered_scheme = "http";
    } misc;
};

struct ConfigDiag {
    enum class Level { Notice, Warning, Error };
    Level level;
    std::string where;  // "file:line", or "--set robot.robot_id"; empty when global
    std::string message;
};

struct ConfigResult {
    Config config;
    std::vector<ConfigDiag> diags;
    bool ok() const;  // no Error diag
};

// Reads `path` (which must exist) and applies `overrides` in order on top.
ConfigResult load_config(const std::string& path, const std::vector<std::string>& overrides);

// Same, from text in memory; `name` stands for the file name in diagnostics.
ConfigResult parse_config(const std::string& text, const std::string& name,
                          const std::vector<std::string>& overrides = {});

// The effective configuration as INI text, secrets masked ("****" when set, "" when not).
std::string format_config(const Config& config);

// The keys whose values differ between `a` and `b`, as "section.key" in the file's order
// (secrets compared by value, named only): what a SIGHUP has to re-apply.
std::vector<std::string> changed_keys(const Config& a, const Config& b);

// The secrets in `config` that must never reach a log (non-empty ones only).
std::vector<std::string> config_secrets(const Config& config);

}  // namespace robotd
