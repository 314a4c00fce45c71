// The "none" driver: a robot without hardware. Commands and pointer events are logged at
// debug level and otherwise ignored, so the rest of robotd runs on any machine.
#pragma once

#include "hw/driver.h"

namespace robotd {

class NoneDriver : public Driver {
  public:
    explicit NoneDriver(Logger& log) : log_(log) {}
    const char* name() const override { return "none"; }
    void command(const DriveCommand& c) override;
    void stop(const DriveCommand& c) override { command(c); }  // nothing to hold it back
    void pointer(const PointerEvent& p) override;

  private:
    Logger& log_;
};

}  // namespace robotd
