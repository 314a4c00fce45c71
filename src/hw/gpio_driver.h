// The GPIO drivers: the generic [gpio] map and the reference's l298n, motozero and mdd10
// presets, each a MapDriver whose outputs are GPIO lines (through a pin map or one chip).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "hw/driver.h"
#include "hw/gpio_lines.h"
#include "hw/map_driver.h"
#include "hw/pin_map.h"

namespace robotd {

// What one GPIO driver type drives, from its config sections alone (no hardware).
struct GpioPlan {
    std::vector<OutputCommand> commands;
    std::vector<OutputSet> safe;
    std::vector<int> hold;  // outputs a stop leaves as they are ([gpio] hold)
    std::string chip;       // set: the outputs are this chip's line offsets; else pins
    PinNumbering numbering = PinNumbering::Bcm;
    std::string pin_map;  // [gpio] pin_map: every type's pins go through it
};

// `type` is gpio, l298n, motozero or mdd10. False with `error` for a missing or bad key.
bool gpio_plan(std::string_view type, const Config& config, GpioPlan* plan, std::string* error);

// The line of each output, in order. `map` is needed unless plan.chip is set. False with an
// error naming the pin for a pin the map lacks, or two outputs on one line.
bool gpio_lines_of(const GpioPlan& plan, const std::vector<int>& outputs, const PinMap* map,
                   std::vector<GpioLine>* lines, std::string* error);

// The check for --check-config: the plan, and its pins through the pin map when that map can
// be known here (not for pin_map = auto off the board). Empty when fine.
std::string check_gpio_type(std::string_view type, const Config& config,
                            const std::string& model_path = kDeviceTreeModel);

// The driver, started (its lines are requested off the loop). Null with `error` for a bad
// config or a pin the board's map lacks; a chip that is missing or busy is retried instead.
std::unique_ptr<MapDriver> make_gpio_type(std::string_view type, const Config& config, Loop& loop,
                                          Logger& log, std::shared_ptr<GpioApi> api,
                                          const std::string& model_path, std::string* error);

// For the driver registry (driver.cpp): each type on the real libgpiod.
std::string check_gpio_driver(const Config& config);
std::string check_l298n_driver(const Config& config);
std::string check_motozero_driver(const Config& config);
std::string check_mdd10_driver(const Config& config);
std::unique_ptr<Driver> make_gpio_driver(const Config& c, Loop& loop, Logger& log, std::string* e);
std::unique_ptr<Driver> make_l298n_driver(const Config& c, Loop& loop, Logger& log, std::string* e);
std::unique_ptr<Driver> make_motozero_driver(const Config& c, Loop& loop, Logger& log,
                                             std::string* e);
std::unique_ptr<Driver> make_mdd10_driver(const Config& c, Loop& loop, Logger& log, std::string* e);

}  // namespace robotd
