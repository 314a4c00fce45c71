// Several drivers at once (`type = motor_hat,gpio`): each command goes to every driver that
// maps it, a stop and pointer events go to all, as one Driver to Motion.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hw/driver.h"

namespace robotd {

class MultiDriver : public Driver {
  public:
    // `drivers` in the order the type names them (at least two).
    explicit MultiDriver(std::vector<std::unique_ptr<Driver>> drivers);
    // Destroys them in reverse order, each flushing its own held stop.
    ~MultiDriver() override;

    const char* name() const override { return name_.c_str(); }
    void command(const DriveCommand& c) override;
    void stop(const DriveCommand& c) override;
    void pointer(const PointerEvent& p) override;
    DriverStats stats() const override;  // the sums; stop_held if any holds one
    bool maps(std::string_view command) const override;
    // The longest pulse of the drivers that map `command`, when each gives one; none when
    // one of them has none (Motion's straight/turn delays then decide).
    std::optional<uint32_t> pulse_ms(std::string_view command) const override;

  private:
    std::vector<std::unique_ptr<Driver>> drivers_;
    std::string name_;  // "motor_hat,gpio"
};

}  // namespace robotd
