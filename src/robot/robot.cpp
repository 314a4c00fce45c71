#include "robot/robot.h"

#include <algorithm>

#include "core/argv.h"

namespace robotd {

namespace {
bool has(const std::vector<std::string>& keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}
bool has_section(const std::vector<std::string>& keys, std::string_view section) {
    return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
        return k.size() > section.size() && k.compare(0, section.size(), section) == 0 &&
               k[section.size()] == '.';
    });
}
}  // namespace

Robot::Robot(Loop& loop, const Config& config, Discovery& discovery, std::unique_ptr<Driver> driver,
             MediaControl media)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      discovery_(discovery),
      media_(std::move(media)),
      drive_(loop, config, policy_, std::move(driver)),
      chat_handler_(loop.log(), config, policy_, media_),
      control_(loop, "control", "check [misc] info_server and the robot_id"),
      chat_(loop, "chat", "check [misc] info_server and the robot_id"),
      app_(loop, "app", "check [misc] app_server"),
      user_(loop, "user", "check [misc] user_server and [misc] ca_file"),
      app_session_(loop, app_, config, policy_, discovery, media_) {
    apply_policy();
    route_control(control_, config, drive_, discovery);
    route_chat(chat_, config, chat_handler_, discovery);
    route_user(user_, config, chat_handler_);
    // Pointer events may come on any session; like commands, they pass the policy.
    for (Link* link : {&control_, &chat_, &app_, &user_})
        link->on("custom_event",
                 [this, link](const cJSON* arg) { drive_.pointer(arg, link->name()); });
}

Robot::~Robot() {
    // Close the links before the final stop (Drive's destructor), so no command races it.
    for (Link* link : {&control_, &chat_, &app_, &user_}) link->close();
}

void Robot::start() {
    LOGI(log_, "robotd", "hardware driver: %s", drive_.driver().name());
    app_.open(config_.misc.app_server, config_.misc.eio);
    user_.open(config_.misc.user_server, config_.misc.eio);
    // Endpoints discovery already knows (a config reload) open at once.
    for (LookupId id : {LookupId::Control, LookupId::Chat, LookupId::Owner, LookupId::Moderators,
                        LookupId::Settings})
        resolved(id);
}

// The config's policy, then what the site says on top (the owner it names, whether it
// allows anonymous drivers); exclusive control is the site's alone and stays as it is.
void Robot::apply_policy() {
    const Endpoints& e = discovery_.endpoints();
    policy_.robot_id = config_.robot.robot_id;
    policy_.owner = e.owner && !e.owner->empty() ? *e.owner : config_.robot.owner;
    if (e.moderators) policy_.moderators = *e.moderators;
    // Anonymous drivers need both the config and the site to allow them.
    policy_.anon_control =
        config_.robot.anon_control && (!e.settings || e.settings->anonymous_control.value_or(true));
    policy_.table_mode = config_.robot.table_mode;
    policy_.straight_commands = config_.robot.straight_commands;
    policy_.owner_commands = config_.robot.owner_commands;
}

Url Robot::discovered_url(const HostPort& hp) const {
    return Url{config_.misc.discovered_scheme, hp.host, hp.port, ""};
}

// `force`: reconnect even when a live link is up elsewhere (the owner changed the config).
void Robot::retarget(Link& link, const Url& url, bool force) {
    if (force && link.client().is_open() && link.client().server().str() != url.str()) link.close();
    link.open(url, config_.misc.eio);
}

void Robot::resolved(LookupId id) {
    const Endpoints& e = discovery_.endpoints();
    switch (id) {
        case LookupId::Control:
        case LookupId::Chat: {
            const auto& hp = id == LookupId::Control ? e.control : e.chat;
            // An answer that names another server while the link is up comes from a reload
            // (a changed info_server or robot_id): follow it. After failures the link is down.
            if (hp) retarget(id == LookupId::Control ? control_ : chat_, discovered_url(*hp), true);
            return;
        }
        case LookupId::Owner:
        case LookupId::Moderators:
            apply_policy();
            return;
        case LookupId::Settings:
            if (!e.settings) return;
            apply_policy();
            if (media_.settings) media_.settings(*e.settings);
            return;
        default:
            return;
    }
}

void Robot::reconfigure(const Config& previous, const std::vector<std::string>& changed) {
    apply_policy();
    drive_.configure(config_);
    if (has(changed, "robot.type") || has_section(changed, "pipe") ||
        has_section(changed, "serial"))
        drive_.replace_driver(config_, previous);

    // A link whose server, Engine.IO mode or identity changed starts afresh (close, then
    // open with the new settings); one that only uses TLS reconnects when the TLS settings
    // changed; the others stay up.
    const bool all = has(changed, "misc.eio") || has(changed, "robot.robot_id");
    const bool tls = has(changed, "misc.ca_file") || has(changed, "misc.secure_cert");
    const auto apply = [&](Link& link, const std::optional<Url>& url, bool moved) {
        if (!url) return;  // control or chat before discovery has answered
        if (moved || all) {
            link.close();
            link.open(*url, config_.misc.eio);
        } else if (tls && url->tls() && link.client().is_open()) {
            link.restart();
        }
    };
    apply(app_, config_.misc.app_server, has(changed, "misc.app_server"));
    apply(user_, config_.misc.user_server, has(changed, "misc.user_server"));
    const Endpoints& e = discovery_.endpoints();
    const bool scheme = has(changed, "misc.discovered_scheme");
    apply(control_, e.control ? std::optional<Url>(discovered_url(*e.control)) : std::nullopt,
          scheme);
    apply(chat_, e.chat ? std::optional<Url>(discovered_url(*e.chat)) : std::nullopt, scheme);
}

}  // namespace robotd
