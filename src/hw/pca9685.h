// The PCA9685 16-channel PWM chip over I2C, as a DeviceWorker::Device: set up as Adafruit's
// library does, each channel's duty in its four LEDn registers; the chip behind the pca9685,
// motor_hat and adafruit_pwm drivers, and the generic `pca9685` type ([pca9685] map).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "hw/device_worker.h"
#include "hw/driver.h"
#include "hw/i2c_bus.h"
#include "hw/map_driver.h"

namespace robotd {

// Registers and bits of the datasheet (NXP PCA9685 rev. 4, section 7.3).
namespace pca9685 {
constexpr uint8_t kMode1 = 0x00;
constexpr uint8_t kMode2 = 0x01;
constexpr uint8_t kLed0OnL = 0x06;  // LEDn_ON_L = 0x06 + 4n, then ON_H, OFF_L, OFF_H
constexpr uint8_t kPrescale = 0xFE;
constexpr uint8_t kRestart = 0x80;        // MODE1
constexpr uint8_t kAutoIncrement = 0x20;  // MODE1
constexpr uint8_t kSleep = 0x10;          // MODE1: oscillator off; PRESCALE writable only then
constexpr uint8_t kAllCall = 0x01;        // MODE1 (its power-on value, kept)
constexpr uint8_t kOutDrv = 0x04;         // MODE2: totem-pole outputs
constexpr uint8_t kFullBit = 0x10;        // ON_H: always on; OFF_H: always off (wins)
constexpr int32_t kFullOn = 4096;         // a channel value: always on (0 is always off)

// PRESCALE for `freq_hz` from the 25 MHz internal clock: round(25 MHz / (4096 * freq)) - 1,
// as the datasheet (7.3.5) and Adafruit's library compute it (60 Hz: 101, 1600 Hz: 3).
uint8_t prescale_for(int freq_hz);
}  // namespace pca9685

class Pca9685Device : public DeviceWorker::Device {
  public:
    // Opens the chip's bus (on the worker thread); null with `error` set when it cannot.
    using OpenBus = std::function<std::unique_ptr<I2cBus>(std::string* error)>;

    // Drives `channels` (0..15; values 0..4096 ticks, 0 = always off, 4096 = always on), in the
    // order the worker's outputs come; `what` is how the log names the chip.
    Pca9685Device(std::vector<int> channels, int pwm_freq, std::string what, OpenBus open_bus);

    std::string describe() const override { return what_; }
    // The whole set-up, every time (a power cycle forgets the prescaler): asleep, PRESCALE
    // (read back: another chip at this address is an error), MODE2 totem pole, every channel
    // safe while the outputs are still stopped, then awake with auto-increment and restart.
    bool open(const DeviceWorker::Outputs& safe, std::string* error) override;
    // Writes the channels whose value changed; those going off first, so that a motor's
    // bridge is never driven both ways while its inputs change.
    bool apply(const DeviceWorker::Outputs& out, std::string* error) override;
    // Every channel not known to be safe back to safe, while the bus still answers.
    void close() override;

  private:
    bool write_channel(size_t index, int32_t value, std::string* error);

    static constexpr int32_t kUnknown = -1;  // a channel whose write failed half-way

    std::vector<int> channels_;
    uint8_t prescale_;
    std::string what_;
    OpenBus open_bus_;
    std::unique_ptr<I2cBus> bus_;
    DeviceWorker::Outputs safe_;
    DeviceWorker::Outputs written_;  // what each channel holds, as far as we know
};

// The devices of the chip at `address` on `bus` (a number, i2c-N, a /dev path or an adapter's
// name, resolved under `sysfs_root` at each open) through Linux's i2c-dev.
MapDriver::MakeDevice pca9685_on_i2c(std::string bus, int address, int pwm_freq,
                                     std::string sysfs_root = "/sys");

// How the log names the chip: "PCA9685 at 0x60 on i2c-1".
std::string describe_pca9685(const std::string& bus, int address);

// "" unless two of the PCA9685 types in config.robot.type name the same chip: each sets the
// chip up and writes its channels on its own, so one chip takes one type.
std::string check_pca9685_chips(const Config& config);

// The generic `pca9685` type: the [pca9685] map on its chip. The check needs no hardware.
std::string check_pca9685_config(const Config& config);
std::unique_ptr<Driver> make_pca9685_driver(const Config& config, Loop& loop, Logger& log,
                                            std::string* error);

}  // namespace robotd
