// The LetsRobot application on the loop: owns the running config and what hangs off it
// (discovery, media, the robot's sessions and driver), and re-reads it on SIGHUP.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/log.h"
#include "net/loop.h"
#include "robot/discovery.h"
#include "robot/media.h"
#include "robot/robot.h"
#include "speech/speech.h"

namespace robotd {

class Daemon {
  public:
    Daemon(Loop& loop, Logger& log, std::string config_path, std::vector<std::string> overrides);
    ~Daemon();

    // Adopts an already loaded, valid config and starts work; false (with `error`) when
    // something it names cannot be had (an unknown driver type, say).
    bool start(Config config, std::string* error);
    // Re-reads the config file and re-applies only what changed; a bad file keeps the
    // running config, an unchanged one changes nothing.
    void reload();
    void stop();
    // What robotd is doing, one line (systemd's STATUS=): "LIVE: control, chat, app, user
    // connected; video and audio streaming", "waiting for the network: control lookup failing
    // for 3 min: ...", "connecting: control, chat; app, user connected".
    std::string status() const;
    const Config& config() const { return config_; }

  private:
    void log_endpoints() const;
    void set_secrets();

    Loop& loop_;
    Logger& log_;
    std::string config_path_;
    std::vector<std::string> overrides_;
    // Every part below refers to this one object; a reload assigns it in place and then
    // tells each part what changed.
    Config config_;
    std::unique_ptr<Discovery> discovery_;
    std::unique_ptr<Media> media_;            // after discovery_, before robot_:
    std::unique_ptr<speech::Speech> speech_;  // each is destroyed before what it uses
    std::unique_ptr<Robot> robot_;
    bool stopped_ = false;  // a SIGHUP while stopping finds nothing to reload
};

// Writes config diagnostics to the log: errors, warnings (file:line) and the notice.
void log_config_diags(Logger& log, const std::vector<ConfigDiag>& diags);
// What a config must have to run (beyond what parses): an error line, or empty.
std::string check_runnable(const Config& config);
TlsSettings tls_settings(const Config& config);

}  // namespace robotd
