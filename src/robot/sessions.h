// The robot's four socket.io sessions (PROTOCOL.md's table): control, chat, app (video
// status) and user; what each sends on a timer, and where what each receives goes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "hw/driver.h"
#include "hw/motion.h"
#include "net/child.h"
#include "net/sio_client.h"
#include "robot/chat.h"
#include "robot/discovery.h"
#include "robot/policy.h"

namespace robotd {

// What the sessions hand to the media side (the media pipeline implements it later).
struct MediaControl {
    std::function<void(bool on)> video;  // VIDON / VIDOFF
    std::function<void(const RobotSettings&)> settings;
    // The truth for send_video_status.
    std::function<bool()> video_running;
    // The owner's ".brightness N" etc.: a checked control name and 0..100.
    std::function<void(const std::string& control, int percent)> camera_control;
};

class Sessions {
  public:
    // Takes the driver; `discovery` must outlive this.
    Sessions(Loop& loop, const Config& config, Discovery& discovery,
             std::unique_ptr<Driver> driver);
    ~Sessions();  // a final stop goes to the hardware
    Sessions(const Sessions&) = delete;
    Sessions& operator=(const Sessions&) = delete;

    // Opens the app and user sessions; control and chat open once discovery finds them.
    void start();
    // Discovery learnt something: (re)target a session, refresh owner, moderators, settings.
    void resolved(LookupId id);
    void set_media(MediaControl media) { media_ = std::move(media); }

    const PolicyState& policy() const { return policy_; }

  private:
    void on_command(const sio::Event& ev, const char* session);
    void on_custom_event(const sio::Event& ev, const char* session);
    void on_chat(const sio::Event& ev, const char* session);
    void on_camera_command(const ChatMessage& m, const char* session);
    void on_app_event(const sio::Event& ev);
    void on_user_event(const sio::Event& ev);
    bool common_event(const sio::Event& ev, const char* session);
    void identify(SioClient& client, const char* event);
    void send_video_status();
    void send_ip_information();
    void reverse_ssh(bool start);
    Url discovered_url(const HostPort& hp) const;
    std::string quoted_robot_id() const;

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    Discovery& discovery_;
    std::unique_ptr<Driver> driver_;
    Motion motion_;
    PolicyState policy_;
    MediaControl media_;

    SioClient control_, chat_, app_, user_;
    Timer control_identify_, chat_identify_, video_status_, ip_info_;
    Child reverse_ssh_;
};

// The first non-loopback IPv4 address of this machine (IPv6 when there is no IPv4), or
// empty: what ip_information reports.
std::string first_public_address();

}  // namespace robotd
