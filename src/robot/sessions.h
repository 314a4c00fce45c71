// The robot's four socket.io sessions (PROTOCOL.md's table), one small handler each: what a
// session sends on its timers and where the events it receives go. Robot wires them.
#pragma once

#include <functional>
#include <string>

#include "core/config.h"
#include "hw/charge_sensor.h"
#include "media/stream.h"
#include "net/child.h"
#include "robot/chat.h"
#include "robot/discovery.h"
#include "robot/drive.h"
#include "robot/link.h"
#include "robot/policy.h"

namespace robotd {

// What the sessions ask of the media side, and the truth they report about it.
struct MediaControl {
    std::function<void(bool on)> video;  // VIDON / VIDOFF
    std::function<void(const RobotSettings&)> settings;
    std::function<bool()> video_running;  // for send_video_status
    // The owner's ".brightness N" etc.: a checked control name and 0..100.
    std::function<void(const std::string& control, int percent)> camera_control;
    std::function<void(bool on)> audio;                             // .audio start|stop
    std::function<void(media::StreamKind kind)> restart;            // .video/.audio restart
    std::function<void(media::StreamKind kind, int kbps)> bitrate;  // .video/.audio bitrate N
    std::function<void(bool muted)> mic;  // .mic mute|unmute (really mutes)
};

// Chat messages from the chat session and the woot room: logged; the owner's camera
// controls act. (Chat commands by rank and speech build on this.)
class ChatHandler {
  public:
    ChatHandler(Logger& log, const Config& config, const PolicyState& policy,
                const MediaControl& media)
        : log_(log), config_(config), policy_(policy), media_(media) {}
    void message(const cJSON* payload, const char* session);

  private:
    void camera_command(const ChatMessage& m, const char* session);

    Logger& log_;
    const Config& config_;
    const PolicyState& policy_;
    const MediaControl& media_;
};

// control: identifies with robot_id; command_to_robot drives; a lost link stops the robot.
void route_control(Link& link, const Config& config, Drive& drive, Discovery& discovery);
// chat: identifies with identify_robot_id; chat_message_with_name goes to the chat handler.
void route_chat(Link& link, const Config& config, ChatHandler& chat, Discovery& discovery);
// user: message_removed, the woot room's chat, user_blocked and user_timeout.
void route_user(Link& link, const Config& config, ChatHandler& chat);

// app: video status every video_status_interval, the robot's address every minute, the
// charge state (when sensed) at each change and every chargeCheckInterval, exclusive
// control, settings changes, VIDOFF/VIDON and reverse SSH.
class AppSession {
  public:
    AppSession(Loop& loop, Link& link, const Config& config, PolicyState& policy,
               Discovery& discovery, const MediaControl& media);
    AppSession(const AppSession&) = delete;
    AppSession& operator=(const AppSession&) = delete;

    // The charge keys changed (SIGHUP): the old line is let go, the new one watched.
    void restart_charge_sensing();

  private:
    void send_video_status();
    void send_ip_information();
    void send_charge_state(bool charging);
    void exclusive_control(const cJSON* arg);
    void command(const cJSON* arg);
    void reverse_ssh(bool start);

    Logger& log_;
    Link& link_;
    const Config& config_;
    PolicyState& policy_;
    const MediaControl& media_;
    Loop& loop_;
    Timer video_status_, ip_info_;
    Child reverse_ssh_;
    std::unique_ptr<ChargeSensing> charge_;  // null: no charge line configured, or none found
};

// The first non-loopback IPv4 address of this machine (IPv6 when there is no IPv4), or
// empty: what ip_information reports.
std::string first_public_address();

}  // namespace robotd
