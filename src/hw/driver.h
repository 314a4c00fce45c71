// The hardware driver interface: what the robot does with a viewer's command or pointer
// event, whatever the board (none, pipe, ...), and the factory keyed by `[robot] type`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/log.h"
#include "net/loop.h"

namespace robotd {

struct DriveCommand {
    std::string command;  // "F", "B", "L", "R", "stop", "LED_ON", ...
    std::string user;     // may be empty
    bool anonymous = false;
    std::string key_position;  // "", "down", "intermediate", "up"
    int64_t received_us = 0;   // mono_us() when the session received it (latency measurements)
    std::string reason;        // why robotd itself sent it ("deadman", "exit"); empty for viewers
};

struct PointerEvent {
    std::string kind;     // "mousedown", ...
    double x = 0, y = 0;  // 0..1 across and down the video
    std::string user;
    bool anonymous = false;
    int64_t received_us = 0;
};

struct DriverStats {
    uint64_t written = 0;  // commands and events handed on
    uint64_t dropped = 0;  // lost because the consumer could not take them
};

class Driver {
  public:
    virtual ~Driver() = default;
    virtual const char* name() const = 0;
    // Both run on the loop thread and must never block it.
    virtual void command(const DriveCommand& c) = 0;
    virtual void pointer(const PointerEvent& p) = 0;
    virtual DriverStats stats() const { return {}; }
};

// The `[robot] type` values this build can drive: make_driver's, and --check-config's list.
constexpr std::string_view kDriverTypes[] = {"none", "pipe"};
bool driver_type_supported(std::string_view type);
std::string driver_types_text();  // "none, pipe"

// The driver named by config.robot.type (one of kDriverTypes). Anything else, or a driver that
// cannot start (e.g. an unopenable pipe.path): nullptr with `error` set.
std::unique_ptr<Driver> make_driver(const Config& config, Loop& loop, Logger& log,
                                    std::string* error);

}  // namespace robotd
