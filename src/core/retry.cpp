#include "core/retry.h"

#include <algorithm>

namespace robotd {

namespace {
constexpr int64_t kFirstSummaryUs = 60LL * 1000000;
constexpr int64_t kMaxSummaryUs = 3600LL * 1000000;
}  // namespace

bool RetryPolicy::succeeded(int64_t now_us) {
    up_ = true;
    up_since_us_ = now_us;
    return failures_ > 0;
}

RetryPolicy::Step RetryPolicy::failed(int64_t now_us, double unit) {
    if (up_ && now_us - up_since_us_ >= int64_t(rules_.healthy_ms) * 1000) failures_ = 0;
    up_ = false;
    Step step;
    if (failures_ == 0) {
        outage_start_us_ = now_us;
        report_interval_us_ = kFirstSummaryUs;
        next_report_us_ = now_us + report_interval_us_;
        step.report = Report::First;
    } else if (now_us >= next_report_us_) {
        report_interval_us_ = std::min(report_interval_us_ * 2, kMaxSummaryUs);
        next_report_us_ = now_us + report_interval_us_;
        step.report = Report::Summary;
    }
    if (failures_ < UINT32_MAX) ++failures_;
    step.failures = failures_;

    uint64_t delay = std::max<uint32_t>(rules_.min_ms, 1);
    for (uint32_t i = 1; i < failures_ && delay < rules_.max_ms; ++i) delay *= 2;
    delay = std::min<uint64_t>(delay, rules_.max_ms);
    unit = std::clamp(unit, 0.0, 1.0);
    delay = delay / 2 + static_cast<uint64_t>(unit * double(delay - delay / 2));
    step.delay_ms = static_cast<uint32_t>(
        std::clamp<uint64_t>(delay, rules_.min_ms, std::max(rules_.min_ms, rules_.max_ms)));
    return step;
}

std::string RetryPolicy::outage_text(int64_t now_us) const {
    return std::to_string(failures_) + (failures_ == 1 ? " attempt" : " attempts") + " over " +
           describe_duration(now_us - outage_start_us_);
}

std::string RetryPolicy::outage_for(int64_t now_us) const {
    const int64_t minute = 60LL * 1000000;
    const int64_t age = now_us - outage_start_us_;
    return age < minute ? "" : " for " + describe_duration(age / minute * minute);
}

std::string describe_duration(int64_t us) {
    if (us < 0) us = 0;
    const int64_t ms = us / 1000, s = ms / 1000, min = s / 60, h = min / 60, d = h / 24;
    if (s < 1) return std::to_string(ms) + " ms";
    if (min < 1) return std::to_string(s) + " s";
    if (h < 1) return std::to_string(min) + " min";
    if (d < 1)
        return std::to_string(h) + " h" + (min % 60 ? " " + std::to_string(min % 60) + " min" : "");
    return std::to_string(d) + " d" + (h % 24 ? " " + std::to_string(h % 24) + " h" : "");
}

}  // namespace robotd
