// A driver whose commands are output maps (core/output_map.h): each command's steps set
// outputs (GPIO lines, PWM channels) through a DeviceWorker, timed on the loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/output_map.h"
#include "hw/device_worker.h"
#include "hw/driver.h"
#include "net/loop.h"

namespace robotd {

// The generic [gpio] and [pca9685] maps and every preset built on them (l298n, motozero,
// mdd10, motor_hat, adafruit_pwm) are this driver with another Device and another map.
// - A command starts from the safe state: outputs it does not name are safe (a turn right
//   after a forward never drives both). Its later steps change only what they name.
// - After a command's last timed step every output is safe; a step without a time holds
//   until the next stop (Motion's dead-man for motion commands).
// - A stop (and the destructor) sets every output safe at once, through the worker, which
//   never drops it; but a stop and a command leave `hold` outputs where they are (a servo's
//   position, an LED): only opening the device and the destructor set those safe.
// - A device that is lost ends the running command: its later steps are never written late.
// - Commands the map does not name are not this driver's (maps() is false): ignored.
class MapDriver : public Driver {
  public:
    // The device for the distinct outputs the map uses, in the order given: each value the
    // worker writes is for outputs[i].
    using MakeDevice =
        std::function<std::unique_ptr<DeviceWorker::Device>(const std::vector<int>& outputs)>;

    // `safe` gives outputs their safe value; the others used by `commands` are safe at 0.
    MapDriver(Loop& loop, Logger& log, std::string name, std::vector<OutputCommand> commands,
              const std::vector<OutputSet>& safe, const MakeDevice& make_device,
              std::vector<int> hold = {}, RetryRules reopen = {200, 10000, 5000});
    ~MapDriver() override;

    void start();  // opens the device (on the worker)

    const char* name() const override { return name_.c_str(); }
    void command(const DriveCommand& c) override;
    void stop(const DriveCommand& c) override;
    void pointer(const PointerEvent& p) override;
    DriverStats stats() const override;
    bool maps(std::string_view command) const override { return find(command) != nullptr; }
    std::optional<uint32_t> pulse_ms(std::string_view command) const override;

    const std::vector<int>& outputs() const { return outputs_; }
    DeviceWorker& worker() { return *worker_; }

  protected:
    // The map entry for `command`, or null. Presets may choose among variants (motor_hat's
    // day and night speeds).
    virtual const OutputCommand* find(std::string_view command) const;

  private:
    void run_step(const OutputCommand& c, size_t step);
    void to_safe();
    size_t index_of(int output) const;
    // safe_, with the held outputs at their values in state_.
    DeviceWorker::Outputs resting() const;

    Loop& loop_;
    Logger& log_;
    std::string name_;
    std::vector<OutputCommand> commands_;
    std::vector<int> outputs_;  // distinct outputs, in first-use order
    DeviceWorker::Outputs safe_;
    std::vector<bool> held_;  // per output
    DeviceWorker::Outputs state_;
    std::unique_ptr<DeviceWorker> worker_;
    Timer step_timer_;
    const OutputCommand* running_ = nullptr;
    size_t next_step_ = 0;
    uint64_t written_ = 0;
};

}  // namespace robotd
