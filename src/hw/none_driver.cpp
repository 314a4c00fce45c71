#include "hw/none_driver.h"

#include "core/json.h"

namespace robotd {

void NoneDriver::command(const DriveCommand& c) {
    LOGD(log_, "none", "command '%s' from '%s'%s%s%s%s", excerpt(c.command).c_str(),
         excerpt(c.user).c_str(), c.key_position.empty() ? "" : " key ",
         excerpt(c.key_position, 16).c_str(), c.reason.empty() ? "" : " reason ", c.reason.c_str());
}

void NoneDriver::pointer(const PointerEvent& p) {
    LOGD(log_, "none", "pointer %s at %.3f,%.3f from '%s'", excerpt(p.kind).c_str(), p.x, p.y,
         excerpt(p.user).c_str());
}

}  // namespace robotd
