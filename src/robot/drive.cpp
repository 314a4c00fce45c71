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
    const Decision d = decide(policy_, *msg, now);
    const DriveCommand& c = msg->command;
    if (d.verdict == Verdict::OtherRobot) {
        // Another robot's commands arrive on a shared server all the time: debug only.
        LOGD(log_, session, "command for robot %s ignored", msg->robot_id.c_str());
        return;
    }
    const std::string what = c.command + (c.key_position.empty() ? "" : " " + c.key_position) +
                             " from " + who(c.user, c.anonymous);
    if (d.verdict != Verdict::Accept) {
        note(d.verdict,
             "command " + c.command + " from " + who(c.user, c.anonymous) + " refused: " + d.why,
             session);
        return;
    }
    note(d.verdict, what, session);
    motion_->command(c);
}

void Drive::pointer(const cJSON* payload, const char* session) {
    std::string error;
    auto msg = parse_custom_event(payload, &error);
    if (!msg) {
        LOGW(log_, session, "custom_event ignored: %s", error.c_str());
        return;
    }
    const Decision d = decide(policy_, *msg, mono_us());
    if (d.verdict == Verdict::OtherRobot) return;
    if (d.verdict != Verdict::Accept) {
        note(d.verdict,
             "pointer event " + msg->event.kind + " from " +
                 who(msg->event.user, msg->event.anonymous) + " refused: " + d.why,
             session);
        return;
    }
    msg->event.received_us = mono_us();
    char where[64];
    snprintf(where, sizeof where, " at %.2f,%.2f", msg->event.x, msg->event.y);
    note(d.verdict, msg->event.kind + where + " from " + who(msg->event.user, msg->event.anonymous),
         session);
    motion_->pointer(msg->event);
}

void Drive::note(Verdict verdict, const std::string& line, const char* session) {
    const auto it = window_.find(verdict);
    if (it != window_.end()) {
        ++it->second.count;
        it->second.last = line;
        return;
    }
    LOGI(log_, session, "%s", line.c_str());
    window_[verdict];
    if (!summary_.armed()) summary_.start_ms(kSummaryMs);
}

void Drive::summarise() {
    // Kinds that were quiet for a whole second leave the window: their next line comes at once.
    for (auto it = window_.begin(); it != window_.end();) {
        Unlogged& u = it->second;
        if (u.count == 0) {
            it = window_.erase(it);
            continue;
        }
        if (it->first == Verdict::Accept)
            LOGI(log_, "robotd", "%llu more commands in the last second (the last: %s)",
                 static_cast<unsigned long long>(u.count), u.last.c_str());
        else
            LOGI(log_, "robotd", "%llu more refused in the last second (the last: %s)",
                 static_cast<unsigned long long>(u.count), u.last.c_str());
        u = Unlogged{};
        ++it;
    }
    if (!window_.empty()) summary_.start_ms(kSummaryMs);
}

}  // namespace robotd
