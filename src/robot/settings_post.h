// Settings changed from chat (.public on, .devmode mods, ...) sent to the site: POST
// {"key": value} to the api server's /api/v1/robots/{robot_id} with the robot's api_key.
// One request at a time, later values for a key replace waiting ones, failures retried.
#pragma once

#include <map>
#include <string>

#include "core/config.h"
#include "net/http_get.h"
#include "net/retry_timer.h"

namespace robotd {

class SettingsPoster {
  public:
    // `config` must outlive this (its api_server, robot_id and api_key are read per POST).
    SettingsPoster(Loop& loop, const Config& config);
    SettingsPoster(const SettingsPoster&) = delete;
    SettingsPoster& operator=(const SettingsPoster&) = delete;

    // Queues {"key": value}; a value for a key already waiting replaces it (the last wins).
    // Without an api_key: one line saying so, nothing sent.
    void post(const std::string& key, bool value);
    // Nothing waiting, nothing in flight (for tests).
    bool idle() const { return pending_.empty() && !get_.busy() && !retry_.pending(); }
    size_t sent() const { return sent_; }

  private:
    void next();
    void done(const HttpResult& r);

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    HttpGet get_;
    RetryTimer retry_;
    std::map<std::string, bool> pending_;
    std::string key_;  // in flight
    bool value_ = false;
    size_t sent_ = 0;
    bool told_no_key_ = false;
};

}  // namespace robotd
