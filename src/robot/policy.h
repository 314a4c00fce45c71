// Who may drive: the rules that accept or refuse every command-like input, commands and
// pointer events alike (robot id, bans and timeouts, anonymous control, devmode, table mode,
// exclusive control, whitelisted and owner-only commands). Pure; the caller logs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "robot/command.h"
#include "robot/moderation.h"

namespace robotd {

struct PolicyState {
    std::string robot_id;
    std::vector<std::string> owners;  // [robot] owner's list plus the site's owner
    std::vector<std::string> moderators;
    // The effective value: the robot's choice (mod.anon_control) and the site's combined.
    bool anon_control = true;
    // decide() reads its bans, timeouts, devmode, whitelists, table mode and exclusive user
    // (set from chat, the site's exclusive_control and the state file).
    Moderation mod;
    std::vector<std::string> straight_commands{"F", "B"};
    std::vector<std::string> owner_commands;
};

enum class Verdict {
    Accept,
    OtherRobot,
    Banned,
    TimedOut,
    Anonymous,
    DevMode,
    TableMode,
    Exclusive,
    Whitelist,
    OwnerOnly
};

struct Decision {
    Verdict verdict;
    std::string reason;  // one line for the log: what, from whom, and why
    std::string why;     // just why: "anonymous control is off", ...
};

// The rules in order, the first that refuses wins: robot_id must be ours; banned users never
// and timed-out users not before their end (`now_us`, the monotonic clock); anonymous users
// (anonymous, or no user name) only while anon_control; devmode on: only owners, mods:
// owners and moderators; table mode refuses the straight commands; while mod.exclusive_user is
// set only that user drives; a whitelisted command only from whitelisted users and owners;
// owner_commands only from an owner. User names and commands compare ASCII
// case-insensitively; an anonymous sender is never an owner, moderator, whitelisted or the
// exclusive user, whatever name it carries.
Decision decide(const PolicyState& s, const CommandMessage& m, int64_t now_us);
// The same rules for a pointer event (a click on the video drives too): all apply but table
// mode (it names straight commands); "pointer" may be whitelisted or owner-only.
Decision decide(const PolicyState& s, const PointerMessage& m, int64_t now_us);

// Who may send which chat command (PROTOCOL.md): the owner ranks above moderators, who rank
// above everyone else.
enum class ChatRank { Everyone, Moderator, Owner };

// The rank of a chat message's sender: Owner when `user` is in s.owners (the config's list
// plus the site's get_robot_owner answer), Moderator when in s.moderators, else
// Everyone. As in decide(): names compare ASCII case-insensitively and an anonymous sender
// (or one without a name) is Everyone, whatever name it carries.
ChatRank chat_rank(const PolicyState& s, const std::string& user, bool anonymous);

// "accept", "other-robot", "banned", "timed-out", "anonymous", "devmode", "table-mode",
// "exclusive", "whitelist", "owner-only".
const char* verdict_name(Verdict v);

}  // namespace robotd
