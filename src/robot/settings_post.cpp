#include "robot/settings_post.h"

#include "robot/lookups.h"

namespace robotd {

namespace {
// The site is up or not: each answer counts at once, retries back off to a minute.
constexpr RetryRules kRetry{1000, 60000, 0};
constexpr const char* kTag = "settings";
}  // namespace

SettingsPoster::SettingsPoster(Loop& loop, const Config& config)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      get_(loop, [this](const HttpResult& r) { done(r); }),
      retry_(loop, kRetry, [this] { next(); }) {}

void SettingsPoster::post(const std::string& key, bool value) {
    if (config_.robot.api_key.empty()) {
        // Once: the owner sees why the site's setting does not follow, then the local effect
        // is all there is.
        LOG_AT(log_, told_no_key_ ? LogLevel::Debug : LogLevel::Info, kTag,
               "%s=%s changed here only: the site is not told without [robot] api_key", key.c_str(),
               value ? "true" : "false");
        told_no_key_ = true;
        return;
    }
    pending_[key] = value;
    if (!get_.busy() && !retry_.pending()) next();
}

void SettingsPoster::next() {
    if (pending_.empty() || get_.busy()) return;
    const auto it = pending_.begin();
    key_ = it->first;
    value_ = it->second;
    pending_.erase(it);
    HttpGet::Request req;
    req.server = config_.misc.api_server;
    req.target = "/api/v1/robots/" + path_segment(config_.robot.robot_id);
    req.method = "POST";
    req.authorization = "Bearer " + config_.robot.api_key;
    req.content_type = "application/json";
    // The key is one of ours (no quoting needed); the value a JSON literal.
    req.body = "{\"" + key_ + "\": " + (value_ ? "true" : "false") + "}";
    req.timeout_ms = static_cast<uint32_t>(config_.misc.lookup_timeout * 1000);
    req.max_body = 64 * 1024;
    req.setting = "[misc] api_server";
    LOGD(log_, kTag, "POST %s%s %s", req.server.str().c_str(), req.target.c_str(),
         req.body.c_str());
    get_.start(std::move(req));
}

void SettingsPoster::done(const HttpResult& r) {
    if (!r.ok) {
        // A newer value for the key, if any, waits already: it wins over this one.
        pending_.emplace(key_, value_);
        const RetryPolicy::Step step = retry_.failed();
        if (step.report == RetryPolicy::Report::Summary)
            LOGW(log_, kTag,
                 "telling the site %s: still failing after %s: %s; check [misc] "
                 "api_server and [robot] api_key",
                 key_.c_str(), retry_.outage_text().c_str(), r.error.c_str());
        else
            LOG_AT(log_,
                   step.report == RetryPolicy::Report::First ? LogLevel::Warn : LogLevel::Debug,
                   kTag, "telling the site %s=%s failed (%s); retry in %.1f s", key_.c_str(),
                   value_ ? "true" : "false", r.error.c_str(), step.delay_ms / 1000.0);
        return;
    }
    ++sent_;
    const std::string outage = retry_.outage_text();
    if (retry_.succeeded()) LOGI(log_, kTag, "the site answers again after %s", outage.c_str());
    LOGI(log_, kTag, "site setting %s=%s saved", key_.c_str(), value_ ? "true" : "false");
    next();
}

}  // namespace robotd
