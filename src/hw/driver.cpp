#include "hw/driver.h"

#include "hw/none_driver.h"
#include "hw/pipe_driver.h"

namespace robotd {

std::unique_ptr<Driver> make_driver(const Config& config, Loop& loop, Logger& log,
                                    std::string* error) {
    const std::string& type = config.robot.type;
    if (type == "none") return std::make_unique<NoneDriver>(log);
    if (type == "pipe") {
        auto driver = std::make_unique<PipeDriver>(config.pipe, loop, log);
        if (!driver->start(error)) return nullptr;
        return driver;
    }
    *error = "unknown robot type '" + type + "' (supported: none, pipe)";
    return nullptr;
}

}  // namespace robotd
