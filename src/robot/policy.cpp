#include "robot/policy.h"

#include "core/json.h"
#include "core/text.h"

namespace robotd {

namespace {

// What every command-like input is judged by.
struct Request {
    const std::string& robot_id;
    const std::string& user;
    bool anonymous;
    const std::string& command;  // "pointer" for a pointer event
    bool straight;               // table mode refuses it
};

bool anonymous(const Request& r) {
    return r.anonymous || r.user.empty();
}

// Names grant rights only to signed-in users: "anonymous" plus a borrowed name is no one.
bool is_user(const Request& r, const std::string& name) {
    return !anonymous(r) && !name.empty() && iequals(r.user, name);
}

std::string quoted(const std::string& s) {
    return "'" + excerpt(s) + "'";
}

Decision decide_request(const PolicyState& s, const Request& r) {
    const auto refuse = [&](Verdict v, std::string why) {
        return Decision{v, quoted(r.command) + " from " + quoted(r.user) + " refused: " + why, why};
    };
    if (r.robot_id != s.robot_id)
        return {
            Verdict::OtherRobot,
            quoted(r.command) + " from " + quoted(r.user) + " is for robot " + quoted(r.robot_id),
            "for robot " + quoted(r.robot_id)};
    if (!s.anon_control && anonymous(r))
        return refuse(Verdict::Anonymous, "anonymous control is off");
    if (s.table_mode && r.straight) return refuse(Verdict::TableMode, "table mode");
    if (s.exclusive_user && !is_user(r, *s.exclusive_user))
        return refuse(Verdict::Exclusive, "exclusive control by " + quoted(*s.exclusive_user));
    if (name_in(r.command, s.owner_commands) && !is_user(r, s.owner))
        return refuse(Verdict::OwnerOnly, "only the owner may send it");
    return {Verdict::Accept, quoted(r.command) + " from " + quoted(r.user) + " accepted", ""};
}

}  // namespace

Decision decide(const PolicyState& s, const CommandMessage& m) {
    const DriveCommand& c = m.command;
    return decide_request(
        s, {m.robot_id, c.user, c.anonymous, c.command, name_in(c.command, s.straight_commands)});
}

Decision decide(const PolicyState& s, const PointerMessage& m) {
    static const std::string kPointer = "pointer";
    return decide_request(s, {m.robot_id, m.event.user, m.event.anonymous, kPointer, false});
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
