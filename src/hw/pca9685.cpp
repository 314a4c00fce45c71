#include "hw/pca9685.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <thread>
#include <utility>

namespace robotd {

namespace pca9685 {
uint8_t prescale_for(int freq_hz) {
    constexpr int64_t kClockHz = 25000000;
    const int64_t div = int64_t(4096) * std::max(freq_hz, 1);
    const int64_t prescale = (kClockHz + div / 2) / div - 1;
    // The chip's own floor is 3 (1526 Hz); 255 is 24 Hz.
    return uint8_t(std::clamp<int64_t>(prescale, 3, 255));
}
}  // namespace pca9685

using namespace pca9685;

namespace {

std::string hex(int value) {
    char buf[8];
    snprintf(buf, sizeof buf, "0x%02x", value);
    return buf;
}

}  // namespace

Pca9685Device::Pca9685Device(std::vector<int> channels, int pwm_freq, std::string what,
                             OpenBus open_bus)
    : channels_(std::move(channels)),
      prescale_(prescale_for(pwm_freq)),
      what_(std::move(what)),
      open_bus_(std::move(open_bus)) {}

bool Pca9685Device::write_channel(size_t index, int32_t value, std::string* error) {
    const uint8_t base = uint8_t(kLed0OnL + 4 * channels_[index]);
    uint8_t on_h = 0, off_l = 0, off_h = 0;
    if (value >= kFullOn) {
        on_h = kFullBit;
    } else if (value <= 0) {
        off_h = kFullBit;
    } else {
        off_l = uint8_t(value & 0xFF);
        off_h = uint8_t(value >> 8);
    }
    written_[index] = kUnknown;
    const auto w = [&](uint8_t reg, uint8_t v) { return bus_->write_byte_data(reg, v, error); };
    // Each byte takes effect on its own (MODE2 OCH = 0: on the I2C stop). Always-off wins over
    // everything, so writing it first stops the output at the first byte.
    const bool ok =
        value <= 0 ? w(base + 3, off_h) && w(base, 0) && w(base + 1, on_h) && w(base + 2, off_l)
                   : w(base, 0) && w(base + 1, on_h) && w(base + 2, off_l) && w(base + 3, off_h);
    if (ok) written_[index] = value;
    return ok;
}

bool Pca9685Device::open(const DeviceWorker::Outputs& safe, std::string* error) {
    bus_ = open_bus_(error);
    if (!bus_) return false;
    safe_ = safe;
    written_.assign(channels_.size(), kUnknown);
    const auto w = [&](uint8_t reg, uint8_t v) { return bus_->write_byte_data(reg, v, error); };

    bool ok = w(kMode1, kSleep | kAllCall) && w(kPrescale, prescale_);
    uint8_t readback = 0;
    ok = ok && bus_->read_byte_data(kPrescale, &readback, error);
    if (ok && readback != prescale_) {
        *error = "the chip does not keep its PRESCALE (wrote " + hex(prescale_) + ", read " +
                 hex(readback) + "): is it a PCA9685?";
        ok = false;
    }
    ok = ok && w(kMode2, kOutDrv);
    // Registers take writes while the chip sleeps: it wakes with every channel safe.
    for (size_t i = 0; ok && i < channels_.size(); ++i) ok = write_channel(i, safe[i], error);
    ok = ok && w(kMode1, kAutoIncrement | kAllCall);
    if (ok) {
        // The oscillator needs 500 us (datasheet 7.3.1.1); Adafruit's library waits 5 ms.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ok = w(kMode1, kRestart | kAutoIncrement | kAllCall);
    }
    if (!ok) bus_.reset();
    return ok;
}

bool Pca9685Device::apply(const DeviceWorker::Outputs& out, std::string* error) {
    if (!bus_) {
        *error = "not open";
        return false;
    }
    for (const bool going_off : {true, false})
        for (size_t i = 0; i < channels_.size(); ++i)
            if (out[i] != written_[i] && (out[i] <= 0) == going_off &&
                !write_channel(i, out[i], error))
                return false;
    return true;
}

void Pca9685Device::close() {
    if (!bus_) return;
    std::string error;
    apply(safe_, &error);  // stops at the first write the bus does not take
    bus_.reset();
}

std::string describe_pca9685(const std::string& bus, int address) {
    return "PCA9685 at " + hex(address) + " on " + describe_i2c_bus(bus);
}

MapDriver::MakeDevice pca9685_on_i2c(std::string bus, int address, int pwm_freq,
                                     std::string sysfs_root) {
    return [=](const std::vector<int>& channels) -> std::unique_ptr<DeviceWorker::Device> {
        return std::make_unique<Pca9685Device>(channels, pwm_freq, describe_pca9685(bus, address),
                                               [=](std::string* error) -> std::unique_ptr<I2cBus> {
                                                   // Resolved at each open: an adapter's number may
                                                   // change when it comes back.
                                                   const std::string path =
                                                       resolve_i2c_bus(bus, sysfs_root, error);
                                                   if (path.empty()) return nullptr;
                                                   return open_i2c_device(path, address, error);
                                               });
    };
}

std::string check_pca9685_chips(const Config& config) {
    struct Chip {
        const char* type;
        std::string bus;
        int address;
    };
    const Chip chips[] = {
        {"pca9685", describe_i2c_bus(config.pca9685.bus), config.pca9685.address},
        {"motor_hat", describe_i2c_bus(config.motor_hat.bus), config.motor_hat.address},
        {"adafruit_pwm", describe_i2c_bus(config.adafruit_pwm.bus), config.adafruit_pwm.address},
    };
    std::string error;
    const std::vector<std::string> types = driver_names(config.robot.type, &error);
    const auto used = [&](const char* type) {
        return std::find(types.begin(), types.end(), type) != types.end();
    };
    for (size_t i = 0; i < std::size(chips); ++i)
        for (size_t j = i + 1; j < std::size(chips); ++j)
            if (used(chips[i].type) && used(chips[j].type) && chips[i].bus == chips[j].bus &&
                chips[i].address == chips[j].address)
                return std::string("types ") + chips[i].type + " and " + chips[j].type +
                       " both drive the PCA9685 at " + hex(chips[i].address) + " on " +
                       chips[i].bus + ": one chip takes one type (set [" + chips[j].type +
                       "] bus or address)";
    return {};
}

std::string check_pca9685_config(const Config& config) {
    if (std::string why = check_pca9685_chips(config); !why.empty()) return why;
    if (config.pca9685.map.commands.empty())
        return "[pca9685] maps no command: type pca9685 needs at least one, such as "
               "'F = 0=4096 1=0' (CHANNEL=TICKS ...)";
    return {};
}

std::unique_ptr<Driver> make_pca9685_driver(const Config& config, Loop& loop, Logger& log,
                                            std::string*) {
    const Config::Pca9685& c = config.pca9685;
    auto driver =
        std::make_unique<MapDriver>(loop, log, "pca9685", c.map.commands, c.map.safe,
                                    pca9685_on_i2c(c.bus, c.address, c.pwm_freq), c.map.hold);
    driver->start();  // a chip that is not there yet is retried, said in the log
    return driver;
}

}  // namespace robotd
