// libFuzzer target for what viewers send (robot/command.h): the input is a JSON payload,
// given to both the command_to_robot and the custom_event parser.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.h"
#include "fuzz_check.h"
#include "robot/command.h"

namespace {

using namespace robotd;
using fuzz::require;

bool known_key_position(const std::string& k) {
    return k.empty() || k == "down" || k == "intermediate" || k == "up";
}

bool plain_kind(const std::string& k) {
    if (k.empty() || k.size() > 32) return false;
    for (char c : k) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool unit(double v) {
    return v >= 0 && v <= 1;  // false for NaN too
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const JsonPtr doc = json_parse(in, nullptr);  // null for non-JSON: a payload of nothing

    std::string error;
    if (const auto c = parse_command(doc.get(), &error)) {
        require(!c->robot_id.empty(), "command without robot_id", in);
        require(!c->command.command.empty(), "empty command", in);
        require(known_key_position(c->command.key_position), "unknown key_position", in);
        require(c->command.received_us == 0 && c->command.reason.empty(), "stamped by parser", in);
    } else {
        require(fuzz::good_reason(error), "command reason not one bounded line", in);
    }

    error.clear();
    if (const auto p = parse_custom_event(doc.get(), &error)) {
        require(!p->robot_id.empty(), "pointer without robot_id", in);
        require(plain_kind(p->event.kind), "pointer kind", in);
        require(unit(p->event.x) && unit(p->event.y), "pointer outside 0..1", in);
    } else {
        require(fuzz::good_reason(error), "pointer reason not one bounded line", in);
    }
    return 0;
}
