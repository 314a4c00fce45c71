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

namespace robotd {

class Robot {
  public:
    // Takes the driver; `config` and `discovery` must outlive this.
    Robot(Loop& loop, const Config& config, Discovery& discovery, std::unique_ptr<Driver> driver,
          MediaControl media);
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

  private:
    void apply_policy();
    Url discovered_url(const HostPort& hp) const;
    void retarget(Link& link, const Url& url, bool force);

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    Discovery& discovery_;
    MediaControl media_;
    PolicyState policy_;
    Drive drive_;
    ChatHandler chat_handler_;
    Link control_, chat_, app_, user_;
    AppSession app_session_;
};

}  // namespace robotd
