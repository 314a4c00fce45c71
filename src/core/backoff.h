// Exponential backoff with jitter for every retry loop in robotd (lookups, reconnects).
// Pure: the caller supplies the random source, so tests are deterministic.
#pragma once

#include <cstdint>

namespace robotd {

class Backoff {
  public:
    // Delays grow from `min_ms` doubling per failure up to `max_ms`.
    Backoff(uint32_t min_ms, uint32_t max_ms) : min_ms_(min_ms), max_ms_(max_ms) {}

    // The delay before the next attempt. `unit` is a random number in [0, 1): the delay is
    // drawn from the upper half of the current step ("equal jitter"), never below min_ms,
    // so retries of many robots spread out but none hammers the server.
    uint32_t next(double unit);
    void reset() { failures_ = 0; }
    uint32_t failures() const { return failures_; }

  private:
    uint32_t min_ms_;
    uint32_t max_ms_;
    uint32_t failures_ = 0;
};

}  // namespace robotd
