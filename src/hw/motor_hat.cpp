#include "hw/motor_hat.h"

#include <ctime>

#include "core/text.h"
#include "hw/pca9685.h"

namespace robotd {

namespace {

constexpr int kHalfSpeed = 128;  // the reference's speed for a direction of 0.5 or -0.5

std::string sets_text(const std::vector<OutputSet>& sets) {
    std::string out;
    for (const OutputSet& s : sets)
        out += (out.empty() ? "" : " ") + std::to_string(s.output) + "=" + std::to_string(s.value);
    return out;
}

OutputCommand motors(const char* name, const std::vector<double>& directions, double sign,
                     int speed) {
    OutputStep step;
    for (size_t m = 0; m < 4; ++m) {
        const MotorHatChannels& ch = kMotorHatMotors[m];
        const double dir = m < directions.size() ? directions[m] * sign : 0;
        const int duty = dir == 0 ? 0 : (dir == 1 || dir == -1 ? speed : kHalfSpeed) * 16;
        step.sets.push_back({ch.pwm, duty});
        step.sets.push_back({ch.in1, dir > 0 ? pca9685::kFullOn : 0});
        step.sets.push_back({ch.in2, dir < 0 ? pca9685::kFullOn : 0});
    }
    OutputCommand c;
    c.command = name;
    c.text = sets_text(step.sets);
    c.steps.push_back(std::move(step));  // no time: Motion's straight_delay/turn_delay end it
    return c;
}

}  // namespace

std::vector<OutputCommand> motor_hat_commands(const Config::MotorHat& c, int drive_speed) {
    return {motors("F", c.forward, 1, drive_speed), motors("B", c.forward, -1, drive_speed),
            motors("L", c.left, 1, c.turning_speed), motors("R", c.left, -1, c.turning_speed)};
}

std::vector<OutputSet> motor_hat_safe() {
    std::vector<OutputSet> safe;
    for (const MotorHatChannels& ch : kMotorHatMotors)
        for (const int channel : {ch.pwm, ch.in1, ch.in2}) safe.push_back({channel, 0});
    return safe;
}

bool motor_hat_night(int seconds_of_day) {
    constexpr int kNightFrom = (21 * 60 + 30) * 60;
    constexpr int kNightUntil = (9 * 60 + 30) * 60;
    return seconds_of_day >= kNightFrom || seconds_of_day <= kNightUntil;
}

int local_seconds_of_day() {
    const time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    return (local.tm_hour * 60 + local.tm_min) * 60 + local.tm_sec;
}

MotorHatDriver::MotorHatDriver(Loop& loop, Logger& log, const Config::MotorHat& c,
                               const MakeDevice& device, Clock clock, RetryRules reopen)
    : MapDriver(loop, log, "motor_hat", motor_hat_commands(c, c.day_speed), motor_hat_safe(),
                device, {}, reopen),
      night_(motor_hat_commands(c, c.night_speed)),
      clock_(std::move(clock)) {}

const OutputCommand* MotorHatDriver::find(std::string_view command) const {
    if (!motor_hat_night(clock_())) return MapDriver::find(command);
    for (const OutputCommand& c : night_)
        if (iequals(c.command, command)) return &c;
    return nullptr;
}

std::string check_motor_hat_config(const Config& config) {
    return check_pca9685_chips(config);  // every key is range-checked as it is read
}

std::unique_ptr<Driver> make_motor_hat_driver(const Config& config, Loop& loop, Logger& log,
                                              std::string*) {
    const Config::MotorHat& c = config.motor_hat;
    auto driver = std::make_unique<MotorHatDriver>(
        loop, log, c, pca9685_on_i2c(c.bus, c.address, kMotorHatPwmFreq));
    driver->start();  // a HAT that is not there yet is retried, said in the log
    return driver;
}

}  // namespace robotd
