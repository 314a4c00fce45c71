// One socket.io session of the robot: its client, the table that routes each event to its
// handler, and the identification it repeats every minute while connected.
#pragma once

#include <cjson/cJSON.h>

#include <functional>
#include <map>
#include <string>

#include "net/loop.h"
#include "net/sio_client.h"

namespace robotd {

class Link {
  public:
    using Handler = std::function<void(const cJSON* arg)>;  // the event's first argument

    // `name` ("control", ...) tags its log lines; `hint` ends an outage's summary lines.
    Link(Loop& loop, std::string name, std::string hint);
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    // Routes events named `event` to `fn`; events nobody routes are logged at debug level.
    void on(const std::string& event, Handler fn) { routes_[event] = std::move(fn); }
    void on_connected(std::function<void()> fn) { connected_ = std::move(fn); }
    void on_disconnected(std::function<void()> fn) { disconnected_ = std::move(fn); }
    // After each failure in a row: every third asks discovery again.
    void on_failing(std::function<void(int failures)> fn) { failing_ = std::move(fn); }
    // Emits `event` with json_arg() on every connect and every minute while connected.
    void identify(std::string event, std::function<std::string()> json_arg);

    void open(const Url& server, EioMode mode) { client_.open(server, mode); }
    void restart() { client_.restart(); }
    void close() { client_.close(); }
    bool emit(std::string_view event, std::string_view json_arg) {
        return client_.emit(event, json_arg);
    }
    const char* name() const { return name_.c_str(); }
    Logger& log() const { return log_; }
    const SioClient& client() const { return client_; }

  private:
    void route(const sio::Event& ev);

    Logger& log_;
    std::string name_;
    std::map<std::string, Handler> routes_;
    std::function<void()> connected_, disconnected_;
    std::function<void(int)> failing_;
    std::string identify_event_;
    std::function<std::string()> identify_arg_;
    SioClient client_;
    Timer identify_timer_;
};

}  // namespace robotd
