// Discovery: runs every lookup of the plan concurrently on the loop, retries each one
// forever with backoff, and keeps what the servers answered.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "net/http_get.h"
#include "net/retry_timer.h"
#include "robot/lookup_reply.h"
#include "robot/lookups.h"

namespace robotd {

struct Endpoints {
    std::optional<HostPort> control, chat;
    std::optional<std::string> relay_host;
    std::optional<int> video_port, audio_port;
    std::optional<std::string> owner;
    std::optional<RobotSettings> settings;
    std::optional<std::vector<std::string>> moderators;
    std::optional<WifiLogin> wifi;
};

class Discovery {
  public:
    Discovery(Loop& loop, Logger& log, const Config& config);
    ~Discovery();
    Discovery(const Discovery&) = delete;
    Discovery& operator=(const Discovery&) = delete;

    void start();
    // The config (the object this refers to) changed (SIGHUP): runs the lookups whose URL
    // changed or that are new, drops those no longer needed; the others stay as they are.
    void reconfigure();
    // Looks one endpoint up again (a session whose server moved calls this).
    void refresh(LookupId id);
    const Endpoints& endpoints() const { return endpoints_; }
    // The lookup failing longest, for the status line: "control lookup failing for 3 min:
    // connection refused" (the duration in whole minutes, none in the first one); empty
    // when none fails.
    std::string outage() const;
    // Called on the loop each time a lookup succeeds.
    void on_resolved(std::function<void(LookupId)> fn) { on_resolved_ = std::move(fn); }

  private:
    struct Task;
    Task& add(LookupSpec spec);
    void run(Task& t);
    void done(Task& t, const HttpResult& r);
    std::string hint(const LookupSpec& spec) const;
    void forget(LookupId id);
    // Applies a reply; returns the reason when it does not parse.
    std::string apply(LookupId id, const std::string& body, std::string* summary);

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    std::vector<std::unique_ptr<Task>> tasks_;
    Endpoints endpoints_;
    std::function<void(LookupId)> on_resolved_;
    int64_t started_us_ = 0;
    bool announced_ = false;
};

}  // namespace robotd
