// The LetsRobot application on the loop: owns the running config and what hangs off it
// (discovery now; sessions, drivers and media in later work), and re-reads it on SIGHUP.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/log.h"
#include "net/loop.h"
#include "robot/discovery.h"

namespace robotd {

class Daemon {
  public:
    Daemon(Loop& loop, Logger& log, std::string config_path, std::vector<std::string> overrides);
    ~Daemon();

    // Adopts an already loaded, valid config and starts work.
    void start(Config config);
    // Re-reads the config file; a bad file keeps the running config.
    void reload();
    void stop();

  private:
    void log_endpoints() const;

    Loop& loop_;
    Logger& log_;
    std::string config_path_;
    std::vector<std::string> overrides_;
    Config config_;
    std::unique_ptr<Discovery> discovery_;
};

// Writes config diagnostics to the log: errors, warnings (file:line) and the notice.
void log_config_diags(Logger& log, const std::vector<ConfigDiag>& diags);
// What a config must have to run (beyond what parses): an error line, or empty.
std::string check_runnable(const Config& config);
TlsSettings tls_settings(const Config& config);

}  // namespace robotd
