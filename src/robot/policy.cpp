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

bool is_owner(const PolicyState& s, const Request& r) {
    return !anonymous(r) && name_in(r.user, s.owners);
}

Decision decide_request(const PolicyState& s, const Request& r, int64_t now_us) {
    const auto refuse = [&](Verdict v, std::string why) {
        return Decision{v, quoted(r.command) + " from " + quoted(r.user) + " refused: " + why, why};
    };
    if (r.robot_id != s.robot_id)
        return {
            Verdict::OtherRobot,
            quoted(r.command) + " from " + quoted(r.user) + " is for robot " + quoted(r.robot_id),
            "for robot " + quoted(r.robot_id)};
    // A ban names a user: it holds whether or not they signed in under that name.
    if (s.mod.is_banned(r.user)) return refuse(Verdict::Banned, "the user is banned");
    if (s.mod.timed_out(r.user, now_us)) return refuse(Verdict::TimedOut, "the user is timed out");
    if (!s.anon_control && anonymous(r))
        return refuse(Verdict::Anonymous, "anonymous control is off");
    const bool owner = is_owner(s, r);
    if (s.mod.devmode == DevMode::On && !owner)
        return refuse(Verdict::DevMode, "devmode: only the owner drives");
    if (s.mod.devmode == DevMode::Mods && !owner &&
        !(!anonymous(r) && name_in(r.user, s.moderators)))
        return refuse(Verdict::DevMode, "devmode: only the owner and moderators drive");
    if (s.mod.table_mode && r.straight) return refuse(Verdict::TableMode, "table mode");
    const std::optional<std::string>& exclusive = s.mod.exclusive_user;
    if (exclusive && !is_user(r, *exclusive))
        return refuse(Verdict::Exclusive, "exclusive control by " + quoted(*exclusive));
    if (s.mod.command_whitelisted(r.command) && !owner &&
        !(!anonymous(r) && s.mod.whitelisted(r.user)))
        return refuse(Verdict::Whitelist,
                      "a whitelisted command, and the user is not on the whitelist");
    if (name_in(r.command, s.owner_commands) && !owner)
        return refuse(Verdict::OwnerOnly, "only the owner may send it");
    return {Verdict::Accept, quoted(r.command) + " from " + quoted(r.user) + " accepted", ""};
}

}  // namespace

Decision decide(const PolicyState& s, const CommandMessage& m, int64_t now_us) {
    const DriveCommand& c = m.command;
    return decide_request(
        s, {m.robot_id, c.user, c.anonymous, c.command, name_in(c.command, s.straight_commands)},
        now_us);
}

Decision decide(const PolicyState& s, const PointerMessage& m, int64_t now_us) {
    static const std::string kPointer = "pointer";
    return decide_request(s, {m.robot_id, m.event.user, m.event.anonymous, kPointer, false},
                          now_us);
}

ChatRank chat_rank(const PolicyState& s, const std::string& user, bool anonymous) {
    if (anonymous || user.empty()) return ChatRank::Everyone;
    if (name_in(user, s.owners)) return ChatRank::Owner;
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
        case Verdict::Banned:
            return "banned";
        case Verdict::TimedOut:
            return "timed-out";
        case Verdict::Anonymous:
            return "anonymous";
        case Verdict::DevMode:
            return "devmode";
        case Verdict::Whitelist:
            return "whitelist";
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
