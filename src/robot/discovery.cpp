#include "robot/discovery.h"

#include <algorithm>

#include "core/clock.h"

namespace robotd {

namespace {
// A lookup either answers or not: each answer counts at once (healthy after 0 ms).
constexpr RetryRules kRetry{1000, 60000, 0};
constexpr const char* kTag = "discovery";
}  // namespace

// Which setting names the server that keeps failing.
std::string Discovery::hint(const LookupSpec& spec) const {
    const bool api = spec.server.str() == config_.misc.api_server.str() &&
                     spec.server.str() != config_.misc.info_server.str();
    std::string h = api ? "[misc] api_server" : "[misc] info_server";
    if (spec.id == LookupId::Wifi) h += " and [misc] secret_key";
    return h + " (" + spec.server.str() + ")";
}

struct Discovery::Task {
    Task(Discovery& d, LookupSpec s)
        : spec(std::move(s)),
          get(d.loop_, [&d, this](const HttpResult& r) { d.done(*this, r); }),
          retry(d.loop_, kRetry, [&d, this] { d.run(*this); }) {}
    LookupSpec spec;
    HttpGet get;
    RetryTimer retry;
    bool resolved = false;
    std::string error;   // why the last attempt failed; empty once it answers
    std::string answer;  // the last answer logged: a repeat is a debug line
};

Discovery::Discovery(Loop& loop, Logger& log, const Config& config)
    : loop_(loop), log_(log), config_(config) {}

Discovery::~Discovery() = default;

Discovery::Task& Discovery::add(LookupSpec spec) {
    tasks_.push_back(std::make_unique<Task>(*this, std::move(spec)));
    return *tasks_.back();
}

void Discovery::start() {
    started_us_ = mono_us();
    for (auto& spec : plan_lookups(config_)) run(add(std::move(spec)));
}

void Discovery::reconfigure() {
    std::vector<LookupSpec> plan = plan_lookups(config_);
    if (endpoints_.owner) plan.push_back(moderators_lookup(config_, *endpoints_.owner));
    // Lookups no longer planned go (their answers with them); changed or new ones run now;
    // the others keep their answers and their state.
    std::vector<std::unique_ptr<Task>> kept;
    for (auto& t : tasks_) {
        const auto it = std::find_if(plan.begin(), plan.end(),
                                     [&](const LookupSpec& s) { return s.id == t->spec.id; });
        if (it == plan.end()) {
            forget(t->spec.id);
            continue;
        }
        if (it->server.str() != t->spec.server.str() || it->target != t->spec.target) {
            t->spec = std::move(*it);
            t->resolved = false;
            t->error.clear();
            t->retry.reset();
            run(*t);
        }
        plan.erase(it);
        kept.push_back(std::move(t));
    }
    tasks_ = std::move(kept);
    for (auto& spec : plan) run(add(std::move(spec)));
}

void Discovery::forget(LookupId id) {
    switch (id) {
        case LookupId::RelayHost:
            endpoints_.relay_host.reset();
            break;
        case LookupId::VideoPort:
            endpoints_.video_port.reset();
            break;
        case LookupId::AudioPort:
            endpoints_.audio_port.reset();
            break;
        case LookupId::Wifi:
            endpoints_.wifi.reset();
            break;
        default:
            break;
    }
}

void Discovery::refresh(LookupId id) {
    for (auto& t : tasks_) {
        if (t->spec.id != id || t->get.busy() || t->retry.pending()) continue;
        LOGD(log_, kTag, "looking up %s again", t->spec.name);
        t->resolved = false;
        run(*t);
    }
}

void Discovery::run(Task& t) {
    HttpGet::Request req;
    req.server = t.spec.server;
    req.target = t.spec.target;
    req.timeout_ms = static_cast<uint32_t>(config_.misc.lookup_timeout * 1000);
    req.max_body = kMaxLookupBody;
    req.setting = t.spec.server.str() == config_.misc.info_server.str() ? "[misc] info_server"
                                                                        : "[misc] api_server";
    LOGD(log_, kTag, "GET %s%s", t.spec.server.str().c_str(), t.spec.target.c_str());
    t.get.start(std::move(req));
}

void Discovery::done(Task& t, const HttpResult& r) {
    const std::string url = t.spec.server.str() + t.spec.target;
    std::string why = r.error, summary;
    if (r.ok) why = apply(t.spec.id, r.body, &summary);
    if (!why.empty()) {
        // Offline, a line per attempt would fill an SD card: the first failure, then a summary
        // at growing intervals, then one line when it answers again.
        const RetryPolicy::Step step = t.retry.failed();
        t.error = why;
        const double delay_s = step.delay_ms / 1000.0;
        if (step.report == RetryPolicy::Report::Summary)
            LOGW(log_, kTag, "%s lookup: still failing after %s: %s; check %s", t.spec.name,
                 t.retry.outage_text().c_str(), why.c_str(), hint(t.spec).c_str());
        else
            LOG_AT(log_,
                   step.report == RetryPolicy::Report::First ? LogLevel::Warn : LogLevel::Debug,
                   kTag, "%s lookup failed (%s: %s); attempt %u, retry in %.1f s", t.spec.name,
                   url.c_str(), why.c_str(), step.failures, delay_s);
        return;
    }
    t.resolved = true;
    t.error.clear();
    const std::string outage = t.retry.outage_text();
    if (t.retry.succeeded())
        LOGI(log_, kTag, "%s lookup answers again after %s", t.spec.name, outage.c_str());
    // Sessions and uploads ask again after every few failures: an answer that did not
    // change is not news.
    LOG_AT(log_, summary != t.answer ? LogLevel::Info : LogLevel::Debug, kTag, "%s: %s",
           t.spec.name, summary.c_str());
    t.answer = summary;
    if (t.spec.id == LookupId::Owner && endpoints_.owner) {
        // Moderators belong to the owner the server names; ask (again) for that owner.
        LookupSpec mods = moderators_lookup(config_, *endpoints_.owner);
        Task* existing = nullptr;
        for (auto& task : tasks_)
            if (task->spec.id == LookupId::Moderators) existing = task.get();
        if (!existing) {
            run(add(std::move(mods)));
        } else if (existing->spec.target != mods.target) {
            existing->retry.reset();
            existing->error.clear();
            existing->spec = std::move(mods);
            run(*existing);
        }
    }
    if (on_resolved_) on_resolved_(t.spec.id);
    bool all = true;
    for (auto& task : tasks_) all = all && task->resolved;
    if (all && !announced_ && tasks_.size() > 1) {
        announced_ = true;
        LOGI(log_, kTag, "all %zu lookups answered in %.0f ms", tasks_.size(),
             (mono_us() - started_us_) / 1000.0);
    }
}

std::string Discovery::outage() const {
    const Task* worst = nullptr;
    for (const auto& t : tasks_)
        if (!t->error.empty() && (!worst || t->retry.policy().outage_start_us() <
                                                worst->retry.policy().outage_start_us()))
            worst = t.get();
    if (!worst) return {};
    return std::string(worst->spec.name) + " lookup failing" + worst->retry.outage_for() + ": " +
           worst->error;
}

std::string Discovery::apply(LookupId id, const std::string& body, std::string* summary) {
    auto take = [&](auto parsed, auto& slot, auto describe_fn) -> std::string {
        if (!parsed.value) return parsed.error;
        *summary = describe_fn(*parsed.value);
        slot = std::move(*parsed.value);
        return {};
    };
    auto host_port = [](const HostPort& hp) { return hp.host + ":" + std::to_string(hp.port); };
    auto number = [](int n) { return std::to_string(n); };
    auto text = [](const std::string& s) { return s; };
    switch (id) {
        case LookupId::Control:
            return take(parse_host_port(body), endpoints_.control, host_port);
        case LookupId::Chat:
            return take(parse_host_port(body), endpoints_.chat, host_port);
        case LookupId::RelayHost:
            return take(parse_host(body), endpoints_.relay_host, text);
        case LookupId::VideoPort:
            return take(parse_port(body, "mpeg_stream_port"), endpoints_.video_port, number);
        case LookupId::AudioPort:
            return take(parse_port(body, "audio_stream_port"), endpoints_.audio_port, number);
        case LookupId::Owner:
            return take(parse_owner(body), endpoints_.owner,
                        [](const std::string& o) { return "'" + o + "'"; });
        case LookupId::Settings:
            return take(parse_robot_settings(body), endpoints_.settings,
                        [](const RobotSettings& s) { return describe(s); });
        case LookupId::Moderators:
            return take(parse_moderators(body), endpoints_.moderators,
                        [](const std::vector<std::string>& mods) {
                            std::string out;
                            for (const auto& m : mods) out += (out.empty() ? "" : ", ") + m;
                            return out.empty() ? std::string("(none)") : out;
                        });
        case LookupId::Wifi: {
            std::string err = take(parse_wifi_login(body), endpoints_.wifi,
                                   [](const WifiLogin& w) { return "network '" + w.name + "'"; });
            // The password is a secret from here on: mask it in every later log line.
            if (err.empty()) {
                auto secrets = config_secrets(config_);
                secrets.push_back(endpoints_.wifi->password);
                log_.set_secrets(std::move(secrets));
            }
            return err;
        }
    }
    return "unknown lookup";
}

}  // namespace robotd
