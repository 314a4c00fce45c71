#include "hw/i2c_bus.h"

#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "core/text.h"
#include "core/unique_fd.h"

namespace robotd {

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string hex(int value) {
    char buf[8];
    snprintf(buf, sizeof buf, "0x%02x", value);
    return buf;
}

class LinuxI2cBus : public I2cBus {
  public:
    LinuxI2cBus(UniqueFd fd, std::string path, int address)
        : fd_(std::move(fd)), path_(std::move(path)), address_(address) {}

    bool write_byte_data(uint8_t reg, uint8_t value, std::string* error) override {
        i2c_smbus_data data{};
        data.byte = value;
        return transfer(I2C_SMBUS_WRITE, reg, &data, "writing", error);
    }

    bool read_byte_data(uint8_t reg, uint8_t* value, std::string* error) override {
        i2c_smbus_data data{};
        if (!transfer(I2C_SMBUS_READ, reg, &data, "reading", error)) return false;
        *value = data.byte;
        return true;
    }

  private:
    bool transfer(uint8_t direction, uint8_t reg, i2c_smbus_data* data, const char* verb,
                  std::string* error) {
        i2c_smbus_ioctl_data args{};
        args.read_write = direction;
        args.command = reg;
        args.size = I2C_SMBUS_BYTE_DATA;
        args.data = data;
        int rc = 0;
        do {
            rc = ioctl(fd_.get(), I2C_SMBUS, &args);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) return true;
        const int e = errno;
        // No acknowledge from the address: the chip is unplugged, unpowered or elsewhere.
        if (e == ENXIO || e == EREMOTEIO)
            *error = "no answer from " + hex(address_) + " on " + path_ + " (" + strerror(e) +
                     "): is the board connected and powered?";
        else
            *error = std::string(verb) + " register " + hex(reg) + " of " + hex(address_) + " on " +
                     path_ + ": " + strerror(e);
        return false;
    }

    UniqueFd fd_;
    std::string path_;
    int address_;
};

std::string read_name(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return std::string(trim(line));
}

}  // namespace

std::string describe_i2c_bus(const std::string& bus) {
    if (all_digits(bus)) return "i2c-" + bus;
    if (bus.rfind("i2c-", 0) == 0 && all_digits(std::string_view(bus).substr(4))) return bus;
    if (!bus.empty() && bus[0] == '/') return bus;
    return "'" + bus + "'";
}

std::string resolve_i2c_bus(const std::string& bus, const std::string& sysfs_root,
                            std::string* error) {
    if (all_digits(bus)) return "/dev/i2c-" + bus;
    if (bus.rfind("i2c-", 0) == 0 && all_digits(std::string_view(bus).substr(4)))
        return "/dev/" + bus;
    if (!bus.empty() && bus[0] == '/') return bus;

    // An adapter's name: the same board may number its buses differently from boot to boot.
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(sysfs_root) / "bus" / "i2c" / "devices";
    std::error_code ec;
    std::vector<std::pair<int, std::string>> adapters;  // number, name
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string entry = it->path().filename().string();
        // Chips on a bus are listed here too ("1-0060"); adapters are "i2c-N".
        if (entry.rfind("i2c-", 0) != 0 || !all_digits(std::string_view(entry).substr(4))) continue;
        adapters.emplace_back(std::stoi(entry.substr(4)), read_name(it->path() / "name"));
    }
    if (ec) {
        *error =
            "no I2C adapter named '" + bus + "': cannot list " + dir.string() + ": " + ec.message();
        return {};
    }
    std::sort(adapters.begin(), adapters.end());
    std::vector<int> found;
    std::string known;
    for (const auto& [number, name] : adapters) {
        if (iequals(name, bus)) found.push_back(number);
        known +=
            (known.empty() ? "" : ", ") + ("i2c-" + std::to_string(number)) + " '" + name + "'";
    }
    if (found.size() == 1) return "/dev/i2c-" + std::to_string(found[0]);
    if (found.empty()) {
        *error = "no I2C adapter named '" + bus +
                 "' (adapters: " + (known.empty() ? "none" : known) + ")";
    } else {
        std::string list;
        for (int n : found) list += (list.empty() ? "i2c-" : ", i2c-") + std::to_string(n);
        *error = "more than one I2C adapter is named '" + bus + "' (" + list +
                 "): name the bus by its number";
    }
    return {};
}

std::unique_ptr<I2cBus> open_i2c_device(const std::string& path, int address, std::string* error) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) {
        const int e = errno;
        *error = path + ": " + strerror(e);
        if (e == ENOENT)
            *error += " (is I2C enabled, and the i2c-dev module loaded?)";
        else if (e == EACCES)
            *error += " (robotd's user needs access to it, e.g. through the i2c group)";
        return nullptr;
    }
    unsigned long funcs = 0;
    if (ioctl(fd.get(), I2C_FUNCS, &funcs) < 0) {
        *error = path + " is not an I2C adapter (" + strerror(errno) + ")";
        return nullptr;
    }
    constexpr unsigned long kNeeded =
        I2C_FUNC_SMBUS_WRITE_BYTE_DATA | I2C_FUNC_SMBUS_READ_BYTE_DATA;
    if ((funcs & kNeeded) != kNeeded) {
        *error = path + " cannot do SMBus byte-data transfers";
        return nullptr;
    }
    // Not I2C_SLAVE_FORCE: a chip a kernel driver owns is not ours to drive.
    if (ioctl(fd.get(), I2C_SLAVE, static_cast<unsigned long>(address)) < 0) {
        const int e = errno;
        *error = e == EBUSY
                     ? "address " + hex(address) + " on " + path + " is in use by a kernel driver"
                     : "addressing " + hex(address) + " on " + path + ": " + strerror(e);
        return nullptr;
    }
    return std::make_unique<LinuxI2cBus>(std::move(fd), path, address);
}

}  // namespace robotd
