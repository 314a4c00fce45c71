// Who may drive: the rules that accept or refuse every command-like input, commands and
// pointer events alike (robot id, anonymous control, table mode, exclusive control, owner-only
// commands). Pure; the caller logs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "robot/command.h"

namespace robotd {

struct PolicyState {
    std::string robot_id;
    std::string owner;
    std::vector<std::string> moderators;  // for chat_rank(); not consulted by decide()
    bool anon_control = true;
    bool table_mode = false;
    std::optional<std::string> exclusive_user;
    std::vector<std::string> straight_commands{"F", "B"};
    std::vector<std::string> owner_commands;
};

enum class Verdict { Accept, OtherRobot, Anonymous, TableMode, Exclusive, OwnerOnly };

struct Decision {
    Verdict verdict;
    std::string reason;  // one line for the log: what, from whom, and why
    std::string why;     // just why: "anonymous control is off", ...
};

// The rules in order, the first that refuses wins: robot_id must be ours; anonymous users
// (anonymous, or no user name) only while anon_control; table mode refuses the straight
// commands; while exclusive_user is set only that user drives; owner_commands only from the
// owner. User names and commands compare ASCII case-insensitively; an anonymous sender is
// never the owner or the exclusive user, whatever name it carries.
Decision decide(const PolicyState& s, const CommandMessage& m);
// The same rules for a pointer event (a click on the video drives too): robot_id, anonymous
// control and exclusive control apply; table mode does not (it names straight commands); it
// is owner-only when owner_commands lists "pointer".
Decision decide(const PolicyState& s, const PointerMessage& m);

// Who may send which chat command (PROTOCOL.md): the owner ranks above moderators, who rank
// above everyone else.
enum class ChatRank { Everyone, Moderator, Owner };

// The rank of a chat message's sender: Owner when `user` is s.owner (the config's owner until
// the site's get_robot_owner answer replaces it), Moderator when in s.moderators, else
// Everyone. As in decide(): names compare ASCII case-insensitively and an anonymous sender
// (or one without a name) is Everyone, whatever name it carries.
ChatRank chat_rank(const PolicyState& s, const std::string& user, bool anonymous);

// "accept", "other-robot", "anonymous", "table-mode", "exclusive", "owner-only".
const char* verdict_name(Verdict v);

}  // namespace robotd
