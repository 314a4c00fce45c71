// The hardware watchdog ([misc] watchdog_device, e.g. /dev/watchdog): opened once at start,
// fed from a loop timer so that a hung loop (not only a hung kernel) resets the board.
#pragma once

#include <cstdint>
#include <string>

#include "core/log.h"
#include "core/unique_fd.h"
#include "net/loop.h"

namespace robotd {

class HwWatchdog {
  public:
    explicit HwWatchdog(Loop& loop);
    // A clean stop: the magic close ('V', then close), so the board is not reset.
    ~HwWatchdog();
    HwWatchdog(const HwWatchdog&) = delete;
    HwWatchdog& operator=(const HwWatchdog&) = delete;

    // Opens `device` and asks its driver for `timeout_s`; call before the loop runs (the
    // ioctls may take a moment). Opening starts the countdown. False (one error line naming
    // the consequence) when it cannot be opened: robotd then runs without it.
    bool open(const std::string& device, int timeout_s);
    // Starts feeding: a one-byte write every third of the timeout, from the loop.
    void start();
    bool is_open() const { return fd_.valid(); }
    const std::string& device() const { return device_; }
    int timeout_s() const { return timeout_s_; }  // what the driver took
    uint32_t feed_interval_ms() const;
    uint64_t feeds() const { return feeds_; }

  private:
    void feed();

    Loop& loop_;
    Logger& log_;
    UniqueFd fd_;
    std::string device_;
    int timeout_s_ = 0;
    uint64_t feeds_ = 0;
    bool failing_ = false;
    Timer timer_;
};

}  // namespace robotd
