#include "robot/daemon.h"

#include <algorithm>

namespace robotd {

namespace {
constexpr const char* kTag = "robotd";
}

void log_config_diags(Logger& log, const std::vector<ConfigDiag>& diags) {
    for (const auto& d : diags) {
        const char* where = d.where.empty() ? "config" : d.where.c_str();
        switch (d.level) {
            case ConfigDiag::Level::Error:
                LOGE(log, "config", "%s: %s", where, d.message.c_str());
                break;
            case ConfigDiag::Level::Warning:
                LOGW(log, "config", "%s: %s", where, d.message.c_str());
                break;
            case ConfigDiag::Level::Notice:
                LOGI(log, "config", "%s: %s", where, d.message.c_str());
                break;
        }
    }
}

std::string check_runnable(const Config& c) {
    if (c.robot.robot_id.empty())
        return "[robot] robot_id is required (the id the site gave the robot)";
    if (c.robot.camera_id.empty() && !(c.camera.no_camera && c.camera.no_mic))
        return "[robot] camera_id is required unless no_camera and no_mic are both true";
    return check_driver_config(c);
}

TlsSettings tls_settings(const Config& c) {
    return {c.misc.ca_file, c.misc.secure_cert};
}

Daemon::Daemon(Loop& loop, Logger& log, std::string config_path, std::vector<std::string> overrides)
    : loop_(loop),
      log_(log),
      config_path_(std::move(config_path)),
      overrides_(std::move(overrides)) {}

Daemon::~Daemon() = default;

bool Daemon::start(Config config, std::string* error) {
    std::unique_ptr<Driver> driver = make_driver(config, loop_, log_, error);
    if (!driver) return false;
    stopped_ = false;
    config_ = std::move(config);
    set_secrets();
    if (!config_.misc.secure_cert)
        LOGW(log_, kTag,
             "TLS certificate verification is OFF ([misc] secure_cert=false): "
             "any server can pretend to be yours");
    log_endpoints();
    discovery_ = std::make_unique<Discovery>(loop_, log_, config_);
    media_ = std::make_unique<Media>(loop_, config_, *discovery_);
    speech_ = std::make_unique<speech::Speech>(loop_, speech::speech_settings(config_));
    robot_ = std::make_unique<Robot>(
        loop_, config_, *discovery_, std::move(driver),
        MediaControl{[this](bool on) { media_->set_video(on); },
                     [this](const RobotSettings& s) { media_->apply_settings(s); },
                     [this] { return media_->video_running(); },
                     [this](const std::string& control, int percent) {
                         media_->set_camera_control(control, percent);
                     },
                     [this](bool on) { media_->set_audio(on); },
                     [this](media::StreamKind kind) { media_->restart(kind); },
                     [this](media::StreamKind kind, int kbps) { media_->set_bitrate(kind, kbps); },
                     [this](bool muted) { media_->set_mic_muted(muted); }},
        SpeechControl{
            [this](const std::string& text, const std::string& who) { speech_->say(text, who); },
            [this](bool muted) { speech_->mute(muted); },
            [this](int percent) { speech_->volume(percent); }});
    discovery_->on_resolved([this](LookupId id) {
        robot_->resolved(id);
        media_->resolved(id);
    });
    robot_->start();
    discovery_->start();
    return true;
}

void Daemon::set_secrets() {
    std::vector<std::string> secrets = config_secrets(config_);
    if (discovery_ && discovery_->endpoints().wifi)
        secrets.push_back(discovery_->endpoints().wifi->password);
    log_.set_secrets(std::move(secrets));
}

void Daemon::log_endpoints() const {
    const auto& m = config_.misc;
    LOGI(log_, kTag, "robot %s, camera %s; info server %s, api server %s",
         config_.robot.robot_id.c_str(), config_.robot.camera_id.c_str(),
         m.info_server.str().c_str(), m.api_server.str().c_str());
    const std::string tls = m.secure_cert ? "verified against " + m.ca_file : "NOT verified";
    LOGI(log_, kTag, "app server %s, user server %s, eio %s; TLS %s", m.app_server.str().c_str(),
         m.user_server.str().c_str(),
         m.eio == EioMode::Auto ? "auto"
         : m.eio == EioMode::V3 ? "3"
                                : "4",
         tls.c_str());
}

void Daemon::reload() {
    if (stopped_ || !robot_) {
        LOGI(log_, kTag, "SIGHUP ignored: robotd is stopping");
        return;
    }
    LOGI(log_, kTag, "SIGHUP: re-reading %s", config_path_.c_str());
    ConfigResult r = load_config(config_path_, overrides_);
    log_config_diags(log_, r.diags);
    std::string why = r.ok() ? check_runnable(r.config) : "the file has errors";
    std::string tls_error;
    if (why.empty() && !loop_.set_tls(tls_settings(r.config), &tls_error)) why = tls_error;
    if (!why.empty()) {
        LOGE(log_, kTag, "config not reloaded (%s); the running config stays", why.c_str());
        return;
    }
    const std::vector<std::string> changed = changed_keys(config_, r.config);
    if (changed.empty()) {
        LOGI(log_, kTag, "config unchanged: nothing to re-apply");
        return;
    }
    std::string list;
    for (const auto& k : changed) list += (list.empty() ? "" : ", ") + k;
    LOGI(log_, kTag, "config changed: %s", list.c_str());

    for (const char* key : {"misc.watchdog_device", "misc.watchdog_timeout"})
        if (key_changed(changed, key))
            LOGW(log_, kTag,
                 "[misc] %s changed: it takes effect when robotd restarts (a hardware watchdog "
                 "is never reopened live); the running one stays as it was",
                 key + 5);
    Config previous = std::move(config_);
    config_ = std::move(r.config);  // every part sees the new values from here on
    set_secrets();
    discovery_->reconfigure();
    robot_->reconfigure(previous, changed);
    media_->reconfigure();
    if (section_changed(changed, "tts") || section_changed(changed, "espeak") ||
        section_changed(changed, "pico"))
        speech_->reconfigure(speech::speech_settings(config_));
    if (key_changed(changed, "misc.ca_file") || key_changed(changed, "misc.secure_cert"))
        media_->tls_changed();
    LOGI(log_, kTag, "config reloaded");
}

std::string Daemon::status() const {
    if (stopped_ || !robot_) return "stopping";
    std::vector<std::pair<const char*, bool>> links = robot_->links();
    std::string up, down;
    bool live = true;
    for (const auto& [name, connected] : links) {
        std::string& list = connected ? up : down;
        list += (list.empty() ? "" : ", ") + std::string(name);
        if (!connected && (std::string_view(name) == "control" || std::string_view(name) == "chat"))
            live = false;
    }
    if (live) {
        std::string s = "LIVE: " + up + " connected";
        if (!down.empty()) s += "; " + down + " connecting";
        const std::string media = media_->status();
        if (!media.empty()) s += "; " + media;
        return s;
    }
    if (const std::string outage = discovery_->outage(); !outage.empty())
        return "waiting for the network: " + outage;
    std::string s = "connecting: " + down + (up.empty() ? "" : "; " + up + " connected");
    if (const std::string outage = robot_->link_outage(); !outage.empty()) s += "; " + outage;
    return s;
}

void Daemon::stop() {
    stopped_ = true;
    robot_.reset();   // sends the final stop to the hardware
    speech_.reset();  // kills an engine, stops the player thread
    media_.reset();   // stops the encoder threads
    discovery_.reset();
}

}  // namespace robotd
