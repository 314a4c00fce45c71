// What viewers' commands and pointer events do: every one passes the same policy, then the
// dead-man (hw/motion) and the hardware driver. Accepted commands are logged, rate-limited.
#pragma once

#include <cjson/cJSON.h>

#include <map>
#include <memory>
#include <string>

#include "core/config.h"
#include "hw/driver.h"
#include "hw/motion.h"
#include "net/loop.h"
#include "robot/policy.h"

namespace robotd {

class Drive {
  public:
    // `policy` must outlive this object; the driver is taken.
    Drive(Loop& loop, const Config& config, const PolicyState& policy,
          std::unique_ptr<Driver> driver);
    ~Drive();  // the last stop goes to the hardware
    Drive(const Drive&) = delete;
    Drive& operator=(const Drive&) = delete;

    // command_to_robot and custom_event payloads from `session` (for log lines).
    void command(const cJSON* payload, const char* session);
    void pointer(const cJSON* payload, const char* session);
    // A stop now (the control link dropped, ...).
    void stop(const char* reason) { motion_->stop(reason); }

    // New delays and command lists (SIGHUP); a pulse already running keeps its time.
    void configure(const Config& config) { motion_->configure(config); }
    // The driver's section changed (SIGHUP): the old driver stops the robot and lets go of
    // its devices first, then the new one starts. One that cannot start leaves the previous
    // config's driver (started again), or at worst none, with an error line: never two
    // drivers on the same hardware, never no driver object.
    void replace_driver(const Config& config, const Config& previous);
    const Driver& driver() const { return *driver_; }

  private:
    // Logs one decision: the first of its kind (accepted, or refused for a reason) in a second
    // at once, the rest of that second as a count.
    void note(Verdict verdict, const std::string& line, const char* session);
    void summarise();

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    const PolicyState& policy_;
    std::unique_ptr<Driver> driver_;
    std::unique_ptr<Motion> motion_;  // uses *driver_: declared after it, destroyed before it
    struct Unlogged {
        uint64_t count = 0;
        std::string last;
    };
    Timer summary_;
    std::map<Verdict, Unlogged> window_;  // the kinds logged in this second
};

}  // namespace robotd
