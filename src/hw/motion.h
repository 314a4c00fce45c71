// The dead-man between the sessions and the driver: every motion command is a timed pulse,
// so a robot whose viewer, network or process goes away stops by itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/log.h"
#include "hw/driver.h"
#include "net/loop.h"

namespace robotd {

// Stops robotd sends itself are DriveCommand{"stop"} with an empty user and `reason` set:
// "deadman" (the pulse ran out), "key up", "exit", or what the caller of stop() names.
class Motion {
  public:
    // `driver` must outlive this object (the destructor sends a last stop through it).
    Motion(Loop& loop, Logger& log, Driver& driver, const Config& config);
    ~Motion();  // always sends a final stop (reason "exit"); the driver flushes it (driver.h)
    Motion(const Motion&) = delete;
    Motion& operator=(const Motion&) = delete;

    // New delays and command lists (SIGHUP); a pulse already running keeps its time.
    void configure(const Config& config);

    // Forwards to the driver. A motion command (one the driver gives a pulse length, or one in
    // the straight or turn lists, case-insensitive) (re)arms the automatic stop after that
    // pulse, or straight_delay / turn_delay; one with key_position
    // "up" is not forwarded but stops at once; an explicit "stop" cancels the timer. Every
    // stop reaches the driver as Driver::stop(), which never drops it.
    void command(const DriveCommand& c);
    void pointer(const PointerEvent& p) { driver_.pointer(p); }
    // A stop now, whatever is moving; cancels the timer.
    void stop(const char* reason);
    bool moving() const { return moving_; }

  private:
    std::optional<uint32_t> pulse_ms(const std::string& command) const;
    void send_stop(const char* reason, LogLevel level);

    Logger& log_;
    Driver& driver_;
    std::vector<std::string> straight_;
    std::vector<std::string> turn_;
    uint32_t straight_ms_ = 0;
    uint32_t turn_ms_ = 0;
    Timer deadman_;
    bool moving_ = false;  // a pulse is running
};

}  // namespace robotd
