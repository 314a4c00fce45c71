#include "hw/gpio_driver.h"

#include <cmath>
#include <map>

#include "core/text.h"
#include "hw/gpio_device.h"

namespace robotd {

namespace {

// One step: `high` pins at 1 for `seconds`, then (MapDriver) every output safe. `seconds` of
// 0 holds until the next stop, which is Motion's dead-man for F/B/L/R.
OutputCommand drive(const char* command, const std::vector<int>& high, double seconds) {
    OutputCommand c;
    c.command = command;
    OutputStep step;
    for (int pin : high) {
        step.sets.push_back({pin, 1});
        c.text += (c.text.empty() ? "" : " ") + std::to_string(pin) + "=1";
    }
    step.ms = uint32_t(std::lround(seconds * 1000));
    if (step.ms != 0) {
        char s[32];
        snprintf(s, sizeof s, " for %g", seconds);
        c.text += s;
    }
    c.steps.push_back(std::move(step));
    return c;
}

// The reference's l298n.py: each command's BOARD pins high for sleeptime (turns: sleeptime *
// rotatetimes), then low. Not kept: its lines were left as they were on exit or error.
bool l298n_plan(const Config::L298n& l, GpioPlan* plan, std::string* error) {
    const double turn = l.sleeptime * l.rotatetimes;
    if (!(turn >= 0.001 && turn <= 60)) {
        char text[96];
        snprintf(text, sizeof text,
                 "[l298n] sleeptime * rotatetimes is %g s: a turn must last 0.001..60 s", turn);
        *error = text;
        return false;
    }
    const struct {
        const char* key;
        const std::vector<int>& pins;
        const char* command;
        double seconds;
        const char* example;
    } keys[] = {{"StepPinForward", l.forward, "F", l.sleeptime, "12,16"},
                {"StepPinBackward", l.backward, "B", l.sleeptime, "11,15"},
                {"StepPinLeft", l.left, "L", turn, "15,12"},
                {"StepPinRight", l.right, "R", turn, "11,16"}};
    for (const auto& k : keys) {
        if (k.pins.empty()) {
            *error = std::string("[l298n] ") + k.key + " is not set (the BOARD pins " + k.command +
                     " drives, e.g. " + k.example + ")";
            return false;
        }
        plan->commands.push_back(drive(k.command, k.pins, k.seconds));
    }
    plan->numbering = PinNumbering::Board;
    return true;
}

// The reference's motozero.py patterns (BCM); A is a motor's reverse input, B its forward
// one, and its motor 3 runs the other way round. Each command also drives the four enables
// and lasts MotorDelay; then everything, enables too (the reference left those high), is low.
bool motozero_plan(const Config::Motozero& m, GpioPlan* plan, std::string* error) {
    static const char* const kParts[] = {"A", "B", "Enable"};
    const auto pin = [&](int motor, int part) {
        const Config::Motozero::Motor& x = m.motors[size_t(motor - 1)];
        return part == 0 ? x.a : part == 1 ? x.b : x.enable;
    };
    const auto key = [&](int motor, int part) {
        return "Motor" + std::to_string(motor) + kParts[part];
    };
    std::map<int, std::string> used;  // pin -> the key that names it
    for (int motor = 1; motor <= 4; ++motor) {
        for (int part = 0; part < 3; ++part) {
            const int p = pin(motor, part);
            if (p < 0) {
                *error = "[motozero] " + key(motor, part) + " is not set (a BCM pin number)";
                return false;
            }
            if (const auto [it, fresh] = used.emplace(p, key(motor, part)); !fresh) {
                *error = "[motozero] " + it->second + " and " + key(motor, part) +
                         " are both BCM pin " + std::to_string(p);
                return false;
            }
        }
    }
    constexpr int A = 0, B = 1;
    const struct {
        const char* command;
        int parts[4][2];  // {motor, part}
    } patterns[] = {{"F", {{1, B}, {2, B}, {3, A}, {4, B}}},
                    {"B", {{1, A}, {2, A}, {3, B}, {4, A}}},
                    {"L", {{3, B}, {1, A}, {2, B}, {4, B}}},
                    {"R", {{3, A}, {1, B}, {2, A}, {4, A}}}};
    for (const auto& p : patterns) {
        std::vector<int> high;
        for (const auto& mp : p.parts) high.push_back(pin(mp[0], mp[1]));
        for (int motor = 1; motor <= 4; ++motor) high.push_back(pin(motor, 2));
        plan->commands.push_back(drive(p.command, high, m.motor_delay));
    }
    plan->numbering = PinNumbering::Bcm;
    return true;
}

// The Cytron MDD10 as the reference's mdd10.py wired it (BCM): AN1 12 and AN2 13 set the
// speed, at full duty here (the reference's PWM duty came from a variable it never set);
// DIG1 26 and DIG2 24 the direction. No pulse of its own: Motion's straight/turn delays.
void mdd10_plan(GpioPlan* plan) {
    constexpr int kAn1 = 12, kAn2 = 13, kDig1 = 26, kDig2 = 24;
    const auto cmd = [](const char* name, int dig1, int dig2) {
        OutputCommand c = drive(name, {kAn1, kAn2}, 0);
        c.steps[0].sets.push_back({kDig1, dig1});
        c.steps[0].sets.push_back({kDig2, dig2});
        c.text += " " + std::to_string(kDig1) + "=" + std::to_string(dig1) + " " +
                  std::to_string(kDig2) + "=" + std::to_string(dig2);
        return c;
    };
    plan->commands = {cmd("F", 0, 0), cmd("B", 1, 1), cmd("L", 0, 1), cmd("R", 1, 0)};
    plan->numbering = PinNumbering::Bcm;
}

// Every output the plan names, once.
std::vector<int> outputs_of(const GpioPlan& plan) {
    std::vector<int> out;
    const auto use = [&](int o) {
        if (std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
    };
    for (const OutputSet& s : plan.safe) use(s.output);
    for (const int h : plan.hold) use(h);
    for (const OutputCommand& c : plan.commands)
        for (const OutputStep& step : c.steps)
            for (const OutputSet& s : step.sets) use(s.output);
    return out;
}

std::string numbers(const std::vector<int>& list) {
    std::string out;
    for (int n : list) out += (out.empty() ? "" : ",") + std::to_string(n);
    return out;
}

}  // namespace

bool gpio_plan(std::string_view type, const Config& config, GpioPlan* plan, std::string* error) {
    *plan = GpioPlan{};
    plan->pin_map = config.gpio.pin_map;
    if (type == "gpio") {
        if (config.gpio.map.commands.empty()) {
            *error = "[gpio] maps no command (add one, e.g. F = 17=1 27=0 for 0.3)";
            return false;
        }
        plan->commands = config.gpio.map.commands;
        plan->safe = config.gpio.map.safe;
        plan->hold = config.gpio.map.hold;
        plan->chip = config.gpio.chip;
        plan->numbering =
            config.gpio.numbering == "board" ? PinNumbering::Board : PinNumbering::Bcm;
        return true;
    }
    if (type == "l298n") return l298n_plan(config.l298n, plan, error);
    if (type == "motozero") return motozero_plan(config.motozero, plan, error);
    if (type == "mdd10") {
        mdd10_plan(plan);
        return true;
    }
    *error = "not a GPIO driver type: " + std::string(type);
    return false;
}

bool gpio_lines_of(const GpioPlan& plan, const std::vector<int>& outputs, const PinMap* map,
                   std::vector<GpioLine>* lines, std::string* error) {
    lines->clear();
    for (int output : outputs) {
        GpioLine line;
        if (!plan.chip.empty()) {
            line = GpioLine{plan.chip, unsigned(output)};
        } else if (!map || !map->find(plan.numbering, output, &line, error)) {
            if (!map) *error = "no pin map";
            return false;
        }
        for (size_t i = 0; i < lines->size(); ++i) {
            if ((*lines)[i] == line) {
                *error = "pins " + std::to_string(outputs[i]) + " and " + std::to_string(output) +
                         " are both " + line.chip + " line " + std::to_string(line.line);
                return false;
            }
        }
        lines->push_back(std::move(line));
    }
    return true;
}

std::string check_gpio_type(std::string_view type, const Config& config,
                            const std::string& model_path) {
    GpioPlan plan;
    std::string error;
    if (!gpio_plan(type, config, &plan, &error)) return error;
    if (!plan.chip.empty() || !pin_map_knowable(plan.pin_map, model_path)) return {};
    PinMap map;
    std::vector<GpioLine> lines;
    if (!load_pin_map(plan.pin_map, model_path, &map, &error) ||
        !gpio_lines_of(plan, outputs_of(plan), &map, &lines, &error))
        return std::string(type) + ": " + error;
    return {};
}

std::unique_ptr<MapDriver> make_gpio_type(std::string_view type, const Config& config, Loop& loop,
                                          Logger& log, std::shared_ptr<GpioApi> api,
                                          const std::string& model_path, std::string* error) {
    GpioPlan plan;
    if (!gpio_plan(type, config, &plan, error)) return nullptr;
    PinMap map;
    if (plan.chip.empty() && !load_pin_map(plan.pin_map, model_path, &map, error)) return nullptr;
    const std::vector<int> outputs = outputs_of(plan);
    std::vector<GpioLine> lines;
    if (!gpio_lines_of(plan, outputs, plan.chip.empty() ? &map : nullptr, &lines, error))
        return nullptr;
    std::map<int, GpioLine> line_of;
    for (size_t i = 0; i < outputs.size(); ++i) line_of[outputs[i]] = lines[i];

    const std::string name(type);
    if (plan.chip.empty())
        LOGI(log, name.c_str(), "%s pins %s through pin map %s", numbering_name(plan.numbering),
             numbers(outputs).c_str(), map.name().c_str());
    auto driver = std::make_unique<MapDriver>(
        loop, log, name, plan.commands, plan.safe,
        [&](const std::vector<int>& used) -> std::unique_ptr<DeviceWorker::Device> {
            std::vector<GpioLine> device_lines;
            for (int o : used) device_lines.push_back(line_of.at(o));
            return std::make_unique<GpioDevice>(api, std::move(device_lines));
        },
        plan.hold);
    driver->start();
    return driver;
}

std::string check_gpio_driver(const Config& c) {
    return check_gpio_type("gpio", c);
}
std::string check_l298n_driver(const Config& c) {
    return check_gpio_type("l298n", c);
}
std::string check_motozero_driver(const Config& c) {
    return check_gpio_type("motozero", c);
}
std::string check_mdd10_driver(const Config& c) {
    return check_gpio_type("mdd10", c);
}

std::unique_ptr<Driver> make_gpio_driver(const Config& c, Loop& loop, Logger& log, std::string* e) {
    return make_gpio_type("gpio", c, loop, log, libgpiod_api(), kDeviceTreeModel, e);
}
std::unique_ptr<Driver> make_l298n_driver(const Config& c, Loop& loop, Logger& log,
                                          std::string* e) {
    return make_gpio_type("l298n", c, loop, log, libgpiod_api(), kDeviceTreeModel, e);
}
std::unique_ptr<Driver> make_motozero_driver(const Config& c, Loop& loop, Logger& log,
                                             std::string* e) {
    return make_gpio_type("motozero", c, loop, log, libgpiod_api(), kDeviceTreeModel, e);
}
std::unique_ptr<Driver> make_mdd10_driver(const Config& c, Loop& loop, Logger& log,
                                          std::string* e) {
    return make_gpio_type("mdd10", c, loop, log, libgpiod_api(), kDeviceTreeModel, e);
}

}  // namespace robotd
