#include "core/backoff.h"

#include <algorithm>

namespace robotd {

uint32_t Backoff::next(double unit) {
    uint64_t step = min_ms_;
    for (uint32_t i = 0; i < failures_ && step < max_ms_; ++i) step *= 2;
    step = std::min<uint64_t>(step, max_ms_);
    if (failures_ < 64) ++failures_;
    unit = std::clamp(unit, 0.0, 1.0);
    const uint64_t delay = step / 2 + static_cast<uint64_t>(unit * double(step - step / 2));
    return static_cast<uint32_t>(std::clamp<uint64_t>(delay, min_ms_, max_ms_));
}

}  // namespace robotd
