#include "hw/multi_driver.h"

#include <algorithm>

namespace robotd {

MultiDriver::MultiDriver(std::vector<std::unique_ptr<Driver>> drivers)
    : drivers_(std::move(drivers)) {
    for (const auto& d : drivers_) name_ += (name_.empty() ? "" : ",") + std::string(d->name());
}

MultiDriver::~MultiDriver() {
    while (!drivers_.empty()) drivers_.pop_back();
}

void MultiDriver::command(const DriveCommand& c) {
    for (const auto& d : drivers_)
        if (d->maps(c.command)) d->command(c);
}

void MultiDriver::stop(const DriveCommand& c) {
    for (const auto& d : drivers_) d->stop(c);
}

void MultiDriver::pointer(const PointerEvent& p) {
    for (const auto& d : drivers_) d->pointer(p);
}

DriverStats MultiDriver::stats() const {
    DriverStats sum;
    for (const auto& d : drivers_) {
        const DriverStats s = d->stats();
        sum.written += s.written;
        sum.dropped += s.dropped;
        sum.merged += s.merged;
        sum.stop_held = sum.stop_held || s.stop_held;
    }
    return sum;
}

bool MultiDriver::maps(std::string_view command) const {
    return std::any_of(drivers_.begin(), drivers_.end(),
                       [&](const auto& d) { return d->maps(command); });
}

std::optional<uint32_t> MultiDriver::pulse_ms(std::string_view command) const {
    // A driver without a pulse of its own for `command` runs until Motion's stop: that stop
    // must come after straight_delay / turn_delay, not after another driver's longer pulse
    // (a timed driver ends its own steps anyway).
    std::optional<uint32_t> longest;
    for (const auto& d : drivers_) {
        if (!d->maps(command)) continue;
        const auto ms = d->pulse_ms(command);
        if (!ms) return std::nullopt;
        longest = std::max(longest.value_or(0), *ms);
    }
    return longest;
}

}  // namespace robotd
