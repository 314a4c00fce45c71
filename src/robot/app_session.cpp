// The app session: video status, the robot's address, the charge state, exclusive control,
// settings changes, VIDOFF/VIDON and reverse SSH.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include "core/argv.h"
#include "core/json.h"
#include "net/sio/codec.h"
#include "robot/command.h"
#include "robot/sessions.h"

namespace robotd {

namespace {
// How often app reports the robot's address (PROTOCOL.md).
constexpr uint32_t kIpInfoMs = 60000;

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

AppSession::AppSession(Loop& loop, Link& link, const Config& config, PolicyState& policy,
                       Discovery& discovery, const MediaControl& media,
                       std::function<void()> changed)
    : log_(loop.log()),
      link_(link),
      config_(config),
      policy_(policy),
      media_(media),
      changed_(std::move(changed)),
      loop_(loop),
      video_status_(loop, [this] { send_video_status(); }),
      ip_info_(loop, [this] { send_ip_information(); }),
      reverse_ssh_(loop),
      charge_(start_charge_sensing(loop, config,
                                   [this](bool charging) { send_charge_state(charging); })) {
    reverse_ssh_.on_exit(
        [this](int status) { LOGI(log_, "app", "reverse ssh %s", describe_exit(status).c_str()); });
    link.on_connected([this] {
        link_.emit("identify_robot_id", sio::json_quote(config_.robot.robot_id));
        send_video_status();
        send_ip_information();
        if (charge_) charge_->connected(true);
    });
    link.on_disconnected([this] {
        video_status_.cancel();
        ip_info_.cancel();
        if (charge_) charge_->connected(false);
    });
    link.on("exclusive_control", [this](const cJSON* arg) { exclusive_control(arg); });
    link.on("robot_settings_changed", [this, &discovery](const cJSON*) {
        LOGI(log_, "app", "robot settings changed: fetching them again");
        discovery.refresh(LookupId::Settings);
    });
    link.on("command_to_robot", [this](const cJSON* arg) { command(arg); });
    link.on("reverse_ssh_8872381747239", [this](const cJSON*) { reverse_ssh(true); });
    link.on("end_reverse_ssh_8872381747239", [this](const cJSON*) { reverse_ssh(false); });
}

void AppSession::send_video_status() {
    const bool video = media_.video_running && media_.video_running();
    link_.emit("send_video_status", JsonObject()
                                        .flag("send_video_process_exists", video)
                                        .flag("ffmpeg_process_exists", video)
                                        .str("camera_id", config_.robot.camera_id)
                                        .text());
    video_status_.start_ms(static_cast<uint32_t>(config_.misc.video_status_interval) * 1000);
}

void AppSession::send_ip_information() {
    link_.emit("ip_information", JsonObject()
                                     .str("ip", first_public_address())
                                     .str("robot_id", config_.robot.robot_id)
                                     .text());
    ip_info_.start_ms(kIpInfoMs);
}

void AppSession::restart_charge_sensing() {
    charge_.reset();  // lets go of the line before the new config may ask for it
    charge_ = start_charge_sensing(loop_, config_,
                                   [this](bool charging) { send_charge_state(charging); });
    if (charge_ && link_.client().connected()) charge_->connected(true);
}

void AppSession::send_charge_state(bool charging) {
    link_.emit(
        "charge_state",
        JsonObject().str("robot_id", config_.robot.robot_id).flag("charging", charging).text());
}

void AppSession::exclusive_control(const cJSON* arg) {
    const auto robot = json_string(arg, "robot_id");
    const auto status = json_string(arg, "status");
    if (!robot || !status) {
        LOGW(log_, "app", "exclusive_control without robot_id/status ignored");
        return;
    }
    if (*robot != config_.robot.robot_id) return;  // another robot's: not ours to act on
    if (*status == "start") {
        // The named user, or the owner when the server names nobody.
        policy_.mod.exclusive_user =
            json_string(arg, "user")
                .value_or(
                    json_string(arg, "username")
                        .value_or(policy_.owners.empty() ? std::string() : policy_.owners[0]));
        LOGI(log_, "app", "exclusive control for %s", policy_.mod.exclusive_user->c_str());
    } else if (*status == "end") {
        policy_.mod.exclusive_user.reset();
        LOGI(log_, "app", "exclusive control ended");
    } else {
        LOGW(log_, "app", "exclusive_control status '%s' ignored", status->c_str());
        return;
    }
    // Saved: a restart does not bring back an ended one.
    if (changed_) changed_();
}

void AppSession::command(const cJSON* arg) {
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
}

void AppSession::reverse_ssh(bool start) {
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

}  // namespace robotd
