// The robot's four socket.io sessions (PROTOCOL.md's table), one small handler each: what a
// session sends on its timers and where the events it receives go. Robot wires them.
#pragma once

#include <deque>
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

// What chat asks of speech. Empty functions: no speech in this build/test.
struct SpeechControl {
    std::function<void(const std::string& text, const std::string& who)> say;  // filtered text
    std::function<void(bool muted)> mute;     // muted: nothing spoken, the current message stops
    std::function<void(int percent)> volume;  // 0..100, applied in software
};

// What a chat command asks of the robot beyond the policy it changed.
struct ChatHooks {
    std::function<void()> changed;  // policy.mod changed: re-apply the policy, save the state
    std::function<void(const std::string& key, bool value)> setting;  // tell the site
};

// Chat messages from the chat session and the woot room: chat commands acted on by rank
// (ext_chat), other text spoken through SpeechControl after the filters, at once or after
// [tts] delay unless message_removed names it first.
class ChatHandler {
  public:
    // At most this many messages wait for their delay; more drop the oldest.
    static constexpr size_t kMaxDelayed = 50;

    // `policy.mod` is the moderation state the commands change.
    ChatHandler(Loop& loop, const Config& config, PolicyState& policy, const MediaControl& media,
                const SpeechControl& speech, ChatHooks hooks);
    void message(const cJSON* payload, const char* session);
    // message_removed {message_id}: a delayed message not yet spoken is dropped.
    void removed(const cJSON* payload);
    // Control and chat are both connected: the boot message, the first time only.
    void live();
    size_t delayed() const { return delayed_.size(); }

    struct Command;  // a row of the command table (chat_commands.cpp)
    struct Outcome {
        bool ok;           // acted: `text` says what was done; else why not
        std::string text;  // one line
    };

  private:
    void command(const ChatMessage& m, const char* session);
    void speak(const ChatMessage& m, const char* session);
    void say_now(const std::string& text, const std::string& who, const char* session);
    void delayed_due();
    void changed() {
        if (hooks_.changed) hooks_.changed();
    }
    void setting(const std::string& key, bool value) {
        if (hooks_.setting) hooks_.setting(key, value);
    }
    friend struct ChatActions;

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    PolicyState& policy_;
    const MediaControl& media_;
    const SpeechControl& speech_;
    ChatHooks hooks_;
    struct Delayed {
        std::string id, text, who;
        int64_t due_us;
    };
    std::deque<Delayed> delayed_;
    Timer delay_timer_;
    bool booted_ = false;
};

// control: identifies with robot_id; command_to_robot drives; a lost link stops the robot.
void route_control(Link& link, const Config& config, Drive& drive, Discovery& discovery);
// chat: identifies with identify_robot_id; chat_message_with_name goes to the chat handler.
void route_chat(Link& link, const Config& config, ChatHandler& chat, Discovery& discovery);
// user: message_removed (to the chat handler), the woot room's chat, user_blocked and
// user_timeout.
void route_user(Link& link, const Config& config, ChatHandler& chat);

// app: video status every video_status_interval, the robot's address every minute, the
// charge state (when sensed) at each change and every chargeCheckInterval, exclusive
// control, settings changes, VIDOFF/VIDON and reverse SSH.
class AppSession {
  public:
    // `changed` runs after exclusive_control changed policy.mod (the state file keeps it).
    AppSession(Loop& loop, Link& link, const Config& config, PolicyState& policy,
               Discovery& discovery, const MediaControl& media,
               std::function<void()> changed = nullptr);
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
    std::function<void()> changed_;
    Loop& loop_;
    Timer video_status_, ip_info_;
    Child reverse_ssh_;
    std::unique_ptr<ChargeSensing> charge_;  // null: no charge line configured, or none found
};

// The first non-loopback IPv4 address of this machine (IPv6 when there is no IPv4), or
// empty: what ip_information reports.
std::string first_public_address();

}  // namespace robotd
