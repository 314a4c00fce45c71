// Drives a device (GPIO lines, an I2C chip) from a thread of its own: the loop posts the
// outputs it wants and never waits for a bus or an ioctl; opens and losses come back on the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/retry.h"
#include "net/loop.h"
#include "net/retry_timer.h"

namespace robotd {

class DeviceWorker {
  public:
    // One value per output, in the driver's own order: a line's level, a channel's duty.
    using Outputs = std::vector<int32_t>;

    // What a driver implements. Every call runs on the worker thread, one at a time, and may
    // block as long as the device takes.
    class Device {
      public:
        virtual ~Device() = default;
        // What the log calls it: "gpiochip0 lines 17,18", "PCA9685 at 0x60 on i2c-1".
        virtual std::string describe() const = 0;
        // Opens the device and drives every output to `safe` before returning true: a device
        // that was left moving (a crash, a SIGKILL) is stopped before anything else.
        virtual bool open(const Outputs& safe, std::string* error) = 0;
        virtual bool apply(const Outputs& out, std::string* error) = 0;
        // Lets go of the device; called after a failed apply too (the device may be gone).
        virtual void close() = 0;
    };

    struct Stats {
        uint64_t applied = 0;  // output states written, stops included
        uint64_t dropped = 0;  // motion not written: the device was down, or a newer came first
        bool up = false;
    };

    // `tag` names the driver in the log. The device is opened by start(), reopened on the
    // `reopen` backoff after a failure or a loss.
    DeviceWorker(Loop& loop, Logger& log, std::string tag, std::unique_ptr<Device> device,
                 Outputs safe, RetryRules reopen = {200, 10000, 5000});
    // Drives the outputs safe and closes the device, waiting for that at most
    // Driver::kStopFlushMs (the one time the loop waits for a device); a thread stuck longer
    // in the device is left to finish on its own, and said so in the log.
    ~DeviceWorker();
    DeviceWorker(const DeviceWorker&) = delete;
    DeviceWorker& operator=(const DeviceWorker&) = delete;

    void start();
    // Motion: the newest wins; dropped (counted) while the device is down.
    void set(Outputs out);
    // Every output safe, never dropped: written before any later set(); a device that is
    // down is driven safe by its next open.
    void stop() { stop_to(safe_); }
    // The same with some outputs held where they are (a servo's position, an LED): `out` is
    // the safe state with those outputs' current values.
    void stop_to(Outputs out);
    Stats stats() const;
    const Outputs& safe() const { return safe_; }
    // Runs on the loop when the device opens (true) or is lost (false).
    void on_change(std::function<void(bool up)> fn) { on_change_ = std::move(fn); }

  private:
    struct Shared;
    static void run(std::shared_ptr<Shared> shared);
    void drain_events();
    void request_open();

    Loop& loop_;
    Logger& log_;
    std::string tag_;
    Outputs safe_;
    std::shared_ptr<Shared> shared_;
    RetryTimer retry_;
    uint64_t wake_id_ = 0;
    bool ever_up_ = false;
    std::function<void(bool)> on_change_;
};

}  // namespace robotd
