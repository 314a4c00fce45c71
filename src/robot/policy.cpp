#include "robot/policy.h"

#include "core/json.h"
#include "core/text.h"

namespace robotd {

namespace {

bool anonymous(const DriveCommand& c) {
    return c.anonymous || c.user.empty();
}

// Names grant rights only to signed-in users: "anonymous" plus a borrowed name is no one.
bool is_user(const DriveCommand& c, const std::string& name) {
    return !anonymous(c) && !name.empty() && iequals(c.user, name);
}

std::string quoted(const std::string& s) {
    return "'" + excerpt(s) + "'";
}

}  // namespace

Decision decide(const PolicyState& s, const CommandMessage& m) {
    const DriveCommand& c = m.command;
    const std::string what = quoted(c.command) + " from " + quoted(c.user);
    if (m.robot_id != s.robot_id)
        return {Verdict::OtherRobot, what + " is for robot " + quoted(m.robot_id)};
    if (!s.anon_control && anonymous(c))
        return {Verdict::Anonymous, what + " refused: anonymous control is off"};
    if (s.table_mode && name_in(c.command, s.straight_commands))
        return {Verdict::TableMode, what + " refused: table mode"};
    if (s.exclusive_user && !is_user(c, *s.exclusive_user))
        return {Verdict::Exclusive,
                what + " refused: exclusive control by " + quoted(*s.exclusive_user)};
    if (name_in(c.command, s.owner_commands) && !is_user(c, s.owner))
        return {Verdict::OwnerOnly, what + " refused: only the owner may send it"};
    return {Verdict::Accept, what + " accepted"};
}

ChatRank chat_rank(const PolicyState& s, const std::string& user, bool anonymous) {
    if (anonymous || user.empty()) return ChatRank::Everyone;
    if (!s.owner.empty() && iequals(user, s.owner)) return ChatRank::Owner;
    for (const auto& m : s.moderators)
        if (!m.empty() && iequals(user, m)) return ChatRank::Moderator;
    return ChatRank::Everyone;
}

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Accept:
            return "accept";
        case Verdict::OtherRobot:
            return "other-robot";
        case Verdict::Anonymous:
            return "anonymous";
        case Verdict::TableMode:
            return "table-mode";
        case Verdict::Exclusive:
            return "exclusive";
        case Verdict::OwnerOnly:
            return "owner-only";
    }
    return "unknown";
}

}  // namespace robotd
