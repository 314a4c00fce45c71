#include "hw/map_driver.h"

#include <algorithm>

#include "core/text.h"

namespace robotd {

MapDriver::MapDriver(Loop& loop, Logger& log, std::string name, std::vector<OutputCommand> commands,
                     const std::vector<OutputSet>& safe, const MakeDevice& make_device,
                     std::vector<int> hold, RetryRules reopen)
    : loop_(loop),
      log_(log),
      name_(std::move(name)),
      commands_(std::move(commands)),
      step_timer_(loop, [this] {
          if (running_) run_step(*running_, next_step_);
      }) {
    const auto use = [&](int output) {
        if (std::find(outputs_.begin(), outputs_.end(), output) == outputs_.end())
            outputs_.push_back(output);
    };
    for (const OutputSet& s : safe) use(s.output);
    for (const int h : hold) use(h);
    for (const OutputCommand& c : commands_)
        for (const OutputStep& step : c.steps)
            for (const OutputSet& s : step.sets) use(s.output);
    safe_.assign(outputs_.size(), 0);
    for (const OutputSet& s : safe) safe_[index_of(s.output)] = s.value;
    held_.assign(outputs_.size(), false);
    for (const int h : hold) held_[index_of(h)] = true;
    state_ = safe_;
    worker_ =
        std::make_unique<DeviceWorker>(loop_, log_, name_, make_device(outputs_), safe_, reopen);
    worker_->on_change([this](bool up) {
        // A lost device ends whatever ran: a reopened one (driven safe by its open) never gets
        // a command's later steps.
        if (up) return;
        step_timer_.cancel();
        running_ = nullptr;
        state_ = safe_;
    });
}

DeviceWorker::Outputs MapDriver::resting() const {
    DeviceWorker::Outputs out = safe_;
    for (size_t i = 0; i < out.size(); ++i)
        if (held_[i]) out[i] = state_[i];
    return out;
}

MapDriver::~MapDriver() {
    step_timer_.cancel();
    worker_.reset();  // every output safe, then the device let go (bounded wait)
}

void MapDriver::start() {
    worker_->start();
}

size_t MapDriver::index_of(int output) const {
    return size_t(std::find(outputs_.begin(), outputs_.end(), output) - outputs_.begin());
}

const OutputCommand* MapDriver::find(std::string_view command) const {
    for (const OutputCommand& c : commands_)
        if (iequals(c.command, command)) return &c;
    return nullptr;
}

std::optional<uint32_t> MapDriver::pulse_ms(std::string_view command) const {
    const OutputCommand* c = find(command);
    return c ? steps_pulse_ms(c->steps) : std::nullopt;
}

void MapDriver::command(const DriveCommand& c) {
    const OutputCommand* map = find(c.command);
    if (!map) {
        LOGD(log_, name_.c_str(), "%s: not in the map, ignored", c.command.c_str());
        return;
    }
    state_ = resting();
    run_step(*map, 0);
}

void MapDriver::run_step(const OutputCommand& c, size_t step) {
    if (step >= c.steps.size()) {  // the last timed step is over
        to_safe();
        return;
    }
    for (const OutputSet& s : c.steps[step].sets) state_[index_of(s.output)] = s.value;
    worker_->set(state_);
    ++written_;
    if (c.steps[step].ms == 0) {
        running_ = nullptr;
        step_timer_.cancel();
        return;
    }
    running_ = &c;
    next_step_ = step + 1;
    step_timer_.start_ms(c.steps[step].ms);
}

void MapDriver::to_safe() {
    step_timer_.cancel();
    running_ = nullptr;
    state_ = resting();
    worker_->stop_to(state_);
    ++written_;
}

void MapDriver::stop(const DriveCommand&) {
    to_safe();
}

void MapDriver::pointer(const PointerEvent& p) {
    LOGD(log_, name_.c_str(), "pointer event %s: nothing to drive", p.kind.c_str());
}

DriverStats MapDriver::stats() const {
    const DeviceWorker::Stats w = worker_->stats();
    DriverStats s;
    s.written = written_;
    s.dropped = w.dropped;
    return s;
}

}  // namespace robotd
