// The daemon's configuration: the reference client's letsrobot.conf layout (INI, read
// with inih) plus robotd's own keys, with file:line diagnostics and --set overrides.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/output_map.h"
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
        std::string type = "none";   // espeak festival pico flite custom none (lower case)
        std::string command;         // type custom: the engine's argv, text on stdin, WAV out
        std::string speaker_device;  // an ALSA PCM or card name; wins over speaker_num
        std::string speaker_num;     // "N" or "N,M": plughw:N,M
        int tts_volume = 100;        // %, applied by robotd to the samples
        int max_length = 300;        // characters spoken of a message at most
        int timeout = 10;            // seconds an engine may take for one message
        int queue = 8;               // messages waiting at most (the oldest goes)
        bool anon_tts = true;
        bool filter_url_tts = true;
        bool ext_chat = true;
        bool delay_tts = false;
        int delay = 10;  // seconds
        std::string boot_message;
    } tts;
    struct Espeak {
        bool male = true;
        int voice_number = 1;  // the voice variant: en+m<N> or en+f<N>
    } espeak;
    struct Pico {
        std::string voice = "en-US";
    } pico;
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
    // A generic output map: every key of its section that is not a setting is a command
    // (core/output_map.h); `safe` lists the values on stop (0 for outputs it leaves out).
    struct OutputMap {
        std::vector<OutputCommand> commands;
        std::vector<OutputSet> safe;
        std::string safe_text;
        // Outputs a stop leaves where they are (an LED, a servo's position); safe at the end.
        std::vector<int> hold;
        std::string hold_text;
    };
    struct Gpio {                       // type gpio
        std::string chip;               // name, label or path: pins are its line offsets
        std::string numbering = "bcm";  // without chip: bcm or board, through the pin map
        std::string pin_map = "auto";   // auto (the device tree's model), a board name, a file
        OutputMap map;
    } gpio;
    struct Pca9685 {            // type pca9685
        std::string bus = "1";  // a number, i2c-N, /dev/i2c-N, or the adapter's name
        int address = 0x40;
        int pwm_freq = 60;  // Hz
        OutputMap map;
    } pca9685;
    // Adafruit's DC & Stepper Motor HAT: its PCA9685 drives four TB6612 bridges (M1..M4).
    struct MotorHat {           // type motor_hat
        std::string bus = "1";  // robotd's own keys: where the HAT is (the reference: 0x60, bus 1)
        int address = 0x60;
        int day_speed = 255;      // 0..255, Adafruit's setSpeed (duty = speed * 16 / 4096)
        int night_speed = 255;    // F and B from 21:30 to 9:30 local time
        int turning_speed = 250;  // L and R
        std::vector<double> forward = {-1, 1, -1, 1};  // per motor: 1, -1, 0.5, -0.5 or 0
        std::vector<double> left = {1, 1, 1, 1};       // B and R are these times -1
        // Parsed, not acted on: the reference's guess at the battery from charge times.
        bool slow_for_low_battery = false;
        double charge_hours = 3.0;
        double discharge_hours = 8.0;
    } motor_hat;
    // An RC car: an ESC on channel 0, a steering servo on channel 1, a servo on channel 2.
    struct AdafruitPwm {        // type adafruit_pwm
        std::string bus = "1";  // robotd's own
        int address = 0x40;
        int pwm_freq = 60;  // Hz
        // robotd's own keys: the reference's tick values (of 4096 per period) as defaults.
        int esc_forward = 445;
        int esc_slow_forward = 345;
        int esc_neutral = 335;
        int esc_backward = 270;
        int esc_slow_backward = 325;
        int steer_left = 300;
        int steer_right = 500;
        int steer_neutral = 400;
        int s2inc = 300;  // channel 2 for the commands of the same names
        int s2dec = 400;
        int pos60 = 490;
        int neg60 = 100;
    } adafruit_pwm;
    // GPIO presets, the reference's keys. Pins go through [gpio] pin_map. Unset pins are
    // empty / -1: the preset's check names each one it needs.
    struct L298n {                                        // type l298n: BOARD pins
        std::vector<int> forward, backward, left, right;  // StepPinForward, ... ("12,16")
        double sleeptime = 0.2;                           // seconds F and B drive
        double rotatetimes = 5;                           // L and R drive sleeptime * rotatetimes
    } l298n;
    struct Motozero {  // type motozero: BCM pins
        struct Motor {
            int a = -1, b = -1, enable = -1;  // MotorNA, MotorNB, MotorNEnable
        };
        std::array<Motor, 4> motors;
        double motor_delay = 0.3;  // MotorDelay: seconds each command drives
    } motozero;
    // Charge sensing: on with [charge] line, or with type motor_hat and its chargeIONumber.
    struct Charge {
        std::string line;         // "<chip>:<line>", or a BCM number through the pin map
        bool active_high = true;  // active = high: charging while the input is high
        int debounce_ms = 50;     // the level must hold this long to count
        int interval = 0;         // seconds between reports; 0: chargeCheckInterval
        int io_number = -1;       // [motor_hat] chargeIONumber (BCM), -1: none
        int check_interval = 5;   // [motor_hat] chargeCheckInterval, seconds
    } charge;
    // The mqtt_pub driver: host, port and topic are the reference client's keys.
    struct MqttPub {
        std::string host;       // the broker (a name or an address literal)
        int port = 0;           // 0: 1883, or 8883 with tls
        std::string topic;      // where each command goes (no wildcards)
        std::string user;       // empty: no user name (nor password) is sent
        std::string password;   // secret
        bool tls = false;       // TLS through [misc] ca_file / secure_cert
        std::string client_id;  // empty: robotd-<robot_id>
        int keepalive = 60;     // seconds between pings when idle (the reference's paho default)
        int effective_port() const { return port ? port : tls ? 8883 : 1883; }
    } mqtt_pub;
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
        // The chat's moderation choices kept across restarts (robot/state_file.h).
        std::string state_file = "/var/lib/robotd/state.json";
        // Scheme for hosts that discovery names without one (control, chat, relay): the
        // reference clients used plain http/ws there.
        std::string discovered_scheme = "http";
        // The hardware watchdog robotd feeds from its loop (hw/watchdog.h); empty: none.
        std::string watchdog_device;
        int watchdog_timeout = 15;  // seconds, 2..600
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

// Whether `changed` (as changed_keys() gives it) names `key` ("misc.ca_file"), or any key of
// `section` ("tts").
bool key_changed(const std::vector<std::string>& changed, std::string_view key);
bool section_changed(const std::vector<std::string>& changed, std::string_view section);

// The secrets in `config` that must never reach a log (non-empty ones only).
std::vector<std::string> config_secrets(const Config& config);

}  // namespace robotd
