#include "robot/drive.h"

#include "core/clock.h"
#include "core/json.h"
#include "hw/none_driver.h"
#include "robot/command.h"

namespace robotd {

namespace {
// An owner driving the demo sees each command obey, but a flood of them costs one line a
// second: the first at once, then a count.
constexpr uint32_t kSummaryMs = 1000;

const char* who(const std::string& user, bool anonymous) {
    return anonymous || user.empty() ? "(anonymous)" : user.c_str();
}
}  // namespace

Drive::Drive(Loop& loop, const Config& config, const PolicyState& policy,
             std::unique_ptr<Driver> driver)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      policy_(policy),
      driver_(std::move(driver)),
      motion_(std::make_unique<Motion>(loop, loop.log(), *driver_, config)),
      summary_(loop, [this] { summarise(); }) {}

Drive::~Drive() = default;

void Drive::replace_driver(const Config& config, const Config& previous) {
    const std::string old_name = driver_->name();
    motion_.reset();  // its last stop goes through the old driver
    driver_.reset();
    std::string error;
    driver_ = make_driver(config, loop_, log_, &error);
    if (driver_) {
        LOGI(log_, "robotd", "hardware driver: %s (was %s)", driver_->name(), old_name.c_str());
    } else {
        LOGE(log_, "robotd", "hardware driver: %s; keeping the previous one", error.c_str());
        driver_ = make_driver(previous, loop_, log_, &error);
        if (!driver_) {
            LOGE(log_, "robotd", "the previous driver cannot start either (%s): driving nothing",
                 error.c_str());
            driver_ = std::make_unique<NoneDriver>(log_);
        }
    }
    motion_ = std::make_unique<Motion>(loop_, log_, *driver_, config_);
}

void Drive::command(const cJSON* payload, const char* session) {
    const int64_t now = mono_us();
    std::string error;
    auto msg = parse_command(payload, &error);
    if (!msg) {
        LOGW(log_, session, "command_to_robot ignored: %s", error.c_str());
        return;
    }
    msg->command.received_us = now;
    const Decision d = decide(policy_, *msg);
    const DriveCommand& c = msg->command;
    if (d.verdict == Verdict::OtherRobot) {
        // Another robot's commands arrive on a shared server all the time: debug only.
        LOGD(log_, session, "command for robot %s ignored", msg->robot_id.c_str());
        return;
    }
    if (d.verdict != Verdict::Accept) {
        LOGI(log_, session, "command %s from %s refused: %s", c.command.c_str(),
             who(c.user, c.anonymous), d.why.c_str());
        return;
    }
    accepted(c.command + (c.key_position.empty() ? "" : " " + c.key_position) + " from " +
                 who(c.user, c.anonymous),
             session);
    motion_->command(c);
}

void Drive::pointer(const cJSON* payload, const char* session) {
    std::string error;
    auto msg = parse_custom_event(payload, &error);
    if (!msg) {
        LOGW(log_, session, "custom_event ignored: %s", error.c_str());
        return;
    }
    const Decision d = decide(policy_, *msg);
    if (d.verdict == Verdict::OtherRobot) return;
    if (d.verdict != Verdict::Accept) {
        LOGI(log_, session, "pointer event %s from %s refused: %s", msg->event.kind.c_str(),
             who(msg->event.user, msg->event.anonymous), d.why.c_str());
        return;
    }
    msg->event.received_us = mono_us();
    char where[64];
    snprintf(where, sizeof where, " at %.2f,%.2f", msg->event.x, msg->event.y);
    accepted(msg->event.kind + where + " from " + who(msg->event.user, msg->event.anonymous),
             session);
    motion_->pointer(msg->event);
}

void Drive::accepted(const std::string& what, const char* session) {
    if (summary_.armed()) {
        ++unlogged_;
        last_ = what;
        return;
    }
    LOGI(log_, session, "%s", what.c_str());
    summary_.start_ms(kSummaryMs);
}

void Drive::summarise() {
    if (unlogged_ == 0) return;  // a quiet second: the next command is logged at once
    LOGI(log_, "robotd", "%llu more commands in the last second (the last: %s)",
         static_cast<unsigned long long>(unlogged_), last_.c_str());
    unlogged_ = 0;
    summary_.start_ms(kSummaryMs);
}

}  // namespace robotd
