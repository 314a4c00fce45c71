// The `adafruit_pwm` type: an RC car on Adafruit's 16-channel PWM board (a PCA9685): ESC on
// channel 0, steering servo on channel 1, a servo on channel 2, as the reference drove them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/output_map.h"
#include "hw/driver.h"

namespace robotd {

constexpr int kAdafruitEscChannel = 0;
constexpr int kAdafruitSteerChannel = 1;
constexpr int kAdafruitServoChannel = 2;

// The reference's commands with their own times: F (ESC forward 0.3 s, slow forward 0.4 s),
// B (backward 0.3 s, slow backward 0.4 s), L/R/BL/BR (steer and ESC forward or backward
// 0.5 s), then neutral; S2INC/S2DEC/POS60/NEG60 (channel 2 to a position, held).
std::vector<OutputCommand> adafruit_pwm_commands(const Config::AdafruitPwm& c);
// ESC and steering neutral; channel 2 without pulses.
std::vector<OutputSet> adafruit_pwm_safe(const Config::AdafruitPwm& c);
// The outputs a stop leaves where they are: the channel 2 servo holds its position, as the
// reference's did.
std::vector<int> adafruit_pwm_hold();

std::string check_adafruit_pwm_config(const Config& config);
std::unique_ptr<Driver> make_adafruit_pwm_driver(const Config& config, Loop& loop, Logger& log,
                                                 std::string* error);

}  // namespace robotd
