#include "hw/motion.h"

#include <cmath>

#include "core/clock.h"
#include "core/text.h"

namespace robotd {

namespace {
uint32_t to_ms(double seconds) {
    if (!(seconds > 0)) return 0;
    return seconds >= 86400 ? 86400000u : static_cast<uint32_t>(std::lround(seconds * 1000));
}
}  // namespace

Motion::Motion(Loop& loop, Logger& log, Driver& driver, const Config& config)
    : log_(log),
      driver_(driver),
      deadman_(loop, [this] { send_stop("deadman", LogLevel::Debug); }) {
    configure(config);
}

Motion::~Motion() {
    // Always: a pulse from before robotd started (a crash, a previous driver) or a command
    // outside the motion lists may still be driving the hardware.
    send_stop("exit", moving_ ? LogLevel::Info : LogLevel::Debug);
}

void Motion::configure(const Config& config) {
    straight_ = config.robot.straight_commands;
    turn_ = config.robot.turn_commands;
    straight_ms_ = to_ms(config.robot.straight_delay);
    turn_ms_ = to_ms(config.robot.turn_delay);
}

std::optional<uint32_t> Motion::pulse_ms(const std::string& command) const {
    // The driver's own timing first (l298n's sleeptime, a map's `for`): the reference
    // client's pulses, which its owners tuned their robots to.
    if (const auto ms = driver_.pulse_ms(command)) return ms;
    if (name_in(command, straight_)) return straight_ms_;
    if (name_in(command, turn_)) return turn_ms_;
    return std::nullopt;
}

void Motion::command(const DriveCommand& c) {
    if (iequals(c.command, "stop")) {
        deadman_.cancel();
        moving_ = false;
        driver_.stop(c);
        return;
    }
    const auto ms = pulse_ms(c.command);
    if (!ms) {
        driver_.command(c);  // LED_ON and the like: no motion, no timer
        return;
    }
    if (c.key_position == "up") {
        // Forwarding "F up" would make a driver that ignores key positions drive again.
        send_stop("key up", LogLevel::Debug);
        return;
    }
    driver_.command(c);
    moving_ = true;
    deadman_.start_ms(*ms);
}

void Motion::stop(const char* reason) {
    // Safety first: the stop always goes out; only the log line tells the two cases apart.
    send_stop(reason, moving_ ? LogLevel::Info : LogLevel::Debug);
}

void Motion::send_stop(const char* reason, LogLevel level) {
    deadman_.cancel();
    LOG_AT(log_, level, "motion", "stop (%s)%s", reason, moving_ ? "" : ", nothing was moving");
    moving_ = false;
    DriveCommand stop;
    stop.command = "stop";
    stop.received_us = mono_us();
    stop.reason = reason;
    driver_.stop(stop);
}

}  // namespace robotd
