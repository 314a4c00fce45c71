#include "hw/driver.h"

#include "hw/none_driver.h"
#include "hw/pipe_driver.h"
#include "hw/serial_driver.h"

namespace robotd {

bool driver_type_supported(std::string_view type) {
    for (const std::string_view known : kDriverTypes)
        if (type == known) return true;
    return false;
}

std::string driver_types_text() {
    std::string out;
    for (const std::string_view known : kDriverTypes) {
        if (!out.empty()) out += ", ";
        out += known;
    }
    return out;
}

std::unique_ptr<Driver> make_driver(const Config& config, Loop& loop, Logger& log,
                                    std::string* error) {
    const std::string& type = config.robot.type;
    if (type == "none") return std::make_unique<NoneDriver>(log);
    if (type == "pipe") {
        auto driver = std::make_unique<PipeDriver>(config.pipe, loop, log);
        if (!driver->start(error)) return nullptr;
        return driver;
    }
    if (type == "serial_board" || type == "serial") {
        auto driver = std::make_unique<SerialDriver>(config.serial, loop, log);
        driver->start();
        return driver;
    }
    *error = "unknown robot type '" + type + "' (supported: " + driver_types_text() + ")";
    return nullptr;
}

}  // namespace robotd
