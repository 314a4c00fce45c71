// Linux I2C through i2c-dev: one chip's registers, one SMBus byte-data transfer at a time (as
// Adafruit's own PCA9685 library does, and as the kernel's i2c-stub emulates), bus found by name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace robotd {

// One chip on an I2C bus, register by register: the boundary tests replace with a fake.
// Calls block as long as the bus takes (run them off the loop).
class I2cBus {
  public:
    virtual ~I2cBus() = default;
    // SMBus "write byte data": `value` into register `reg`. False with `error` set.
    virtual bool write_byte_data(uint8_t reg, uint8_t value, std::string* error) = 0;
    // SMBus "read byte data".
    virtual bool read_byte_data(uint8_t reg, uint8_t* value, std::string* error) = 0;
};

// The /dev path of `bus`: a number ("1"), "i2c-1", a path ("/dev/i2c-1", as it is), or an
// adapter's name as <sysfs_root>/bus/i2c/devices/i2c-N/name shows it ("SMBus stub driver",
// case-insensitive). Empty with `error` set when no adapter, or more than one, has that name.
std::string resolve_i2c_bus(const std::string& bus, const std::string& sysfs_root,
                            std::string* error);

// How the log names `bus` before it is resolved: "i2c-1", "/dev/i2c-1", "'SMBus stub driver'".
std::string describe_i2c_bus(const std::string& bus);

// The chip at `address` on the i2c-dev node `path`, through Linux's I2C_SMBUS ioctl. Null with
// `error` set (one line, with a hint for the owner) when the node cannot be opened, is no I2C
// adapter, cannot do byte-data transfers, or the address is claimed by a kernel driver.
std::unique_ptr<I2cBus> open_i2c_device(const std::string& path, int address, std::string* error);

}  // namespace robotd
