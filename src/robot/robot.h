// The LetsRobot robot on the loop: the four sessions (robot/sessions.h), the policy every
// command-like input passes, the drive (motion and driver) and the chat handler, wired once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "robot/discovery.h"
#include "robot/drive.h"
#include "robot/link.h"
#include "robot/policy.h"
#include "robot/sessions.h"
#include "robot/settings_post.h"
#include "robot/state_file.h"

namespace robotd {

class Robot {
  public:
    // Takes the driver; `config` and `discovery` must outlive this. Reads the state file
    // ([misc] state_file) before the loop runs.
    Robot(Loop& loop, const Config& config, Discovery& discovery, std::unique_ptr<Driver> driver,
          MediaControl media, SpeechControl speech);
    ~Robot();  // the links close first, then the last stop goes to the hardware
    Robot(const Robot&) = delete;
    Robot& operator=(const Robot&) = delete;

    // Opens the app and user sessions; control and chat open once discovery finds them.
    void start();
    // Discovery learnt something: (re)target a session, refresh owner, moderators, settings.
    void resolved(LookupId id);
    // The config (the object this robot refers to) was replaced by a SIGHUP; `changed` lists
    // the keys that differ (changed_keys()). Re-applies only those: sessions whose endpoint,
    // identity or TLS changed reconnect, the driver is replaced when its section changed.
    void reconfigure(const Config& previous, const std::vector<std::string>& changed);

    const PolicyState& policy() const { return policy_; }
    // The four sessions for the status line: name and whether it is connected, control first.
    std::vector<std::pair<const char*, bool>> links() const;
    // The longest outage of a link that is down ("chat failing for 3 min: ..."), control's
    // and chat's before app's and user's, or "".
    std::string link_outage() const;

  private:
    void apply_policy();
    // A chat command changed policy_.mod: apply it and save the state file.
    void moderation_changed();
    // A chat command changed a site setting: tell the site.
    void site_setting(const std::string& key, bool value);
    void check_live();
    // The config's values the state file overrides.
    Moderation moderation_defaults() const;
    Url discovered_url(const HostPort& hp) const;
    void retarget(Link& link, const Url& url, bool force);

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    Discovery& discovery_;
    MediaControl media_;
    SpeechControl speech_;
    PolicyState policy_;
    // The site's anonymous_control, until a chat command sets it (and tells the site).
    bool site_anon_control_ = true;
    StateFile state_;
    SettingsPoster settings_;
    Drive drive_;
    ChatHandler chat_handler_;
    Link control_, chat_, app_, user_;
    AppSession app_session_;
    Timer moderators_refresh_;  // every few minutes, and when chat connects
};

}  // namespace robotd
