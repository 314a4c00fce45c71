// Charge sensing: the charger's input line watched through its edge events on the loop (the
// line request's fd, no polling thread), debounced, and reported at each change and on a timer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/log.h"
#include "hw/gpio_lines.h"
#include "hw/pin_map.h"
#include "net/loop.h"
#include "net/retry_timer.h"
#include "net/writable_watch.h"

namespace robotd {

// One input line. Its level counts once it has held `debounce_ms` since the last edge; each
// settled change (and the first level read) goes to `changed`. A line that cannot be had or
// goes away is one error line, then it is asked for again on the retry policy's backoff (a
// summary line now and then): the robot runs on without it meanwhile.
class ChargeSensor {
  public:
    struct Settings {
        GpioLine line;
        bool active_high = true;
        uint32_t debounce_ms = 50;
    };
    ChargeSensor(Loop& loop, Logger& log, std::shared_ptr<GpioApi> api, Settings settings,
                 std::function<void(bool charging)> changed);
    ~ChargeSensor();
    ChargeSensor(const ChargeSensor&) = delete;
    ChargeSensor& operator=(const ChargeSensor&) = delete;

    // Requests the line on a thread of its own (a chip lookup and ioctls, which may be slow,
    // never run on the loop); the watch starts on the loop once it has it.
    void start();
    std::optional<bool> charging() const { return settled_; }
    bool watching() const { return input_ != nullptr; }

  private:
    struct Pending;
    void collect();
    void readable();
    void settle();
    void stop_sensing();
    // Sensing off, the line asked for again later; `what` follows the line's name in the log
    // (": why", " lost: why").
    void failed(const std::string& what);

    Loop& loop_;
    Logger& log_;
    std::shared_ptr<GpioApi> api_;
    Settings settings_;
    std::string what_;  // "robotd-sim line 5"
    std::function<void(bool)> changed_;
    std::shared_ptr<Pending> pending_;
    uint64_t wake_id_ = 0;
    std::unique_ptr<GpioInput> input_;
    WritableWatch watch_;
    Timer debounce_;
    Timer collected_;  // the request's result, taken on the loop
    RetryTimer retry_;
    int level_ = 0;  // the last edge's level (logical: active-low is the request's)
    std::optional<bool> settled_;
};

// What the app session emits: the state at each change and every `interval_ms` while its
// link is connected (the reference's charge_state every chargeCheckInterval).
class ChargeReport {
  public:
    ChargeReport(Loop& loop, uint32_t interval_ms, std::function<void(bool charging)> emit);
    void connected(bool up);      // up: emits now, when the state is known, then periodically
    void changed(bool charging);  // emits now when connected; the period starts again

  private:
    void emit();

    uint32_t interval_ms_;
    std::function<void(bool)> emit_;
    Timer timer_;
    std::optional<bool> state_;
    bool up_ = false;
};

// Sensing and reporting together, as the app session uses them.
class ChargeSensing {
  public:
    ChargeSensing(Loop& loop, Logger& log, std::shared_ptr<GpioApi> api,
                  ChargeSensor::Settings settings, uint32_t interval_ms,
                  std::function<void(bool charging)> emit);
    void connected(bool up) { report_.connected(up); }
    const ChargeSensor& sensor() const { return sensor_; }

  private:
    ChargeReport report_;  // before sensor_, whose callback feeds it
    ChargeSensor sensor_;
};

// The charge line `config` names ([charge] line, or [motor_hat] chargeIONumber with type
// motor_hat), resolved through the pin map for a BCM number. False with nothing set when
// sensing is off; false with `error` when the line cannot be resolved.
bool charge_settings(const Config& config, const std::string& model_path,
                     ChargeSensor::Settings* settings, std::string* error);
// Seconds between reports: [charge] interval, else [motor_hat] chargeCheckInterval.
uint32_t charge_interval_ms(const Config& config);

// For the app session: sensing started on the real libgpiod, or null when the config asks for
// none or its line cannot be resolved (said once in the log). `emit` sends charge_state.
std::unique_ptr<ChargeSensing> start_charge_sensing(Loop& loop, const Config& config,
                                                    std::function<void(bool charging)> emit);

}  // namespace robotd
