// The DeviceWorker device for GPIO output lines: one request per chip, made once with every
// line at its safe level, then whole-chip value sets; a failed set is a lost device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hw/device_worker.h"
#include "hw/gpio_lines.h"
#include "hw/pin_map.h"

namespace robotd {

class GpioDevice : public DeviceWorker::Device {
  public:
    // `lines[i]` carries output i of the worker's values; lines may span several chips.
    GpioDevice(std::shared_ptr<GpioApi> api, std::vector<GpioLine> lines);
    ~GpioDevice() override;

    std::string describe() const override { return describe_; }
    bool open(const DeviceWorker::Outputs& safe, std::string* error) override;
    bool apply(const DeviceWorker::Outputs& out, std::string* error) override;
    // Sets the lines of every chip still open safe, then releases them: the kernel keeps a
    // released line at its last level, and a chip that failed must not leave another driven.
    void close() override;

  private:
    struct Chip {
        std::string name;
        std::vector<unsigned> lines;
        std::vector<size_t> outputs;  // which output each line carries
        std::unique_ptr<GpioOutputs> request;
        std::vector<int> levels;  // as last set
    };
    std::vector<int> levels_of(const Chip& chip, const DeviceWorker::Outputs& out) const;

    std::shared_ptr<GpioApi> api_;
    std::vector<Chip> chips_;  // in first-use order
    DeviceWorker::Outputs safe_;
    std::string describe_;
};

}  // namespace robotd
