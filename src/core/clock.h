// Monotonic time, the one clock every timestamp and timeout in robotd is taken from.
#pragma once

#include <cstdint>
#include <ctime>

namespace robotd {

inline int64_t mono_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace robotd
