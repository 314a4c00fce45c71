#include "core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace robotd {
namespace {

using Level = ConfigDiag::Level;

constexpr const char* kFixture = "tests/fixtures/letsrobot.conf";

// The project's own file in the reference layout: relative to the repository top, where the
// tests run, or found from the binary (build/host/unit-tests) when run from elsewhere.
std::string fixture_path() {
    if (access(kFixture, R_OK) == 0) return kFixture;
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return kFixture;
    std::string dir(exe, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    return dir + "/../../" + kFixture;
}

// The 1-based line of `path` that starts with `prefix`, or 0.
int line_of(const std::string& path, const std::string& prefix) {
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
        if (line.rfind(prefix, 0) == 0) return n;
    return 0;
}

constexpr const char* kNotActedOn = ": accepted but not acted on by this version";

std::string dump(const ConfigResult& result) {
    std::ostringstream out;
    for (const ConfigDiag& d : result.diags) {
        const char* level = d.level == Level::Error     ? "error"
                            : d.level == Level::Warning ? "warning"
                                                        : "notice";
        out << "  " << level << " [" << d.where << "] " << d.message << "\n";
    }
    return out.str();
}

size_t count(const ConfigResult& result, Level level) {
    size_t n = 0;
    for (const ConfigDiag& d : result.diags) n += d.level == level ? 1 : 0;
    return n;
}

// The one diag of `level` at `where`, or null when there is none or more than one.
const ConfigDiag* find(const ConfigResult& result, Level level, const std::string& where) {
    const ConfigDiag* found = nullptr;
    for (const ConfigDiag& d : result.diags) {
        if (d.level != level || d.where != where) continue;
        if (found != nullptr) return nullptr;
        found = &d;
    }
    return found;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A file in the test temp directory, removed again at scope exit.
class TempFile {
  public:
    explicit TempFile(const std::string& content) {
        path_ = testing::TempDir() + "robotd_config_test_" + std::to_string(getpid()) + "_" +
                std::to_string(++serial_) + ".conf";
        std::ofstream(path_) << content;
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    static inline int serial_ = 0;
    std::string path_;
};

// ---- A whole file in the reference layout ----

class FixtureTest : public testing::Test {
  protected:
    void SetUp() override {
        path_ = fixture_path();
        result_ = load_config(path_, {});
        ASSERT_TRUE(result_.ok()) << "cannot load " << path_ << "\n" << dump(result_);
    }
    std::string path_;
    ConfigResult result_;
};

TEST_F(FixtureTest, WarnsForWhatIsNotActedOnAndNotesTheUnusedKeysOnce) {
    EXPECT_EQ(count(result_, Level::Error), 0u) << dump(result_);
    // Each setting this version parses but does not act on: one warning at its line.
    const std::pair<const char*, const char*> inert[] = {
        {"slow_for_low_battery", "[motor_hat] slow_for_low_battery"},
        {"charge_hours", "[motor_hat] charge_hours"},
        {"discharge_hours", "[motor_hat] discharge_hours"},
    };
    EXPECT_EQ(count(result_, Level::Warning), std::size(inert)) << dump(result_);
    for (const auto& [prefix, key] : inert) {
        const int line = line_of(path_, prefix);
        ASSERT_NE(line, 0) << prefix;
        const ConfigDiag* w = find(result_, Level::Warning, path_ + ":" + std::to_string(line));
        ASSERT_NE(w, nullptr) << key << "\n" << dump(result_);
        EXPECT_EQ(w->message, std::string(key) + kNotActedOn);
    }
    ASSERT_EQ(count(result_, Level::Notice), 1u) << dump(result_);
    const ConfigDiag* notice = find(result_, Level::Notice, "");
    ASSERT_NE(notice, nullptr) << dump(result_);
    const std::string& msg = notice->message;
    EXPECT_TRUE(contains(msg, "not used by this version of robotd")) << msg;
    EXPECT_TRUE(contains(msg, "[ffmpeg] ffmpeg_location, v4l2-ctl_location")) << msg;
    EXPECT_TRUE(contains(msg, "[camera] type")) << msg;
    // The speech keys are read now (src/speech).
    EXPECT_FALSE(contains(msg, "[tts] tts_volume")) << msg;
    EXPECT_FALSE(contains(msg, "[espeak]")) << msg;
    EXPECT_FALSE(contains(msg, "[pico]")) << msg;
    EXPECT_TRUE(contains(msg, "[logging] log_file")) << msg;
    EXPECT_TRUE(contains(msg, "[misc] custom_hardware")) << msg;
    EXPECT_TRUE(contains(msg, "wpa_template")) << msg;
    EXPECT_TRUE(contains(msg, "video_filter")) << msg;
    EXPECT_FALSE(contains(msg, "[serial]")) << msg;  // read by the serial_board driver
    // Keys robotd reads are not in the list, nor the continuation lines of wpa_template.
    EXPECT_FALSE(contains(msg, "x_res")) << msg;
    for (const char* read : {"[motozero]", "[l298n]", "[motor_hat]", "chargeIONumber",
                             "chargeCheckInterval", "esc_forward"})
        EXPECT_FALSE(contains(msg, read)) << read << ": " << msg;
    EXPECT_FALSE(contains(msg, "info_server")) << msg;
    EXPECT_FALSE(contains(msg, "update_config")) << msg;
}

TEST_F(FixtureTest, Values) {
    const Config& c = result_.config;
    EXPECT_EQ(c.robot.owner, "fixture_owner");
    EXPECT_EQ(c.robot.robot_id, "fixture-robot-42");
    EXPECT_EQ(c.robot.camera_id, "fixture-camera-42");
    EXPECT_EQ(c.robot.type, "none");
    EXPECT_EQ(c.robot.stream_key, "fx-stream-Key.9");
    EXPECT_EQ(c.robot.api_key, "fx-api-key-31");
    EXPECT_DOUBLE_EQ(c.robot.turn_delay, 0.25);
    EXPECT_DOUBLE_EQ(c.robot.straight_delay, 0.75);
    EXPECT_FALSE(c.camera.no_camera);
    EXPECT_FALSE(c.camera.no_mic);
    EXPECT_EQ(c.camera.x_res, 800);
    EXPECT_EQ(c.camera.y_res, 448);
    EXPECT_EQ(c.camera.camera_device, "/dev/video2");
    EXPECT_EQ(c.camera.mic_num, "2,0");
    EXPECT_EQ(c.camera.mic_device, "");
    EXPECT_EQ(c.ffmpeg.audio_channels, 2);
    EXPECT_EQ(c.ffmpeg.audio_bitrate, 64);
    EXPECT_EQ(c.ffmpeg.audio_sample_rate, 48000);
    EXPECT_EQ(c.ffmpeg.video_bitrate, 500);
    EXPECT_EQ(c.tts.type, "festival");
    EXPECT_FALSE(c.tts.anon_tts);
    EXPECT_TRUE(c.tts.filter_url_tts);
    EXPECT_FALSE(c.tts.ext_chat);
    EXPECT_EQ(c.tts.boot_message, "fixture robot online");
    EXPECT_TRUE(c.tts.delay_tts);
    EXPECT_EQ(c.tts.delay, 5);
    EXPECT_EQ(c.tts.tts_volume, 55);
    EXPECT_EQ(c.tts.speaker_num, "3,0");
    EXPECT_EQ(c.tts.speaker_device, "");
    EXPECT_FALSE(c.espeak.male);
    EXPECT_EQ(c.espeak.voice_number, 3);
    EXPECT_EQ(c.pico.voice, "en-GB");
    EXPECT_EQ(c.misc.info_server.str(), "https://info.example.org:443");
    EXPECT_EQ(c.misc.api_server.str(), "https://api.example.org:443");
    EXPECT_EQ(c.misc.app_server.str(), "http://info.example.org:8022");
    EXPECT_EQ(c.misc.user_server.str(), "https://info.example.org:8000");
    EXPECT_TRUE(c.misc.secure_cert);
    EXPECT_EQ(c.misc.secret_key, "");
    EXPECT_EQ(c.misc.eio, EioMode::Auto);
    EXPECT_EQ(c.misc.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    EXPECT_EQ(c.misc.video_status_interval, 30);
    EXPECT_DOUBLE_EQ(c.misc.lookup_timeout, 10);
    EXPECT_EQ(c.misc.watchdog_device, "") << "no hardware watchdog unless asked for";
    EXPECT_EQ(c.misc.watchdog_timeout, 15);
}

TEST_F(FixtureTest, AppAndUserServersFollowAnOverriddenInfoServer) {
    const ConfigResult r = load_config(path_, {"misc.info_server=http://127.0.0.1:18080"});
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.misc.info_server.str(), "http://127.0.0.1:18080");
    EXPECT_EQ(r.config.misc.app_server.str(), "http://127.0.0.1:8022");
    EXPECT_EQ(r.config.misc.user_server.str(), "https://127.0.0.1:8000");
    // The api server is its own host and does not follow.
    EXPECT_EQ(r.config.misc.api_server.str(), "https://api.example.org:443");
}

TEST_F(FixtureTest, FormatMasksSecretsAndRoundTrips) {
    const std::string text = format_config(result_.config);
    EXPECT_TRUE(contains(text, "\nstream_key=****\n")) << text;
    EXPECT_TRUE(contains(text, "\napi_key=****\n")) << text;
    EXPECT_TRUE(contains(text, "\nsecret_key=\n")) << text;
    EXPECT_FALSE(contains(text, "fx-stream")) << text;
    EXPECT_FALSE(contains(text, "fx-api")) << text;
    EXPECT_TRUE(contains(text, "\ninfo_server=https://info.example.org:443\n")) << text;
    EXPECT_TRUE(contains(text, "\nsecure_cert=true\n")) << text;
    EXPECT_TRUE(contains(text, "\nturn_delay=0.25\n")) << text;
    for (const char* section : {"[robot]", "[camera]", "[ffmpeg]", "[tts]", "[misc]"}) {
        EXPECT_TRUE(contains(text, std::string("\n") + section + "\n")) << section;
    }

    const ConfigResult back = parse_config(text, "formatted");
    ASSERT_TRUE(back.ok()) << dump(back);
    EXPECT_EQ(count(back, Level::Warning), count(result_, Level::Warning)) << dump(back);
    EXPECT_EQ(count(back, Level::Notice), 0u) << dump(back);
    const Config& a = result_.config;
    const Config& b = back.config;
    EXPECT_EQ(b.robot.stream_key, "****");  // masked on the way out, by design
    EXPECT_EQ(b.robot.api_key, "****");
    EXPECT_EQ(format_config(b), text);  // every other value came back unchanged
    EXPECT_EQ(b.robot.owner, a.robot.owner);
    EXPECT_DOUBLE_EQ(b.robot.turn_delay, a.robot.turn_delay);
    EXPECT_EQ(b.camera.x_res, a.camera.x_res);
    EXPECT_EQ(b.camera.mic_num, a.camera.mic_num);
    EXPECT_EQ(b.tts.type, a.tts.type);
    EXPECT_EQ(b.misc.app_server.str(), a.misc.app_server.str());
    EXPECT_EQ(b.misc.user_server.str(), a.misc.user_server.str());
}

// ---- Defaults and values ----

TEST(Config, EmptyTextGivesDefaults) {
    const ConfigResult r = parse_config("", "empty.conf");
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.diags.empty()) << dump(r);
    EXPECT_EQ(r.config.camera.x_res, 640);
    EXPECT_EQ(r.config.camera.y_res, 480);
    EXPECT_EQ(r.config.tts.type, "none");
    EXPECT_EQ(r.config.misc.info_server.str(), "https://letsrobot.tv:443");
    EXPECT_EQ(r.config.misc.api_server.str(), "https://api.letsrobot.tv:443");
    EXPECT_EQ(r.config.misc.app_server.str(), "http://letsrobot.tv:8022");
    EXPECT_EQ(r.config.misc.user_server.str(), "https://letsrobot.tv:8000");
}

TEST(Config, AllUsedKeysAreRead) {
    const ConfigResult r = parse_config(
        "[robot]\nowner=o\nrobot_id=r\ncamera_id=c\ntype=serial_board\nstream_key=s\n"
        "api_key=a\nturn_delay=1.25\nstraight_delay=0\n"
        "[camera]\nno_camera=yes\nno_mic=on\nx_res=1280\ny_res=720\ncamera_device=/dev/v1\n"
        "mic_device=hw:1\nmic_num=2,0\n"
        "[ffmpeg]\nvideo_bitrate=1000\naudio_bitrate=64\naudio_sample_rate=48000\n"
        "audio_channels=2\n"
        "[tts]\ntype=festival\nanon_tts=no\nfilter_url_tts=off\next_chat=0\ndelay_tts=1\n"
        "delay=0\nboot_message=hello world\n"
        "[misc]\ninfo_server=http://10.0.0.1:8080\napi_server=api.example\n"
        "secure_cert=false\neio=3\nca_file=/tmp/ca.pem\nvideo_status_interval=1\n"
        "lookup_timeout=2.5\nsecret_key=k\n",
        "all.conf");
    ASSERT_TRUE(r.ok()) << dump(r);
    // Every key of it is acted on now: no warning.
    EXPECT_TRUE(r.diags.empty()) << dump(r);
    const Config& c = r.config;
    EXPECT_EQ(c.robot.owner, "o");
    EXPECT_EQ(c.robot.robot_id, "r");
    EXPECT_EQ(c.robot.camera_id, "c");
    EXPECT_EQ(c.robot.type, "serial_board");
    EXPECT_EQ(c.robot.stream_key, "s");
    EXPECT_EQ(c.robot.api_key, "a");
    EXPECT_DOUBLE_EQ(c.robot.turn_delay, 1.25);
    EXPECT_DOUBLE_EQ(c.robot.straight_delay, 0);
    EXPECT_TRUE(c.camera.no_camera);
    EXPECT_TRUE(c.camera.no_mic);
    EXPECT_EQ(c.camera.x_res, 1280);
    EXPECT_EQ(c.camera.y_res, 720);
    EXPECT_EQ(c.camera.camera_device, "/dev/v1");
    EXPECT_EQ(c.camera.mic_device, "hw:1");
    EXPECT_EQ(c.camera.mic_num, "2,0");
    EXPECT_EQ(c.ffmpeg.video_bitrate, 1000);
    EXPECT_EQ(c.ffmpeg.audio_bitrate, 64);
    EXPECT_EQ(c.ffmpeg.audio_sample_rate, 48000);
    EXPECT_EQ(c.ffmpeg.audio_channels, 2);
    EXPECT_EQ(c.tts.type, "festival");
    EXPECT_FALSE(c.tts.anon_tts);
    EXPECT_FALSE(c.tts.filter_url_tts);
    EXPECT_FALSE(c.tts.ext_chat);
    EXPECT_TRUE(c.tts.delay_tts);
    EXPECT_EQ(c.tts.delay, 0);
    EXPECT_EQ(c.tts.boot_message, "hello world");
    EXPECT_EQ(c.misc.info_server.str(), "http://10.0.0.1:8080");
    EXPECT_EQ(c.misc.api_server.str(), "https://api.example:443");
    EXPECT_EQ(c.misc.app_server.str(), "http://10.0.0.1:8022");
    EXPECT_EQ(c.misc.user_server.str(), "https://10.0.0.1:8000");
    EXPECT_FALSE(c.misc.secure_cert);
    EXPECT_EQ(c.misc.eio, EioMode::V3);
    EXPECT_EQ(c.misc.ca_file, "/tmp/ca.pem");
    EXPECT_EQ(c.misc.video_status_interval, 1);
    EXPECT_DOUBLE_EQ(c.misc.lookup_timeout, 2.5);
    EXPECT_EQ(c.misc.secret_key, "k");

    const std::vector<std::string> secrets = config_secrets(c);
    EXPECT_EQ(secrets, (std::vector<std::string>{"s", "a", "k"}));
    const std::string text = format_config(c);
    EXPECT_TRUE(contains(text, "\napi_key=****\n")) << text;
    EXPECT_TRUE(contains(text, "\nsecret_key=****\n")) << text;
    EXPECT_TRUE(contains(text, "\neio=3\n")) << text;
    EXPECT_TRUE(contains(text, "\napp_server=http://10.0.0.1:8022\n")) << text;
    // Round trip of everything but the masked secrets.
    const ConfigResult back = parse_config(text, "formatted");
    ASSERT_TRUE(back.ok()) << dump(back);
    EXPECT_EQ(format_config(back.config), text);
    EXPECT_EQ(back.config.misc.eio, EioMode::V3);
    EXPECT_FALSE(back.config.misc.secure_cert);
    EXPECT_TRUE(back.config.tts.delay_tts);
    EXPECT_DOUBLE_EQ(back.config.misc.lookup_timeout, 2.5);
}

TEST(Config, HardwareWatchdogKeys) {
    const ConfigResult r =
        parse_config("[misc]\nwatchdog_device = /dev/watchdog0\nwatchdog_timeout = 600\n", "t");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.misc.watchdog_device, "/dev/watchdog0");
    EXPECT_EQ(r.config.misc.watchdog_timeout, 600);
    EXPECT_EQ(parse_config("[misc]\nwatchdog_timeout=2\n", "t").config.misc.watchdog_timeout, 2);
    const ConfigResult changed = parse_config("[misc]\nwatchdog_device = /dev/watchdog1\n", "t");
    EXPECT_EQ(changed_keys(r.config, changed.config),
              (std::vector<std::string>{"misc.watchdog_device", "misc.watchdog_timeout"}));
}

TEST(Config, MediaCameraFormatAndM2m) {
    EXPECT_EQ(parse_config("", "t").config.media.camera_format, "");
    EXPECT_EQ(parse_config("", "t").config.media.m2m, "auto");
    const ConfigResult r = parse_config("[media]\ncamera_format = MJPG\nm2m = /dev/video12\n", "t");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.media.camera_format, "MJPG");
    EXPECT_EQ(r.config.media.m2m, "/dev/video12");
    EXPECT_EQ(parse_config("[media]\nm2m = off\n", "t").config.media.m2m, "off");
}

TEST(Config, SecretsListIsEmptyWhenNoneSet) {
    EXPECT_TRUE(config_secrets(Config{}).empty());
    Config c;
    c.robot.api_key = "xyz";
    EXPECT_EQ(config_secrets(c), std::vector<std::string>{"xyz"});
    EXPECT_FALSE(contains(format_config(c), "xyz"));
}

TEST(Config, BooleansInEverySpelling) {
    for (const char* yes : {"true", "True", "TRUE", "yes", "Yes", "on", "On", "1"}) {
        const ConfigResult r = parse_config(std::string("[camera]\nno_mic=") + yes + "\n", "b");
        EXPECT_TRUE(r.ok()) << yes << "\n" << dump(r);
        EXPECT_TRUE(r.config.camera.no_mic) << yes;
    }
    for (const char* no : {"false", "False", "FALSE", "no", "NO", "off", "Off", "0"}) {
        const ConfigResult r = parse_config(std::string("[misc]\nsecure_cert=") + no + "\n", "b");
        EXPECT_TRUE(r.ok()) << no << "\n" << dump(r);
        EXPECT_FALSE(r.config.misc.secure_cert) << no;
    }
}

TEST(Config, NumbersAcceptTrailingSpaceAndExponent) {
    const ConfigResult r = parse_config("", "n", {"camera.x_res=800  ", "robot.turn_delay= 1e-1 "});
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.camera.x_res, 800);
    EXPECT_DOUBLE_EQ(r.config.robot.turn_delay, 0.1);
}

TEST(Config, EioModes) {
    EXPECT_EQ(parse_config("[misc]\neio=4\n", "e").config.misc.eio, EioMode::V4);
    EXPECT_EQ(parse_config("[misc]\neio=AUTO\n", "e").config.misc.eio, EioMode::Auto);
    const ConfigResult r = parse_config("[misc]\neio=4\n", "e", {"misc.eio=auto"});
    EXPECT_EQ(r.config.misc.eio, EioMode::Auto);
}

TEST(Config, KeyNamesAreCaseInsensitiveSectionsAreNot) {
    // Python's configparser lower-cases key names, so the reference client took these.
    const ConfigResult r = parse_config("[robot]\nRobot_ID=42\n[Robot]\nowner=x\n", "case.conf");
    EXPECT_EQ(r.config.robot.robot_id, "42");
    EXPECT_EQ(r.config.robot.owner, "");
    const ConfigDiag* w = find(r, Level::Warning, "case.conf:4");
    ASSERT_NE(w, nullptr) << dump(r);
    EXPECT_TRUE(contains(w->message, "unknown key [Robot] owner")) << w->message;
}

// ---- Server URLs ----

TEST(Config, ServerUrlForms) {
    const ConfigResult r = parse_config(
        "[misc]\ninfo_server=info.example\napi_server=ws://api.example:81\n"
        "app_server=app.example\nuser_server=user.example\n",
        "urls.conf");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.misc.info_server.str(), "https://info.example:443");
    EXPECT_EQ(r.config.misc.api_server.str(), "http://api.example:81");
    EXPECT_EQ(r.config.misc.app_server.str(), "https://app.example:8022");
    EXPECT_EQ(r.config.misc.user_server.str(), "https://user.example:8000");

    const ConfigResult s = parse_config(
        "[misc]\ninfo_server=wss://[::1]\napp_server=http://a.example\n"
        "user_server=http://127.0.0.1:18000/u/\n",
        "urls.conf");
    ASSERT_TRUE(s.ok()) << dump(s);
    EXPECT_EQ(s.config.misc.info_server.str(), "https://[::1]:443");
    EXPECT_EQ(s.config.misc.app_server.str(), "http://a.example:8022");
    EXPECT_EQ(s.config.misc.user_server.str(), "http://127.0.0.1:18000/u");
}

TEST(Config, DefaultsFollowTheFinalInfoServer) {
    // app_server defaults to the info server's host even when info_server comes later,
    // and an explicit app_server or user_server is left alone.
    const ConfigResult r = parse_config(
        "[misc]\napp_server=http://app.example:1\n"
        "info_server=http://first.example:2\n",
        "f.conf", {"misc.info_server=second.example"});
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.misc.info_server.str(), "https://second.example:443");
    EXPECT_EQ(r.config.misc.app_server.str(), "http://app.example:1");
    EXPECT_EQ(r.config.misc.user_server.str(), "https://second.example:8000");

    // An empty value hands the default back to the info server.
    const ConfigResult e = parse_config("[misc]\nuser_server=u.example\ninfo_server=i.example\n",
                                        "f.conf", {"misc.user_server="});
    ASSERT_TRUE(e.ok()) << dump(e);
    EXPECT_EQ(e.config.misc.user_server.str(), "https://i.example:8000");
}

// ---- Diagnostics ----

TEST(Config, UnknownKeyIsAWarningWithFileAndLine) {
    const ConfigResult r = parse_config("# robot\n[robot]\nowner=me\nrobt_id=5\n", "robot.conf");
    EXPECT_TRUE(r.ok());
    ASSERT_EQ(r.diags.size(), 1u) << dump(r);
    const ConfigDiag* w = find(r, Level::Warning, "robot.conf:4");
    ASSERT_NE(w, nullptr) << dump(r);
    EXPECT_TRUE(contains(w->message, "unknown key [robot] robt_id")) << w->message;
    EXPECT_EQ(r.config.robot.owner, "me");
}

TEST(Config, KeysOfUnknownSectionsWarnEachAndDoNotCountAsUnused) {
    const ConfigResult r = parse_config(
        "[nosuch]\na=1\n\nb=2\n[festival]\nvoice=x\n[ffmpeg]\naudio_codec=mp2\n", "u.conf");
    EXPECT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(count(r, Level::Warning), 3u) << dump(r);
    ASSERT_NE(find(r, Level::Warning, "u.conf:2"), nullptr) << dump(r);
    ASSERT_NE(find(r, Level::Warning, "u.conf:4"), nullptr) << dump(r);
    ASSERT_NE(find(r, Level::Warning, "u.conf:6"), nullptr) << dump(r);
    EXPECT_TRUE(contains(find(r, Level::Warning, "u.conf:6")->message, "[festival] voice"));
    ASSERT_EQ(count(r, Level::Notice), 1u) << dump(r);
    const std::string& notice = find(r, Level::Notice, "")->message;
    EXPECT_TRUE(contains(notice, "[ffmpeg] audio_codec")) << notice;
    EXPECT_FALSE(contains(notice, "nosuch")) << notice;
}

TEST(Config, KeyBeforeAnySectionIsAWarning) {
    const ConfigResult r = parse_config("owner=x\n[robot]\n", "top.conf");
    EXPECT_TRUE(r.ok());
    const ConfigDiag* w = find(r, Level::Warning, "top.conf:1");
    ASSERT_NE(w, nullptr) << dump(r);
    EXPECT_TRUE(contains(w->message, "owner")) << w->message;
    EXPECT_EQ(r.config.robot.owner, "");
}

TEST(Config, UnusedKeysMakeOneNoticeInTotal) {
    const ConfigResult r = parse_config(
        "[camera]\ntype=ffmpeg\n[polly]\nregion_name=x\naccess_key=y\n[camera]\nTYPE=z\n", "n.conf",
        {"logging.file_level=DEBUG"});
    EXPECT_TRUE(r.ok()) << dump(r);
    // The repeated [camera] type is a duplicate (a warning) but is listed once.
    EXPECT_NE(find(r, Level::Warning, "n.conf:7"), nullptr) << dump(r);
    ASSERT_EQ(r.diags.size(), 2u) << dump(r);
    const ConfigDiag* notice = find(r, Level::Notice, "");
    ASSERT_NE(notice, nullptr) << dump(r);
    EXPECT_EQ(notice->message,
              "not used by this version of robotd: [camera] type; "
              "[polly] region_name, access_key; [logging] file_level");
}

struct BadValue {
    const char* section;
    const char* key;
    const char* value;
    const char* expected;
};

TEST(Config, BadValuesAreErrorsWithFileLineAndExpectedForm) {
    const BadValue cases[] = {
        {"camera", "x_res", "abc", "an even integer 16..4094"},
        {"camera", "x_res", "12x", "an even integer 16..4094"},
        {"camera", "y_res", "17", "an even integer 16..4094"},
        {"camera", "y_res", "14", "an even integer 16..4094"},
        {"camera", "x_res", "4098", "an even integer 16..4094"},
        {"camera", "x_res", "", "an even integer 16..4094"},
        {"camera", "x_res", "6 40", "an even integer 16..4094"},
        {"camera", "no_camera", "maybe", "true or false"},
        {"misc", "secure_cert", "", "true or false"},
        {"ffmpeg", "video_bitrate", "0", "an integer 1..100000"},
        {"ffmpeg", "audio_bitrate", "100001", "one of 32, 48, 56,"},
        {"ffmpeg", "audio_bitrate", "3.5", "one of 32, 48, 56,"},
        {"ffmpeg", "audio_sample_rate", "22050", "32000, 44100 or 48000"},
        {"ffmpeg", "audio_channels", "3", "1 or 2"},
        {"robot", "turn_delay", "-0.1", "a number of seconds 0..60"},
        {"robot", "straight_delay", "abc", "a number of seconds 0..60"},
        {"robot", "turn_delay", "inf", "a number of seconds 0..60"},
        {"tts", "delay", "-1", "a whole number of seconds 0..60"},
        {"tts", "delay", "1.5", "a whole number of seconds 0..60"},
        {"tts", "type", "say", "espeak, festival, pico, flite, custom or none"},
        {"tts", "speaker_num", "card1", "a sound card number N or N,M"},
        {"tts", "speaker_num", "1,", "a sound card number N or N,M"},
        {"tts", "command", "say 'hi", "a command line with balanced quotes"},
        {"espeak", "male", "maybe", "true or false"},
        {"pico", "voice", "en US", "a language such as en-US"},
        {"misc", "eio", "5", "auto, 3 or 4"},
        {"misc", "video_status_interval", "0", "a whole number of seconds 1..3600"},
        {"misc", "lookup_timeout", "0", "a number of seconds 1..300"},
        {"misc", "lookup_timeout", "nan", "a number of seconds 1..300"},
        {"misc", "watchdog_timeout", "1", "a whole number of seconds 2..600"},
        {"misc", "watchdog_timeout", "601", "a whole number of seconds 2..600"},
        {"misc", "watchdog_device", "watchdog0", "the path of a watchdog device"},
        {"misc", "info_server", "ftp://x.example", "a host name or a URL"},
        {"misc", "info_server", "", "a host name or a URL"},
        {"misc", "api_server", "http://h:70000", "a host name or a URL"},
        {"misc", "app_server", "http://user@h", "a host name, a URL"},
        {"misc", "user_server", "h?x=1", "a host name, a URL"},
        {"media", "camera_format", "YUYV2", "a V4L2 pixel format code of 4 characters"},
        {"media", "camera_format", "YU V", "a V4L2 pixel format code of 4 characters"},
        {"media", "m2m", "video1", "auto, off, or the path of a V4L2 memory-to-memory device"},
    };
    for (const BadValue& bad : cases) {
        const std::string text =
            std::string("[") + bad.section + "]\n; comment\n" + bad.key + " = " + bad.value + "\n";
        const ConfigResult r = parse_config(text, "bad.conf");
        const std::string label = std::string(bad.key) + "='" + bad.value + "'";
        EXPECT_FALSE(r.ok()) << label;
        ASSERT_EQ(r.diags.size(), 1u) << label << "\n" << dump(r);
        const ConfigDiag* e = find(r, Level::Error, "bad.conf:3");
        ASSERT_NE(e, nullptr) << label << "\n" << dump(r);
        const std::string head = std::string("[") + bad.section + "] " + bad.key + ": expected ";
        EXPECT_TRUE(contains(e->message, head + bad.expected)) << e->message;
        EXPECT_TRUE(contains(e->message, std::string(", got '") + bad.value + "'")) << e->message;
    }
}

// A numeric key at the edges of its range: the last bad value below, the first and last
// good ones, the first bad value above (and values that would wrap further on).
struct Range {
    const char* section;
    const char* key;
    const char* range;  // as the error message states it
    std::vector<const char*> good;
    std::vector<const char*> bad;
};

TEST(Config, NumbersAreRangeCheckedAtTheirEdges) {
    const Range ranges[] = {
        {"robot", "turn_delay", "0..60", {"0", "60"}, {"-0.001", "60.001", "1e9"}},
        {"robot", "straight_delay", "0..60", {"0", "60"}, {"-1", "60.5"}},
        {"camera", "x_res", "16..4094", {"16", "4094"}, {"14", "4096", "4095"}},
        {"camera", "y_res", "16..4094", {"16", "4094"}, {"15", "4096"}},
        {"ffmpeg", "video_bitrate", "1..100000", {"1", "100000"}, {"0", "100001", "4294967297"}},
        {"ffmpeg", "audio_bitrate", "32, 48,", {"32", "384"}, {"16", "33", "400"}},
        {"ffmpeg", "audio_channels", "1 or 2", {"1", "2"}, {"0", "3"}},
        {"ffmpeg",
         "audio_sample_rate",
         "32000, 44100 or 48000",
         {"32000", "48000"},
         {"31999", "48001"}},
        {"tts", "delay", "0..60", {"0", "60"}, {"-1", "61"}},
        {"tts", "tts_volume", "0..100", {"0", "100"}, {"-1", "101"}},
        {"tts", "max_length", "1..5000", {"1", "5000"}, {"0", "5001"}},
        {"tts", "timeout", "1..120", {"1", "120"}, {"0", "121"}},
        {"tts", "queue", "1..100", {"1", "100"}, {"0", "101"}},
        {"espeak", "voice_number", "1..7", {"1", "7"}, {"0", "8"}},
        {"media", "gop", "1..250", {"1", "250"}, {"0", "251"}},
        {"media", "ring_kib", "16..65536", {"16", "65536"}, {"15", "65537"}},
        // x 1000 into 32-bit milliseconds: 4294968 s would wrap to a 704 ms timer.
        {"misc",
         "video_status_interval",
         "1..3600",
         {"1", "3600"},
         {"0", "3601", "4294968", "99999999999"}},
        {"misc",
         "lookup_timeout",
         "1..300",
         {"1", "300"},
         {"0.999", "300.001", "4294968", "1e300"}},
        {"misc",
         "info_server",
         "port 1..65535",
         {"http://h:1", "http://h:65535"},
         {"http://h:0", "http://h:65536"}},
        {"misc", "app_server", "port 1..65535", {"h:1", "h:65535"}, {"h:0", "h:99999"}},
    };
    for (const Range& range : ranges) {
        const std::string head = std::string("[") + range.section + "]\n";
        const std::string name = std::string(range.section) + "." + range.key;
        const std::string pristine = format_config(parse_config("", "r.conf").config);
        for (const char* value : range.good) {
            const ConfigResult r = parse_config(head + range.key + " = " + value + "\n", "r.conf");
            EXPECT_TRUE(r.ok()) << name << "=" << value << "\n" << dump(r);
            EXPECT_EQ(count(r, Level::Error), 0u) << name << "=" << value;
            // The value is in effect: the formatted config's line for the key shows it.
            const std::string text = format_config(r.config);
            const size_t at = text.find(std::string("\n") + range.key + "=");
            ASSERT_NE(at, std::string::npos) << name;
            const std::string line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
            EXPECT_TRUE(contains(line, value)) << name << "=" << value << " not taken: " << line;
        }
        for (const char* value : range.bad) {
            const ConfigResult r =
                parse_config(head + "\n" + range.key + " = " + value + "\n", "r.conf");
            const std::string label = name + "=" + value;
            EXPECT_FALSE(r.ok()) << label;
            const ConfigDiag* e = find(r, Level::Error, "r.conf:3");
            ASSERT_NE(e, nullptr) << label << "\n" << dump(r);
            EXPECT_TRUE(contains(e->message, range.range)) << label << ": " << e->message;
            EXPECT_TRUE(contains(e->message, std::string("got '") + value + "'")) << e->message;
            EXPECT_EQ(format_config(r.config), pristine) << label << " changed the config";
            // --set takes the same checks.
            const ConfigResult o = parse_config("", "r.conf", {name + "=" + value});
            EXPECT_NE(find(o, Level::Error, "--set " + name), nullptr) << label << dump(o);
        }
    }
}

TEST(Config, SettingsNotActedOnWarnAtTheirLineEmptyOnesDoNot) {
    const ConfigResult r =
        parse_config("[robot]\napi_key=\n[tts]\ntype=espeak\nboot_message=\ndelay=3\n", "tts.conf",
                     {"tts.anon_tts=no"});
    EXPECT_TRUE(r.ok()) << dump(r);
    // Speech and the chat's keys (api_key, type, anon_tts, delay, boot_message) are acted on.
    EXPECT_TRUE(r.diags.empty()) << dump(r);
    // Every key robotd reads but does not act on, and nothing else it reads.
    for (const char* key : {"motor_hat.slow_for_low_battery", "motor_hat.charge_hours",
                            "motor_hat.discharge_hours"}) {
        const ConfigResult one = parse_config("", "k.conf", {std::string(key) + "=1"});
        ASSERT_EQ(one.diags.size(), 1u) << key << dump(one);
        EXPECT_TRUE(contains(one.diags[0].message, kNotActedOn)) << key << dump(one);
    }
    const ConfigResult acted = parse_config(
        "[robot]\nowner=o\nstream_key=s\nturn_delay=1\n[misc]\nwoot_room=w\nsecret_key=k\n"
        "reverse_ssh_command=ssh x\nstate_file=/tmp/s.json\n[media]\ngop=10\n[pipe]\npath=/tmp/p\n"
        "[robot]\napi_key=k\n[tts]\nanon_tts=no\nfilter_url_tts=no\next_chat=no\ndelay_tts=yes\n"
        "delay=3\nboot_message=hi\n",
        "a.conf");
    EXPECT_TRUE(acted.diags.empty()) << dump(acted);
}

TEST(Config, BadValueKeepsTheEarlierValue) {
    const ConfigResult r = parse_config("[camera]\nx_res=800\nx_res=801\n", "k.conf");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.config.camera.x_res, 800);
}

TEST(Config, DuplicateKeyWarnsAtTheLaterLineAndLastWins) {
    const ConfigResult r = parse_config("[robot]\nrobot_id=1\nowner=a\nROBOT_ID=2\n", "dup.conf");
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.config.robot.robot_id, "2");
    ASSERT_EQ(r.diags.size(), 1u) << dump(r);
    const ConfigDiag* w = find(r, Level::Warning, "dup.conf:4");
    ASSERT_NE(w, nullptr) << dump(r);
    EXPECT_TRUE(contains(w->message, "duplicate key [robot] ROBOT_ID")) << w->message;
    EXPECT_TRUE(contains(w->message, "line 2")) << w->message;
}

TEST(Config, ContinuationLinesOfAnUnusedKeyAreQuiet) {
    const ConfigResult r = parse_config(
        "[misc]\nwpa_template = a=1\n    b=2\n\n    network={{\n      ssid=x\n    }}\n"
        "secure_cert=false\n",
        "wpa.conf");
    EXPECT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(count(r, Level::Warning), 0u) << dump(r);
    ASSERT_EQ(count(r, Level::Notice), 1u) << dump(r);
    EXPECT_TRUE(contains(r.diags[0].message, "[misc] wpa_template")) << dump(r);
    EXPECT_FALSE(r.config.misc.secure_cert);
}

TEST(Config, ContinuationLineOfAUsedKeyIsAnError) {
    const ConfigResult r =
        parse_config("[robot]\nowner=me\n  robot_id=5\n  camera_id=6\n", "cont.conf");
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.diags.size(), 1u) << dump(r);  // one complaint per value, not per line
    const ConfigDiag* e = find(r, Level::Error, "cont.conf:3");
    ASSERT_NE(e, nullptr) << dump(r);
    EXPECT_TRUE(contains(e->message, "[robot] owner")) << e->message;
    EXPECT_EQ(r.config.robot.owner, "me");
    EXPECT_EQ(r.config.robot.robot_id, "");
}

TEST(Config, IndentedKeyAfterASectionHeaderIsAKey) {
    // inih forgets the previous key at a section header, so this is not a continuation.
    const ConfigResult r = parse_config("[robot]\nowner=me\n[camera]\n  x_res=800\n", "i.conf");
    EXPECT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.diags.empty()) << dump(r);
    EXPECT_EQ(r.config.camera.x_res, 800);
}

TEST(Config, SyntaxErrorsAreErrorsAtTheirLines) {
    const ConfigResult r = parse_config(
        "[robot]\nowner=me\nthis line has no equals sign\n[camera\nx_res=800\n", "syn.conf");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(count(r, Level::Error), 2u) << dump(r);
    EXPECT_NE(find(r, Level::Error, "syn.conf:3"), nullptr) << dump(r);
    EXPECT_NE(find(r, Level::Error, "syn.conf:4"), nullptr) << dump(r);
    EXPECT_EQ(r.config.robot.owner, "me");
}

TEST(Config, SyntaxErrorDoesNotQuoteTheLine) {
    const ConfigResult r = parse_config("[robot]\nstream_key hunter2\n", "q.conf");
    EXPECT_FALSE(r.ok());
    ASSERT_NE(find(r, Level::Error, "q.conf:2"), nullptr) << dump(r);
    EXPECT_FALSE(contains(dump(r), "hunter2")) << dump(r);
}

TEST(Config, LongLines) {
    const std::string long_value(300, 'x');
    // An unused key may be as long as it likes; its value is never looked at.
    const ConfigResult unused = parse_config(
        "[ffmpeg]\nvideo_output_options=" + long_value + "\nvideo_bitrate=400\n", "long.conf");
    EXPECT_TRUE(unused.ok()) << dump(unused);
    EXPECT_EQ(count(unused, Level::Warning), 0u) << dump(unused);
    EXPECT_EQ(unused.config.ffmpeg.video_bitrate, 400);  // and the next line is line 3

    const ConfigResult used =
        parse_config("[robot]\nowner=" + long_value + "\nrobot_id=7\n", "long.conf");
    EXPECT_FALSE(used.ok());
    const ConfigDiag* e = find(used, Level::Error, "long.conf:2");
    ASSERT_NE(e, nullptr) << dump(used);
    EXPECT_TRUE(contains(e->message, "[robot] owner: line longer than")) << e->message;
    EXPECT_EQ(used.config.robot.owner, "");
    EXPECT_EQ(used.config.robot.robot_id, "7");
}

TEST(Config, CrLfLineEndingsAndBom) {
    const ConfigResult r =
        parse_config("\xEF\xBB\xBF[camera]\r\nx_res=800\r\ny_res=600\r\nbogus=1\r\n", "crlf");
    EXPECT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.camera.x_res, 800);
    EXPECT_EQ(r.config.camera.y_res, 600);
    EXPECT_NE(find(r, Level::Warning, "crlf:4"), nullptr) << dump(r);
}

// ---- Overrides ----

TEST(Config, OverridesApplyInOrderAfterTheFile) {
    const ConfigResult r =
        parse_config("[camera]\nx_res=768\n", "o.conf",
                     {"camera.x_res=800", "robot.owner = someone ", "camera.x_res=1024"});
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.diags.empty()) << dump(r);
    EXPECT_EQ(r.config.camera.x_res, 1024);
    EXPECT_EQ(r.config.robot.owner, "someone");
}

TEST(Config, OverrideValueMayContainEquals) {
    const ConfigResult r = parse_config("", "o.conf", {"tts.boot_message=a=b"});
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.tts.boot_message, "a=b");
}

TEST(Config, OverrideErrorsAreNamedAfterTheOverride) {
    const ConfigResult r = parse_config("", "o.conf",
                                        {"camera.x_res=abc", "robot.robt_id=1",
                                         "misc.info_server=http://", "ffmpeg.audio_codec=x"});
    EXPECT_FALSE(r.ok());
    const ConfigDiag* e = find(r, Level::Error, "--set camera.x_res");
    ASSERT_NE(e, nullptr) << dump(r);
    EXPECT_EQ(e->message, "[camera] x_res: expected an even integer 16..4094, got 'abc'");
    const ConfigDiag* w = find(r, Level::Warning, "--set robot.robt_id");
    ASSERT_NE(w, nullptr) << dump(r);
    EXPECT_TRUE(contains(w->message, "unknown key [robot] robt_id")) << w->message;
    EXPECT_NE(find(r, Level::Error, "--set misc.info_server"), nullptr) << dump(r);
    EXPECT_EQ(count(r, Level::Notice), 1u) << dump(r);  // audio_codec: known, unused
    EXPECT_EQ(r.config.camera.x_res, 640);
}

TEST(Config, MalformedOverridesAreErrors) {
    for (const char* bad : {"camera_x_res=800", "camera.x_res", "=5", ".x_res=5", "camera.=5"}) {
        const ConfigResult r = parse_config("", "o.conf", {bad});
        EXPECT_FALSE(r.ok()) << bad;
        ASSERT_EQ(r.diags.size(), 1u) << bad << "\n" << dump(r);
        EXPECT_EQ(r.diags[0].level, Level::Error);
        EXPECT_EQ(r.diags[0].where.rfind("--set ", 0), 0u) << r.diags[0].where;
        EXPECT_TRUE(contains(r.diags[0].message, "section.key=value")) << r.diags[0].message;
    }
    // The value is not echoed: it may be a secret.
    const ConfigResult r = parse_config("", "o.conf", {"robotstream_key=hunter2"});
    EXPECT_FALSE(contains(dump(r), "hunter2")) << dump(r);
}

// ---- Files ----

TEST(Config, LoadFromFileNamesThePathInDiags) {
    const TempFile file("[robot]\nowner=me\n\n[camera]\nx_res=odd\n");
    const ConfigResult r = load_config(file.path(), {"robot.robot_id=9"});
    EXPECT_FALSE(r.ok());
    EXPECT_NE(find(r, Level::Error, file.path() + ":5"), nullptr) << dump(r);
    EXPECT_EQ(r.config.robot.owner, "me");
    EXPECT_EQ(r.config.robot.robot_id, "9");
}

TEST(Config, MissingFileIsAClearError) {
    const std::string path =
        testing::TempDir() + "robotd_no_such_dir_" + std::to_string(getpid()) + "/letsrobot.conf";
    const ConfigResult r = load_config(path, {"camera.x_res=800"});
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(count(r, Level::Error), 1u) << dump(r);
    const std::string& msg = r.diags[0].message;
    EXPECT_TRUE(contains(msg, path)) << msg;
    EXPECT_TRUE(contains(msg, std::strerror(ENOENT))) << msg;
    EXPECT_EQ(r.config.camera.x_res, 800);  // overrides still applied
}

TEST(Config, DirectoryIsAClearError) {
    const ConfigResult r = load_config(testing::TempDir(), {});
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.diags.size(), 1u) << dump(r);
    EXPECT_TRUE(contains(r.diags[0].message, std::strerror(EISDIR))) << r.diags[0].message;
}

TEST(Config, OkMeansNoError) {
    ConfigResult r;
    EXPECT_TRUE(r.ok());
    r.diags.push_back({Level::Notice, "", "n"});
    r.diags.push_back({Level::Warning, "f:1", "w"});
    EXPECT_TRUE(r.ok());
    r.diags.push_back({Level::Error, "f:2", "e"});
    EXPECT_FALSE(r.ok());
}

// --- The generic output maps of [gpio] and [pca9685] ---

TEST(ConfigOutputMap, CommandsStepsAndSafeLevelsParseWithTheirTimes) {
    const ConfigResult r = parse_config(
        "[gpio]\nchip = gpiochip0\nF = 17=1 27=0 for 0.3 then 17=0 for 0.25\nLED_on = 4=high\n"
        "safe = 17=0 27=low\nhold = 4\n[pca9685]\naddress = 0x60\npwm_freq = 1500\n"
        "B = 0=270 for 0.3, then 0=full\n",
        "t.conf");
    ASSERT_TRUE(r.ok());
    const auto& cmds = r.config.gpio.map.commands;
    ASSERT_EQ(cmds.size(), 2u);
    EXPECT_EQ(cmds[0].command, "F");
    ASSERT_EQ(cmds[0].steps.size(), 2u);
    EXPECT_EQ(cmds[0].steps[0].sets, (std::vector<OutputSet>{{17, 1}, {27, 0}}));
    EXPECT_EQ(cmds[0].steps[0].ms, 300u);
    EXPECT_EQ(steps_pulse_ms(cmds[0].steps), 550u);
    EXPECT_EQ(steps_pulse_ms(cmds[1].steps), std::nullopt);  // LED_on holds until a stop
    EXPECT_EQ(r.config.gpio.map.safe, (std::vector<OutputSet>{{17, 0}, {27, 0}}));
    EXPECT_EQ(r.config.gpio.map.hold, std::vector<int>{4});
    EXPECT_EQ(r.config.pca9685.address, 0x60);
    EXPECT_EQ(r.config.pca9685.map.commands[0].steps[1].sets[0].value, 4096);
    const std::string text = format_config(r.config);
    EXPECT_NE(text.find("[gpio]\nchip=gpiochip0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("F=17=1 27=0 for 0.3 then 17=0 for 0.25\nLED_on=4=high\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("address=0x60\n"), std::string::npos) << text;
}

TEST(ConfigOutputMap, BadMapsAreOneClearErrorAtTheirLine) {
    const char* bad[] = {
        "F = 17\n",                 // no value
        "F = 17=2\n",               // a level out of range
        "F = 1024=1\n",             // a pin out of range
        "F = 17=1 for\n",           // no seconds
        "F = 17=1 for 61\n",        // too long
        "F = 17=1 for 0.5 27=1\n",  // a set after for without then
        "F = 17=1 then 27=1\n",     // then after a step with no length
        "F = 17=1 for 0.5 then\n",  // ends with then
        "F =\n",                    // nothing
        "safe = 17=x\n",
    };
    for (const char* line : bad) {
        const ConfigResult r = parse_config(std::string("[gpio]\n") + line, "t.conf");
        EXPECT_FALSE(r.ok()) << line;
        ASSERT_FALSE(r.diags.empty()) << line;
        EXPECT_EQ(r.diags[0].where, "t.conf:2") << line;
    }
    EXPECT_FALSE(parse_config("[pca9685]\nF = 16=100\n", "t").ok());
    EXPECT_FALSE(parse_config("[pca9685]\naddress = 0x80\n", "t").ok());
    EXPECT_FALSE(parse_config("[pca9685]\npwm_freq = 2000\n", "t").ok());
}

TEST(ConfigOutputMap, ChangedCommandsAreNamedForAReload) {
    const Config a = parse_config("[gpio]\nF = 17=1\nB = 18=1\n", "t").config;
    const Config b = parse_config("[gpio]\nf = 17=1\nB = 18=1 for 1\nL = 4=1\n", "t").config;
    EXPECT_EQ(changed_keys(a, b), (std::vector<std::string>{"gpio.B", "gpio.L"}));
    const Config c = parse_config("[gpio]\nF = 17=1\n", "t", {"gpio.F=17=0"}).config;
    ASSERT_EQ(c.gpio.map.commands.size(), 1u);
    EXPECT_EQ(c.gpio.map.commands[0].text, "17=0");
}

}  // namespace
TEST(Config, TtsTypeIsOneOfTheEnginesInAnyCaseAndCustomNeedsACommand) {
    const ConfigResult r = parse_config("[tts]\ntype=eSpeak\n", "t.conf");
    EXPECT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config.tts.type, "espeak");
    EXPECT_TRUE(r.diags.empty()) << dump(r);  // acted on: no "not acted on" warning
    const ConfigResult bare = parse_config("[tts]\ntype=custom\n", "t.conf");
    EXPECT_FALSE(bare.ok());
    const ConfigDiag* e = find(bare, Level::Error, "");
    ASSERT_NE(e, nullptr) << dump(bare);
    EXPECT_TRUE(contains(e->message, "[tts] type custom needs [tts] command")) << dump(bare);
    const ConfigResult custom =
        parse_config("[tts]\ntype=custom\ncommand=my-tts --wav -\n", "t.conf");
    EXPECT_TRUE(custom.ok()) << dump(custom);
    EXPECT_EQ(custom.config.tts.command, "my-tts --wav -");
}

}  // namespace robotd
