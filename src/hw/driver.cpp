#include "hw/driver.h"

#include <algorithm>

#include "core/text.h"
#include "hw/adafruit_pwm.h"
#include "hw/gpio_driver.h"
#include "hw/motor_hat.h"
#include "hw/mqtt_driver.h"
#include "hw/multi_driver.h"
#include "hw/none_driver.h"
#include "hw/pca9685.h"
#include "hw/pipe_driver.h"
#include "hw/serial_driver.h"

namespace robotd {

namespace {

// One entry per driver: its `[robot] type` name, the checks of its config sections that need
// no hardware, and how to start it.
struct DriverType {
    std::string_view name;
    std::string (*check)(const Config&);  // "" when fine
    std::unique_ptr<Driver> (*make)(const Config&, Loop&, Logger&, std::string* error);
};

std::string no_check(const Config&) {
    return {};
}

const DriverType kDriverTypes[] = {
    {"none", no_check,
     [](const Config&, Loop&, Logger& log, std::string*) -> std::unique_ptr<Driver> {
         return std::make_unique<NoneDriver>(log);
     }},
    {"pipe", no_check,
     [](const Config& config, Loop& loop, Logger& log,
        std::string* error) -> std::unique_ptr<Driver> {
         auto driver = std::make_unique<PipeDriver>(config.pipe, loop, log);
         if (!driver->start(error)) return nullptr;
         return driver;
     }},
    {"pca9685", check_pca9685_config, make_pca9685_driver},
    {"motor_hat", check_motor_hat_config, make_motor_hat_driver},
    {"adafruit_pwm", check_adafruit_pwm_config, make_adafruit_pwm_driver},
    {"gpio", check_gpio_driver, make_gpio_driver},
    {"l298n", check_l298n_driver, make_l298n_driver},
    {"motozero", check_motozero_driver, make_motozero_driver},
    {"mdd10", check_mdd10_driver, make_mdd10_driver},
    {"mqtt_pub",
     [](const Config& config) -> std::string {
         if (config.mqtt_pub.host.empty())
             return "[mqtt_pub] host is required for type mqtt_pub (the broker's name or address)";
         if (config.mqtt_pub.topic.empty())
             return "[mqtt_pub] topic is required for type mqtt_pub (where commands are published)";
         return mqtt_connect_error(config.mqtt_pub, mqtt_client_id(config));
     },
     [](const Config& config, Loop& loop, Logger& log,
        std::string* error) -> std::unique_ptr<Driver> {
         auto driver =
             std::make_unique<MqttDriver>(config.mqtt_pub, mqtt_client_id(config), loop, log);
         if (!driver->start(error)) return nullptr;
         return driver;
     }},
    {"serial_board", no_check,
     [](const Config& config, Loop& loop, Logger& log, std::string*) -> std::unique_ptr<Driver> {
         // A board that is not plugged in yet is retried, said in the log: not a start error.
         auto driver = std::make_unique<SerialDriver>(config.serial, loop, log);
         driver->start();
         return driver;
     }},
};

// Other names the reference client's configs use for the same driver.
struct Alias {
    std::string_view alias;
    std::string_view name;
};
constexpr Alias kAliases[] = {{"serial", "serial_board"}};

const DriverType* find_type(std::string_view name) {
    for (const Alias& a : kAliases)
        if (a.alias == name) name = a.name;
    for (const DriverType& t : kDriverTypes)
        if (t.name == name) return &t;
    return nullptr;
}

}  // namespace

std::string driver_types_text() {
    std::string out;
    for (const DriverType& t : kDriverTypes) {
        if (!out.empty()) out += ", ";
        out += t.name;
        for (const Alias& a : kAliases)
            if (a.name == t.name) out += " (or " + std::string(a.alias) + ")";
    }
    return out;
}

std::vector<std::string> driver_names(const std::string& type, std::string* error) {
    std::vector<std::string> names;
    std::string_view rest = type;
    while (true) {
        const size_t comma = rest.find(',');
        const std::string item(trim(rest.substr(0, comma)));
        const DriverType* t = find_type(item);
        if (item.empty()) {
            *error = "[robot] type '" + type +
                     "' names no driver (supported: " + driver_types_text() + ")";
            return {};
        }
        if (!t) {
            *error = "[robot] type '" + item +
                     "' is not supported by this version (supported: " + driver_types_text() + ")";
            return {};
        }
        if (std::find(names.begin(), names.end(), t->name) != names.end()) {
            *error = "[robot] type names '" + std::string(t->name) + "' twice";
            return {};
        }
        names.emplace_back(t->name);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return names;
}

std::string check_driver_config(const Config& config) {
    std::string error;
    const std::vector<std::string> names = driver_names(config.robot.type, &error);
    if (names.empty()) return error;
    for (const std::string& name : names)
        if (std::string why = find_type(name)->check(config); !why.empty()) return why;
    return {};
}

std::unique_ptr<Driver> make_driver(const Config& config, Loop& loop, Logger& log,
                                    std::string* error) {
    if (std::string why = check_driver_config(config); !why.empty()) {
        *error = why;
        return nullptr;
    }
    std::vector<std::unique_ptr<Driver>> drivers;
    for (const std::string& name : driver_names(config.robot.type, error)) {
        auto driver = find_type(name)->make(config, loop, log, error);
        if (!driver) {
            *error = name + ": " + *error;
            return nullptr;  // the ones started so far stop their outputs as they go
        }
        drivers.push_back(std::move(driver));
    }
    if (drivers.size() == 1) return std::move(drivers.front());
    return std::make_unique<MultiDriver>(std::move(drivers));
}

}  // namespace robotd
