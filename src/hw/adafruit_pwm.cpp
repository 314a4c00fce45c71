#include "hw/adafruit_pwm.h"

#include <cstdio>

#include "hw/map_driver.h"
#include "hw/pca9685.h"

namespace robotd {

namespace {

std::string seconds_text(uint32_t ms) {
    char buf[32];
    snprintf(buf, sizeof buf, "%g", ms / 1000.0);
    return buf;
}

OutputCommand command(const char* name, std::vector<OutputStep> steps) {
    OutputCommand c;
    c.command = name;
    for (const OutputStep& step : steps) {
        if (!c.text.empty()) c.text += " then ";
        for (size_t i = 0; i < step.sets.size(); ++i)
            c.text += (i ? " " : "") + std::to_string(step.sets[i].output) + "=" +
                      std::to_string(step.sets[i].value);
        if (step.ms) c.text += " for " + seconds_text(step.ms);
    }
    c.steps = std::move(steps);
    return c;
}

}  // namespace

std::vector<OutputCommand> adafruit_pwm_commands(const Config::AdafruitPwm& c) {
    constexpr int esc = kAdafruitEscChannel, steer = kAdafruitSteerChannel,
                  servo = kAdafruitServoChannel;
    // After the last timed step MapDriver sets everything safe: ESC and steering neutral.
    return {
        command("F", {{{{esc, c.esc_forward}}, 300}, {{{esc, c.esc_slow_forward}}, 400}}),
        command("B", {{{{esc, c.esc_backward}}, 300}, {{{esc, c.esc_slow_backward}}, 400}}),
        command("L", {{{{steer, c.steer_left}, {esc, c.esc_forward}}, 500}}),
        command("R", {{{{steer, c.steer_right}, {esc, c.esc_forward}}, 500}}),
        command("BL", {{{{steer, c.steer_left}, {esc, c.esc_backward}}, 500}}),
        command("BR", {{{{steer, c.steer_right}, {esc, c.esc_backward}}, 500}}),
        // A servo holds its position (the reference's did): no time, and a held output.
        command("S2INC", {{{{servo, c.s2inc}}, 0}}),
        command("S2DEC", {{{{servo, c.s2dec}}, 0}}),
        command("POS60", {{{{servo, c.pos60}}, 0}}),
        command("NEG60", {{{{servo, c.neg60}}, 0}}),
    };
}

std::vector<OutputSet> adafruit_pwm_safe(const Config::AdafruitPwm& c) {
    return {{kAdafruitEscChannel, c.esc_neutral},
            {kAdafruitSteerChannel, c.steer_neutral},
            {kAdafruitServoChannel, 0}};
}

std::vector<int> adafruit_pwm_hold() {
    return {kAdafruitServoChannel};
}

std::string check_adafruit_pwm_config(const Config& config) {
    return check_pca9685_chips(config);  // every key is range-checked as it is read
}

std::unique_ptr<Driver> make_adafruit_pwm_driver(const Config& config, Loop& loop, Logger& log,
                                                 std::string*) {
    const Config::AdafruitPwm& c = config.adafruit_pwm;
    auto driver = std::make_unique<MapDriver>(
        loop, log, "adafruit_pwm", adafruit_pwm_commands(c), adafruit_pwm_safe(c),
        pca9685_on_i2c(c.bus, c.address, c.pwm_freq), std::vector<int>{kAdafruitServoChannel});
    driver->start();  // a board that is not there yet is retried, said in the log
    return driver;
}

}  // namespace robotd
