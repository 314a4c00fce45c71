#include "hw/charge_sensor.h"

#include <charconv>
#include <mutex>
#include <thread>

#include "core/argv.h"
#include "core/text.h"

namespace robotd {

// The request's result, shared with the thread that makes it; the thread may outlive the
// sensor (a chip that takes long to answer at exit), so it touches nothing else.
struct ChargeSensor::Pending {
    std::mutex m;
    bool done = false;
    bool abandoned = false;  // the sensor is gone: the thread lets go of what it got
    std::unique_ptr<GpioInput> input;
    int level = 0;
    std::string error;
    lws_context* context = nullptr;
};

ChargeSensor::ChargeSensor(Loop& loop, Logger& log, std::shared_ptr<GpioApi> api, Settings settings,
                           std::function<void(bool charging)> changed)
    : loop_(loop),
      log_(log),
      api_(std::move(api)),
      settings_(std::move(settings)),
      what_(settings_.line.chip + " line " + std::to_string(settings_.line.line)),
      changed_(std::move(changed)),
      watch_(
          loop, [this] { readable(); }, WritableWatch::Want::Readable),
      debounce_(loop, [this] { settle(); }),
      collected_(loop, [this] { collect(); }),
      retry_(loop, {1000, 60000, 10000}, [this] { start(); }) {}

ChargeSensor::~ChargeSensor() {
    if (wake_id_ != 0) loop_.remove_wake(wake_id_);
    if (pending_) {
        std::lock_guard<std::mutex> lock(pending_->m);
        pending_->abandoned = true;
    }
    stop_sensing();
}

void ChargeSensor::start() {
    if (wake_id_ != 0 || input_) return;  // a request is out, or the line is ours
    if (pending_) {
        std::lock_guard<std::mutex> lock(pending_->m);
        pending_->abandoned = true;  // a late answer to an earlier request lets go of its line
    }
    pending_ = std::make_shared<Pending>();
    pending_->context = loop_.context();
    // A wake function may not remove itself: it hands over to a timer that does.
    wake_id_ = loop_.add_wake([this] {
        std::lock_guard<std::mutex> lock(pending_->m);
        if (pending_->done && !collected_.armed()) collected_.start_ms(0);
    });
    GpioInputOptions options;
    options.active_low = !settings_.active_high;  // the kernel reports "charging" as 1
    std::thread([p = pending_, api = api_, line = settings_.line, options] {
        std::string error;
        int level = 0;
        std::unique_ptr<GpioInput> input =
            api->request_input(line.chip, line.line, options, &level, &error);
        std::lock_guard<std::mutex> lock(p->m);
        if (p->abandoned) return;  // `input` is released here, off the loop
        p->input = std::move(input);
        p->level = level;
        p->error = std::move(error);
        p->done = true;
        lws_cancel_service(p->context);  // the loop still exists: the sensor is not abandoned
    }).detach();
}

void ChargeSensor::collect() {
    if (wake_id_ == 0) return;
    loop_.remove_wake(wake_id_);
    wake_id_ = 0;
    std::string error;
    {
        std::lock_guard<std::mutex> lock(pending_->m);
        input_ = std::move(pending_->input);
        level_ = pending_->level;
        error = std::move(pending_->error);
    }
    if (!input_) {
        failed(": " + error);
        return;
    }
    if (!watch_.arm(input_->fd())) {
        failed(": its events cannot be watched");
        return;
    }
    if (retry_.succeeded())
        LOGI(log_, "charge", "charge input %s is back (%s)", what_.c_str(),
             retry_.outage_text().c_str());
    LOGI(log_, "charge", "charge input %s (active %s): %s", what_.c_str(),
         settings_.active_high ? "high" : "low", level_ ? "charging" : "not charging");
    settled_ = level_ != 0;
    changed_(*settled_);
}

void ChargeSensor::readable() {
    if (!input_) return;
    const bool hung_up = !watch_.armed();  // lws closed its poll: POLLHUP or POLLERR
    std::vector<int> levels;
    std::string error;
    if (!input_->read_edges(&levels, &error) || (hung_up && levels.empty())) {
        if (error.empty()) error = "its event descriptor hung up";
        failed(" lost: " + error);
        return;
    }
    if (!levels.empty()) {
        // Only the last edge matters: the level must then hold for debounce_ms.
        level_ = levels.back();
        if (settings_.debounce_ms == 0)
            settle();
        else
            debounce_.start_ms(settings_.debounce_ms);
    }
    if (!watch_.arm(input_->fd())) failed(": its events cannot be watched");
}

void ChargeSensor::failed(const std::string& what) {
    stop_sensing();
    const RetryPolicy::Step step = retry_.failed();
    const std::string next = describe_duration(int64_t(step.delay_ms) * 1000);
    // A line that goes away is always a line of its own; failed requests follow the policy.
    if (step.report == RetryPolicy::Report::First || what.rfind(" lost: ", 0) == 0)
        LOGE(log_, "charge", "charge input %s%s; charge sensing off, trying again in %s",
             what_.c_str(), what.c_str(), next.c_str());
    else if (step.report == RetryPolicy::Report::Summary)
        LOGW(log_, "charge", "charge input %s: still failing after %s%s", what_.c_str(),
             retry_.outage_text().c_str(), what.c_str());
    else
        LOGD(log_, "charge", "charge input %s%s; trying again in %s", what_.c_str(), what.c_str(),
             next.c_str());
}

void ChargeSensor::settle() {
    const bool charging = level_ != 0;
    if (settled_ == charging) return;  // it bounced back within the debounce time
    settled_ = charging;
    LOGI(log_, "charge", "%s", charging ? "charging" : "not charging");
    changed_(charging);
}

void ChargeSensor::stop_sensing() {
    watch_.release();
    debounce_.cancel();
    input_.reset();
}

ChargeReport::ChargeReport(Loop& loop, uint32_t interval_ms, std::function<void(bool)> emit)
    : interval_ms_(interval_ms), emit_(std::move(emit)), timer_(loop, [this] { this->emit(); }) {}

void ChargeReport::connected(bool up) {
    up_ = up;
    if (up)
        emit();
    else
        timer_.cancel();
}

void ChargeReport::changed(bool charging) {
    state_ = charging;
    if (up_) emit();
}

void ChargeReport::emit() {
    timer_.cancel();
    if (!up_ || !state_) return;  // changed() starts it once the state is known
    emit_(*state_);
    timer_.start_ms(interval_ms_);
}

ChargeSensing::ChargeSensing(Loop& loop, Logger& log, std::shared_ptr<GpioApi> api,
                             ChargeSensor::Settings settings, uint32_t interval_ms,
                             std::function<void(bool)> emit)
    : report_(loop, interval_ms, std::move(emit)),
      sensor_(loop, log, std::move(api), std::move(settings),
              [this](bool charging) { report_.changed(charging); }) {
    sensor_.start();
}

bool charge_settings(const Config& config, const std::string& model_path,
                     ChargeSensor::Settings* settings, std::string* error) {
    error->clear();
    const std::string& line = config.charge.line;
    long bcm = -1;
    if (line.empty()) {
        bool motor_hat = false;
        for (const std::string& type : split_list(config.robot.type))
            motor_hat = motor_hat || iequals(type, "motor_hat");
        if (!motor_hat || config.charge.io_number < 0) return false;
        bcm = config.charge.io_number;
    } else if (const size_t colon = line.rfind(':'); colon != std::string::npos) {
        // Checked when the config was read: a chip and a line offset.
        settings->line.chip = std::string(trim(std::string_view(line).substr(0, colon)));
        const std::string_view offset = trim(std::string_view(line).substr(colon + 1));
        std::from_chars(offset.data(), offset.data() + offset.size(), settings->line.line);
    } else {
        std::from_chars(line.data(), line.data() + line.size(), bcm);
    }
    if (bcm >= 0) {
        PinMap map;
        if (!load_pin_map(config.gpio.pin_map, model_path, &map, error) ||
            !map.find(PinNumbering::Bcm, int(bcm), &settings->line, error))
            return false;
    }
    settings->active_high = config.charge.active_high;
    settings->debounce_ms = uint32_t(config.charge.debounce_ms);
    return true;
}

uint32_t charge_interval_ms(const Config& config) {
    const int seconds =
        config.charge.interval > 0 ? config.charge.interval : config.charge.check_interval;
    return uint32_t(seconds) * 1000;
}

std::unique_ptr<ChargeSensing> start_charge_sensing(Loop& loop, const Config& config,
                                                    std::function<void(bool charging)> emit) {
    ChargeSensor::Settings settings;
    std::string error;
    if (!charge_settings(config, kDeviceTreeModel, &settings, &error)) {
        if (!error.empty()) LOGE(loop.log(), "charge", "charge sensing off: %s", error.c_str());
        return nullptr;
    }
    return std::make_unique<ChargeSensing>(loop, loop.log(), libgpiod_api(), std::move(settings),
                                           charge_interval_ms(config), std::move(emit));
}

}  // namespace robotd
