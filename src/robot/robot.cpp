#include "robot/robot.h"

#include <algorithm>

#include <time.h>

#include "core/argv.h"
#include "core/clock.h"
#include "core/text.h"

namespace robotd {

namespace {
// The moderators list is asked for again this often (the site has no event for it).
constexpr uint32_t kModeratorsRefreshMs = 5 * 60 * 1000;

// "[robot] owner" may name several: "alice, bob".
std::vector<std::string> owner_list(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        const std::string name(trim(std::string_view(text).substr(start, comma - start)));
        if (!name.empty() && !name_in(name, out)) out.push_back(name);
        start = comma + 1;
    }
    return out;
}
}  // namespace

Robot::Robot(Loop& loop, const Config& config, Discovery& discovery, std::unique_ptr<Driver> driver,
             MediaControl media, SpeechControl speech)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      discovery_(discovery),
      media_(std::move(media)),
      speech_(std::move(speech)),
      state_(loop.log(), config.misc.state_file),
      settings_(loop, config),
      drive_(loop, config, policy_, std::move(driver)),
      chat_handler_(
          loop, config, policy_, media_, speech_,
          ChatHooks{[this] { moderation_changed(); },
                    [this](const std::string& key, bool value) { site_setting(key, value); }}),
      control_(loop, "control", "check [misc] info_server and the robot_id"),
      chat_(loop, "chat", "check [misc] info_server and the robot_id"),
      app_(loop, "app", "check [misc] app_server"),
      user_(loop, "user", "check [misc] user_server and [misc] ca_file"),
      app_session_(loop, app_, config, policy_, discovery, media_,
                   [this] { moderation_changed(); }),
      moderators_refresh_(loop, [this] {
          discovery_.refresh(LookupId::Moderators);
          moderators_refresh_.start_ms(kModeratorsRefreshMs);
      }) {
    policy_.mod = state_.load(moderation_defaults(), mono_us(), int64_t(::time(nullptr)));
    apply_policy();
    route_control(control_, config, drive_, discovery);
    route_chat(chat_, config, chat_handler_, discovery);
    route_user(user_, config, chat_handler_);
    control_.on_connected([this] { check_live(); });
    chat_.on_connected([this] {
        // A reconnect may follow a long outage: the moderators may have changed meanwhile.
        discovery_.refresh(LookupId::Moderators);
        check_live();
    });
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
    // What the state file restored, for the speech side (the policy reads it directly).
    if (speech_.volume) speech_.volume(policy_.mod.tts_volume);
    if (speech_.mute && policy_.mod.tts_muted) speech_.mute(true);
    if (media_.mic && policy_.mod.mic_muted) media_.mic(true);
    moderators_refresh_.start_ms(kModeratorsRefreshMs);
    app_.open(config_.misc.app_server, config_.misc.eio);
    user_.open(config_.misc.user_server, config_.misc.eio);
    // Endpoints discovery already knows (a config reload) open at once.
    for (LookupId id : {LookupId::Control, LookupId::Chat, LookupId::Owner, LookupId::Moderators,
                        LookupId::Settings})
        resolved(id);
}

Moderation Robot::moderation_defaults() const {
    Moderation m;
    m.anon_control = config_.robot.anon_control;
    m.table_mode = config_.robot.table_mode;
    m.anon_tts = config_.tts.anon_tts;
    m.tts_volume = config_.tts.tts_volume;
    return m;
}

// The config's policy and the chat's choices (policy_.mod), then what the site says on top
// (the owner it names, whether it allows anonymous drivers); exclusive control is set by
// the site's event or a chat command and stays as it is.
void Robot::apply_policy() {
    const Endpoints& e = discovery_.endpoints();
    policy_.robot_id = config_.robot.robot_id;
    // The config's owners, and the one the site names besides.
    policy_.owners = owner_list(config_.robot.owner);
    if (e.owner && !e.owner->empty() && !name_in(*e.owner, policy_.owners))
        policy_.owners.push_back(*e.owner);
    if (e.moderators) policy_.moderators = *e.moderators;
    // Anonymous drivers need both the robot's choice and the site to allow them.
    policy_.anon_control = policy_.mod.anon_control && site_anon_control_;
    policy_.straight_commands = config_.robot.straight_commands;
    policy_.owner_commands = config_.robot.owner_commands;
}

void Robot::moderation_changed() {
    apply_policy();
    policy_.mod.expire(mono_us());
    state_.save(moderation_to_json(policy_.mod, moderation_defaults()));
}

void Robot::site_setting(const std::string& key, bool value) {
    if (key == "anonymous_control") {
        // The chat's choice goes to the site now: the site's older answer no longer counts.
        site_anon_control_ = true;
        apply_policy();
    }
    if (key == "mic_enabled" && value && media_.settings) {
        // `.mic unmute`: the site's mic_enabled=false (the echo of an earlier `.mic mute`)
        // no longer counts either; the audio comes back now, not after the site's next answer.
        RobotSettings s;
        s.mic_enabled = true;
        media_.settings(s);
    }
    settings_.post(key, value);
}

std::vector<std::pair<const char*, bool>> Robot::links() const {
    std::vector<std::pair<const char*, bool>> out;
    for (const Link* link : {&control_, &chat_, &app_, &user_})
        out.emplace_back(link->name(), link->client().connected());
    return out;
}

std::string Robot::link_outage() const {
    // Control and chat first: without them the robot is not live.
    for (const auto& links : {std::initializer_list<const Link*>{&control_, &chat_},
                              std::initializer_list<const Link*>{&app_, &user_}}) {
        std::string worst;
        int64_t worst_since = 0;
        for (const Link* link : links) {
            int64_t since = 0;
            std::string text = link->client().outage(&since);
            if (!text.empty() && (worst.empty() || since < worst_since))
                worst = std::move(text), worst_since = since;
        }
        if (!worst.empty()) return worst;
    }
    return {};
}

void Robot::check_live() {
    if (control_.client().connected() && chat_.client().connected()) chat_handler_.live();
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
            site_anon_control_ = e.settings->anonymous_control.value_or(true);
            apply_policy();
            if (media_.settings) media_.settings(*e.settings);
            return;
        default:
            return;
    }
}

void Robot::reconfigure(const Config& previous, const std::vector<std::string>& changed) {
    // A key the owner changed in the config is the new choice (the state file's is older).
    if (key_changed(changed, "robot.anon_control"))
        policy_.mod.anon_control = config_.robot.anon_control;
    if (key_changed(changed, "robot.table_mode")) policy_.mod.table_mode = config_.robot.table_mode;
    if (key_changed(changed, "tts.anon_tts")) policy_.mod.anon_tts = config_.tts.anon_tts;
    if (key_changed(changed, "tts.tts_volume")) policy_.mod.tts_volume = config_.tts.tts_volume;
    if (key_changed(changed, "robot.anon_control") || key_changed(changed, "robot.table_mode") ||
        key_changed(changed, "tts.anon_tts") || key_changed(changed, "tts.tts_volume"))
        state_.save(moderation_to_json(policy_.mod, moderation_defaults()));
    apply_policy();
    drive_.configure(config_);
    if (key_changed(changed, "robot.type") ||
        std::any_of(std::begin(kDriverSections), std::end(kDriverSections),
                    [&](std::string_view s) { return section_changed(changed, s); }))
        drive_.replace_driver(config_, previous);
    if (key_changed(changed, "robot.type") || section_changed(changed, "charge") ||
        key_changed(changed, "motor_hat.chargeIONumber") ||
        key_changed(changed, "motor_hat.chargeCheckInterval") ||
        key_changed(changed, "gpio.pin_map"))
        app_session_.restart_charge_sensing();

    // A link whose server, Engine.IO mode or identity changed starts afresh (close, then
    // open with the new settings); one that only uses TLS reconnects when the TLS settings
    // changed; the others stay up.
    const bool all = key_changed(changed, "misc.eio") || key_changed(changed, "robot.robot_id");
    const bool tls =
        key_changed(changed, "misc.ca_file") || key_changed(changed, "misc.secure_cert");
    const auto apply = [&](Link& link, const std::optional<Url>& url, bool moved) {
        if (!url) return;  // control or chat before discovery has answered
        if (moved || all) {
            link.close();
            link.open(*url, config_.misc.eio);
        } else if (tls && url->tls() && link.client().is_open()) {
            link.restart();
        }
    };
    apply(app_, config_.misc.app_server, key_changed(changed, "misc.app_server"));
    apply(user_, config_.misc.user_server, key_changed(changed, "misc.user_server"));
    const Endpoints& e = discovery_.endpoints();
    const bool scheme = key_changed(changed, "misc.discovered_scheme");
    apply(control_, e.control ? std::optional<Url>(discovered_url(*e.control)) : std::nullopt,
          scheme);
    apply(chat_, e.chat ? std::optional<Url>(discovered_url(*e.chat)) : std::nullopt, scheme);
}

}  // namespace robotd
