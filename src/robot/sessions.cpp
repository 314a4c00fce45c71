#include "robot/sessions.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include "core/argv.h"
#include "core/clock.h"
#include "media/camera_controls.h"
#include "robot/command.h"

namespace robotd {

namespace {
// How often control and chat re-identify, and app reports the robot's address (PROTOCOL.md).
constexpr uint32_t kIdentifyMs = 60000;

// Builds a small JSON object for an emit; cJSON escapes whatever a name contains.
class JsonObject {
  public:
    JsonObject() : obj_(cJSON_CreateObject()) {}
    JsonObject& str(const char* key, const std::string& v) {
        cJSON_AddStringToObject(obj_.get(), key, v.c_str());
        return *this;
    }
    JsonObject& flag(const char* key, bool v) {
        cJSON_AddBoolToObject(obj_.get(), key, v);
        return *this;
    }
    std::string text() const { return json_text(obj_.get()); }

  private:
    JsonPtr obj_;
};
}  // namespace

std::string first_public_address() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return {};
    std::string v4, v6;
    for (const ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || (a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP)) continue;
        char text[INET6_ADDRSTRLEN] = {};
        if (a->ifa_addr->sa_family == AF_INET && v4.empty()) {
            inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr, text,
                      sizeof text);
            v4 = text;
        } else if (a->ifa_addr->sa_family == AF_INET6 && v6.empty()) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
            if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;
            inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
            v6 = text;
        }
    }
    freeifaddrs(list);
    return v4.empty() ? v6 : v4;
}

Sessions::Sessions(Loop& loop, const Config& config, Discovery& discovery,
                   std::unique_ptr<Driver> driver)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      discovery_(discovery),
      driver_(std::move(driver)),
      motion_(loop, loop.log(), *driver_, config),
      control_(loop, "control",
               {// Identify at once (the timer's next pass), then every minute.
                [this] { control_identify_.start_ms(0); },
                [this](const std::string&) {
                    control_identify_.cancel();
                    // Nobody can send a stop while the link is down: stop now.
                    motion_.stop("control session lost");
                },
                [this](const sio::Event& ev) {
                    if (ev.name == "command_to_robot") {
                        on_command(ev, "control");
                    } else if (!common_event(ev, "control")) {
                        LOGD(log_, "control", "event '%s' ignored", ev.name.c_str());
                    }
                },
                [this](int failures) {
                    if (failures % 3 == 0) discovery_.refresh(LookupId::Control);
                }}),
      chat_(loop, "chat",
            {[this] { chat_identify_.start_ms(0); },
             [this](const std::string&) { chat_identify_.cancel(); },
             [this](const sio::Event& ev) {
                 if (ev.name == "chat_message_with_name") {
                     on_chat(ev, "chat");
                 } else if (!common_event(ev, "chat")) {
                     LOGD(log_, "chat", "event '%s' ignored", ev.name.c_str());
                 }
             },
             [this](int failures) {
                 if (failures % 3 == 0) discovery_.refresh(LookupId::Chat);
             }}),
      app_(loop, "app",
           {[this] {
                identify(app_, "identify_robot_id");
                send_video_status();
                send_ip_information();
            },
            [this](const std::string&) {
                video_status_.cancel();
                ip_info_.cancel();
            },
            [this](const sio::Event& ev) { on_app_event(ev); }, nullptr}),
      user_(loop, "user",
            {nullptr, nullptr, [this](const sio::Event& ev) { on_user_event(ev); }, nullptr}),
      control_identify_(loop,
                        [this] {
                            identify(control_, "robot_id");
                            control_identify_.start_ms(kIdentifyMs);
                        }),
      chat_identify_(loop,
                     [this] {
                         identify(chat_, "identify_robot_id");
                         chat_identify_.start_ms(kIdentifyMs);
                     }),
      video_status_(loop, [this] { send_video_status(); }),
      ip_info_(loop, [this] { send_ip_information(); }),
      reverse_ssh_(loop) {
    policy_.robot_id = config.robot.robot_id;
    policy_.owner = config.robot.owner;
    policy_.anon_control = config.robot.anon_control;
    policy_.table_mode = config.robot.table_mode;
    policy_.straight_commands = config.robot.straight_commands;
    policy_.owner_commands = config.robot.owner_commands;
    reverse_ssh_.on_exit(
        [this](int status) { LOGI(log_, "app", "reverse ssh %s", describe_exit(status).c_str()); });
}

Sessions::~Sessions() {
    // Close the links before the final stop (Motion's destructor), so no command races it.
    control_.close();
    chat_.close();
    app_.close();
    user_.close();
}

void Sessions::start() {
    LOGI(log_, "robotd", "hardware driver: %s", driver_->name());
    app_.open(config_.misc.app_server, config_.misc.eio);
    user_.open(config_.misc.user_server, config_.misc.eio);
    // Endpoints discovery already knows (a config reload) open at once.
    for (LookupId id : {LookupId::Control, LookupId::Chat, LookupId::Owner, LookupId::Moderators,
                        LookupId::Settings})
        resolved(id);
}

Url Sessions::discovered_url(const HostPort& hp) const {
    return Url{config_.misc.discovered_scheme, hp.host, hp.port, ""};
}

std::string Sessions::quoted_robot_id() const {
    return sio::json_quote(config_.robot.robot_id);
}

void Sessions::resolved(LookupId id) {
    const Endpoints& e = discovery_.endpoints();
    switch (id) {
        case LookupId::Control:
        case LookupId::Chat: {
            const auto& hp = id == LookupId::Control ? e.control : e.chat;
            if (!hp) return;
            SioClient& client = id == LookupId::Control ? control_ : chat_;
            const Url url = discovered_url(*hp);
            if (client.server().str() == url.str() && (client.connected())) return;
            client.set_server(url);
            client.open(url, config_.misc.eio);
            return;
        }
        case LookupId::Owner:
            if (e.owner && !e.owner->empty()) policy_.owner = *e.owner;
            return;
        case LookupId::Moderators:
            if (e.moderators) policy_.moderators = *e.moderators;
            return;
        case LookupId::Settings:
            if (!e.settings) return;
            // Anonymous drivers need both the config and the site to allow them.
            policy_.anon_control =
                config_.robot.anon_control && e.settings->anonymous_control.value_or(true);
            if (media_.settings) media_.settings(*e.settings);
            return;
        default:
            return;
    }
}

void Sessions::identify(SioClient& client, const char* event) {
    client.emit(event, quoted_robot_id());
}

void Sessions::send_video_status() {
    const bool video = media_.video_running && media_.video_running();
    app_.emit("send_video_status", JsonObject()
                                       .flag("send_video_process_exists", video)
                                       .flag("ffmpeg_process_exists", video)
                                       .str("camera_id", config_.robot.camera_id)
                                       .text());
    video_status_.start_ms(static_cast<uint32_t>(config_.misc.video_status_interval) * 1000);
}

void Sessions::send_ip_information() {
    app_.emit("ip_information", JsonObject()
                                    .str("ip", first_public_address())
                                    .str("robot_id", config_.robot.robot_id)
                                    .text());
    ip_info_.start_ms(kIdentifyMs);
}

void Sessions::on_command(const sio::Event& ev, const char* session) {
    const int64_t now = mono_us();
    std::string error;
    auto msg = parse_command(cJSON_GetArrayItem(ev.args.get(), 0), &error);
    if (!msg) {
        LOGW(log_, session, "command_to_robot ignored: %s", error.c_str());
        return;
    }
    msg->command.received_us = now;
    const Decision d = decide(policy_, *msg);
    if (d.verdict != Verdict::Accept) {
        // Another robot's commands arrive on a shared server all the time: debug only.
        if (d.verdict == Verdict::OtherRobot)
            LOGD(log_, session, "command for robot %s ignored", msg->robot_id.c_str());
        else
            LOGI(log_, session, "command %s from %s refused: %s", msg->command.command.c_str(),
                 msg->command.user.empty() ? "(anonymous)" : msg->command.user.c_str(),
                 d.reason.c_str());
        return;
    }
    LOGD(log_, session, "command %s %s from %s", msg->command.command.c_str(),
         msg->command.key_position.c_str(), msg->command.user.c_str());
    motion_.command(msg->command);
}

void Sessions::on_custom_event(const sio::Event& ev, const char* session) {
    std::string error;
    auto msg = parse_custom_event(cJSON_GetArrayItem(ev.args.get(), 0), &error);
    if (!msg) {
        LOGW(log_, session, "custom_event ignored: %s", error.c_str());
        return;
    }
    if (msg->robot_id != config_.robot.robot_id) return;
    msg->event.received_us = mono_us();
    motion_.pointer(msg->event);
}

// Events any session may carry.
bool Sessions::common_event(const sio::Event& ev, const char* session) {
    if (ev.name != "custom_event") return false;
    on_custom_event(ev, session);
    return true;
}

void Sessions::on_chat(const sio::Event& ev, const char* session) {
    std::string error;
    auto m = parse_chat_message(cJSON_GetArrayItem(ev.args.get(), 0), &error);
    if (!m) {
        LOGW(log_, session, "chat message ignored: %s", error.c_str());
        return;
    }
    if (!m->robot_id.empty() && m->robot_id != config_.robot.robot_id) return;
    if (m->is_command) {
        if (media::is_camera_control(m->command)) {
            on_camera_command(*m, session);
            return;
        }
        // Parsed here; acting on the other chat commands (ranks, TTS, settings) is the
        // chat/TTS work.
        LOGI(log_, session, "chat command %s from %s (not acted on yet)", command_text(*m).c_str(),
             m->name.c_str());
        return;
    }
    LOGI(log_, session, "%s: %s", m->name.c_str(), m->text.c_str());
}

// ".brightness N", ".contrast N", ".saturation N": owner only (PROTOCOL.md).
void Sessions::on_camera_command(const ChatMessage& m, const char* session) {
    const std::string text = command_text(m);
    const char* who = m.name.empty() ? "(anonymous)" : m.name.c_str();
    if (chat_rank(policy_, m.name, m.anonymous) != ChatRank::Owner) {
        // An anonymous sender may carry the owner's name: say why that is not enough.
        LOGI(log_, session, "chat command %s from %s ignored: only the owner may set %s%s",
             text.c_str(), who, m.command.c_str(),
             m.anonymous ? " (an anonymous sender never counts as the owner)" : "");
        return;
    }
    int percent = 0;
    std::string error;
    if (!parse_percent_argument(m.words, &percent, &error)) {
        LOGI(log_, session, "chat command %s from %s ignored: %s", text.c_str(), who,
             error.c_str());
        return;
    }
    LOGI(log_, session, "chat command %s from %s: setting the camera's %s to %d %%", text.c_str(),
         who, m.command.c_str(), percent);
    if (media_.camera_control) media_.camera_control(m.command, percent);
}

void Sessions::on_app_event(const sio::Event& ev) {
    const cJSON* arg = cJSON_GetArrayItem(ev.args.get(), 0);
    if (ev.name == "exclusive_control") {
        const auto robot = json_string(arg, "robot_id");
        const auto status = json_string(arg, "status");
        if (!robot || !status) {
            LOGW(log_, "app", "exclusive_control without robot_id/status ignored");
            return;
        }
        if (*robot != config_.robot.robot_id) return;  // another robot's: not ours to act on
        if (*status == "start") {
            // The named user, or the owner when the server names nobody.
            policy_.exclusive_user =
                json_string(arg, "user")
                    .value_or(json_string(arg, "username").value_or(policy_.owner));
            LOGI(log_, "app", "exclusive control for %s", policy_.exclusive_user->c_str());
        } else if (*status == "end") {
            policy_.exclusive_user.reset();
            LOGI(log_, "app", "exclusive control ended");
        } else {
            LOGW(log_, "app", "exclusive_control status '%s' ignored", status->c_str());
        }
    } else if (ev.name == "robot_settings_changed") {
        LOGI(log_, "app", "robot settings changed: fetching them again");
        discovery_.refresh(LookupId::Settings);
    } else if (ev.name == "command_to_robot") {
        std::string error;
        auto msg = parse_command(arg, &error);
        if (!msg || msg->robot_id != config_.robot.robot_id) return;
        const std::string& c = msg->command.command;
        if (c == "VIDOFF" || c == "VIDON") {
            LOGI(log_, "app", "%s", c == "VIDON" ? "video on requested" : "video off requested");
            if (media_.video) media_.video(c == "VIDON");
        } else {
            LOGD(log_, "app", "command %s on the app session ignored", c.c_str());
        }
    } else if (ev.name == "reverse_ssh_8872381747239") {
        reverse_ssh(true);
    } else if (ev.name == "end_reverse_ssh_8872381747239") {
        reverse_ssh(false);
    } else if (!common_event(ev, "app")) {
        LOGD(log_, "app", "event '%s' ignored", ev.name.c_str());
    }
}

void Sessions::reverse_ssh(bool start) {
    if (config_.misc.reverse_ssh_command.empty()) {
        LOGI(log_, "app", "reverse ssh %s ignored: no [misc] reverse_ssh_command",
             start ? "request" : "end");
        return;
    }
    if (!start) {
        if (reverse_ssh_.running()) {
            LOGI(log_, "app", "stopping reverse ssh (pid %d)", reverse_ssh_.pid());
            reverse_ssh_.stop();
        }
        return;
    }
    if (reverse_ssh_.running()) {
        LOGI(log_, "app", "reverse ssh already running (pid %d)", reverse_ssh_.pid());
        return;
    }
    std::vector<std::string> argv;
    std::string error;
    if (!split_argv(config_.misc.reverse_ssh_command, &argv, &error) ||
        !reverse_ssh_.start(argv, false, &error)) {
        LOGE(log_, "app", "reverse ssh: %s", error.c_str());
        return;
    }
    LOGI(log_, "app", "reverse ssh started (pid %d)", reverse_ssh_.pid());
}

void Sessions::on_user_event(const sio::Event& ev) {
    const cJSON* arg = cJSON_GetArrayItem(ev.args.get(), 0);
    if (ev.name == "message_removed") {
        LOGI(log_, "user", "message %s removed",
             json_string(arg, "message_id").value_or("(no id)").c_str());
    } else if (ev.name == "chat_message_with_name") {
        // Only the configured woot room is heard on the user socket.
        if (config_.misc.woot_room.empty() ||
            json_string(arg, "room").value_or("") != config_.misc.woot_room)
            return;
        on_chat(ev, "user");
    } else if (ev.name == "user_blocked" || ev.name == "user_timeout") {
        LOGI(log_, "user", "%s: %s", ev.name.c_str(), excerpt(json_text(arg), 120).c_str());
    } else if (!common_event(ev, "user")) {
        LOGD(log_, "user", "event '%s' ignored", ev.name.c_str());
    }
}

}  // namespace robotd
