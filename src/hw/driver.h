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
    uint64_t written = 0;    // commands, stops and events handed on
    uint64_t dropped = 0;    // commands and events lost because the consumer could not take them
    uint64_t merged = 0;     // stops that came while one was held: that one goes out for them
    bool stop_held = false;  // a stop is waiting for the consumer
};

// What every driver (none, pipe, and gpio, serial, i2c, mqtt to come) promises:
// - command() and pointer() are best effort: under back-pressure a driver may drop or
//   coalesce them (counted in stats()), and never blocks the loop for them.
// - stop() is never dropped. A stop that cannot be delivered now is held and delivered as
//   soon as the hardware or consumer can take it (on an event, or a short retry), before any
//   later command or pointer event: while it is held those are dropped, never delivered
//   ahead of it. Stops that come while one is held merge into it.
// - Destroying a driver (robotd exiting, SIGHUP replacing it) first delivers a held stop,
//   waiting at most kStopFlushMs for the hardware: the one time a driver may block the loop,
//   so that the exit stop is never lost behind a busy consumer.
class Driver {
  public:
    static constexpr uint32_t kStopFlushMs = 1000;

    virtual ~Driver() = default;
    virtual const char* name() const = 0;
    // All three run on the loop thread and never block it.
    virtual void command(const DriveCommand& c) = 0;
    virtual void stop(const DriveCommand& c) = 0;  // c.command is "stop"
    virtual void pointer(const PointerEvent& p) = 0;
    virtual DriverStats stats() const { return {}; }
};

// The `[robot] type` values this build can drive: make_driver's, and --check-config's list.
constexpr std::string_view kDriverTypes[] = {"none", "pipe", "serial_board", "serial"};
bool driver_type_supported(std::string_view type);
std::string driver_types_text();  // "none, pipe"

// The driver named by config.robot.type (one of kDriverTypes). Anything else, or a driver that
// cannot start (e.g. an unopenable pipe.path): nullptr with `error` set.
std::unique_ptr<Driver> make_driver(const Config& config, Loop& loop, Logger& log,
                                    std::string* error);

}  // namespace robotd
