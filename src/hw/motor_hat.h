// The `motor_hat` type: Adafruit's DC & Stepper Motor HAT (a PCA9685 driving four TB6612
// bridges) from the reference's [motor_hat] keys, with its day and night speeds.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/output_map.h"
#include "hw/driver.h"
#include "hw/map_driver.h"

namespace robotd {

// Adafruit's motor HAT: address, PWM frequency and each motor's channels, as its Python
// library (Adafruit_MotorHAT_Motors.py) has them.
struct MotorHatChannels {
    int pwm, in1, in2;
};
constexpr MotorHatChannels kMotorHatMotors[4] = {
    {8, 10, 9},    // M1
    {13, 11, 12},  // M2
    {2, 4, 3},     // M3
    {7, 5, 6},     // M4
};
constexpr int kMotorHatPwmFreq = 1600;

// F, B, L and R for `c`, with F and B at `drive_speed` (the day or the night one): per motor
// (Adafruit's run() and setSpeed()) forward = IN1 on, IN2 off; backward = IN1 off, IN2 on;
// the PWM channel at speed * 16 ticks (0.5 and -0.5: speed 128, as the reference).
std::vector<OutputCommand> motor_hat_commands(const Config::MotorHat& c, int drive_speed);
// Every motor released (IN1 and IN2 off) and its PWM channel off.
std::vector<OutputSet> motor_hat_safe();

// The reference drove slower from 21:30 to 9:30 local time (both included).
bool motor_hat_night(int seconds_of_day);
int local_seconds_of_day();

// MapDriver with two maps: the speed of F and B follows the local time of each command.
class MotorHatDriver : public MapDriver {
  public:
    using Clock = std::function<int()>;  // seconds since local midnight

    MotorHatDriver(Loop& loop, Logger& log, const Config::MotorHat& c, const MakeDevice& device,
                   Clock clock = local_seconds_of_day, RetryRules reopen = {200, 10000, 5000});

  protected:
    const OutputCommand* find(std::string_view command) const override;

  private:
    std::vector<OutputCommand> night_;
    Clock clock_;
};

std::string check_motor_hat_config(const Config& config);
std::unique_ptr<Driver> make_motor_hat_driver(const Config& config, Loop& loop, Logger& log,
                                              std::string* error);

}  // namespace robotd
