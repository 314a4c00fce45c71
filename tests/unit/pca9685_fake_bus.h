// A recording stand-in for a PCA9685 on an I2C bus, named as the fake it is: it takes the
// place of Linux's I2C_SMBUS ioctl (hw/i2c_bus.h), keeps a register file as i2c-stub does,
// logs every transfer for tests to read, and scripts a chip that stops answering.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "hw/i2c_bus.h"
#include "hw/pca9685.h"

namespace robotd {

// What the device did on the bus, shared with the test (the worker thread writes it).
struct BusScript {
    struct Write {
        uint8_t reg;
        uint8_t value;
        int64_t at_us;  // mono_us() when written
    };
    std::mutex m;
    std::vector<std::string> log;  // "open", "w 00=11", "r fe", "open failed", "w 06 failed"
    std::vector<Write> writes;
    std::array<uint8_t, 256> regs{};
    int opens = 0;
    int fail_opens = 0;              // the next N opens fail
    int writes_before_failure = -1;  // this many more writes succeed, then ...
    int failing_writes = 0;          // ... this many fail (the chip does not answer)
    bool prescale_kept = true;       // false: reads of PRESCALE give 0 (not a PCA9685)

    std::vector<std::string> snapshot() {
        std::lock_guard<std::mutex> l(m);
        return log;
    }
    size_t size() {
        std::lock_guard<std::mutex> l(m);
        return log.size();
    }
    // A channel's value as its four registers hold it: 0 always off, 4096 always on, else
    // the OFF count (the ON count is always 0 here).
    int32_t channel(int ch) {
        std::lock_guard<std::mutex> l(m);
        const size_t base = pca9685::kLed0OnL + 4 * ch;
        if (regs[base + 3] & pca9685::kFullBit) return 0;
        if (regs[base + 1] & pca9685::kFullBit) return pca9685::kFullOn;
        return regs[base + 2] | ((regs[base + 3] & 0x0F) << 8);
    }
    std::vector<int32_t> channels(const std::vector<int>& chs) {
        std::vector<int32_t> out;
        for (int ch : chs) out.push_back(channel(ch));
        return out;
    }
};

inline std::string bus_entry(const char* what, uint8_t reg, int value = -1) {
    char buf[32];
    if (value < 0)
        snprintf(buf, sizeof buf, "%s %02x", what, reg);
    else
        snprintf(buf, sizeof buf, "%s %02x=%02x", what, reg, value);
    return buf;
}

class FakeRecordingBus : public I2cBus {
  public:
    explicit FakeRecordingBus(std::shared_ptr<BusScript> s) : s_(std::move(s)) {}

    bool write_byte_data(uint8_t reg, uint8_t value, std::string* error) override {
        std::lock_guard<std::mutex> l(s_->m);
        if (s_->writes_before_failure == 0 && s_->failing_writes > 0) {
            --s_->failing_writes;
            s_->log.push_back(bus_entry("w", reg) + " failed");
            *error = "no answer from 0x60 on /dev/i2c-1 (Remote I/O error)";
            return false;
        }
        if (s_->writes_before_failure > 0) --s_->writes_before_failure;
        s_->regs[reg] = value;
        s_->writes.push_back({reg, value, mono_us()});
        s_->log.push_back(bus_entry("w", reg, value));
        return true;
    }
    bool read_byte_data(uint8_t reg, uint8_t* value, std::string*) override {
        std::lock_guard<std::mutex> l(s_->m);
        *value = reg == pca9685::kPrescale && !s_->prescale_kept ? 0 : s_->regs[reg];
        s_->log.push_back(bus_entry("r", reg));
        return true;
    }

  private:
    std::shared_ptr<BusScript> s_;
};

// Opens a FakeRecordingBus on `s` (or fails, as scripted): a Pca9685Device's OpenBus.
inline Pca9685Device::OpenBus fake_bus_opener(std::shared_ptr<BusScript> s) {
    return [s](std::string* error) -> std::unique_ptr<I2cBus> {
        std::lock_guard<std::mutex> l(s->m);
        ++s->opens;
        if (s->fail_opens > 0) {
            --s->fail_opens;
            s->log.push_back("open failed");
            *error = "/dev/i2c-1: No such file or directory";
            return nullptr;
        }
        s->log.push_back("open");
        return std::make_unique<FakeRecordingBus>(s);
    };
}

// What the device writes for one channel: always-off first when it goes off, else in order.
inline std::vector<std::string> channel_writes(int ch, int32_t value) {
    const uint8_t base = uint8_t(pca9685::kLed0OnL + 4 * ch);
    if (value <= 0)
        return {bus_entry("w", base + 3, 0x10), bus_entry("w", base, 0),
                bus_entry("w", base + 1, 0), bus_entry("w", base + 2, 0)};
    if (value >= pca9685::kFullOn)
        return {bus_entry("w", base, 0), bus_entry("w", base + 1, 0x10),
                bus_entry("w", base + 2, 0), bus_entry("w", base + 3, 0)};
    return {bus_entry("w", base, 0), bus_entry("w", base + 1, 0),
            bus_entry("w", base + 2, value & 0xFF), bus_entry("w", base + 3, value >> 8)};
}

// The whole set-up the device writes at each open, `safe` being each of `channels`' value.
inline std::vector<std::string> init_writes(uint8_t prescale, const std::vector<int>& channels,
                                            const std::vector<int32_t>& safe) {
    std::vector<std::string> out = {"open", "w 00=11", bus_entry("w", 0xFE, prescale), "r fe",
                                    "w 01=04"};
    for (size_t i = 0; i < channels.size(); ++i)
        for (const std::string& w : channel_writes(channels[i], safe[i])) out.push_back(w);
    out.push_back("w 00=21");
    out.push_back("w 00=a1");
    return out;
}

}  // namespace robotd
