// Which discovery and api lookups a configuration needs, and their URLs (PROTOCOL.md's
// table). Pure: the plan is built from the config alone, so it is unit-tested.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/url.h"

namespace robotd {

enum class LookupId {
    Control,
    Chat,
    RelayHost,
    VideoPort,
    AudioPort,
    Owner,
    Settings,
    Moderators,
    Wifi
};

struct LookupSpec {
    LookupId id;
    const char* name;    // for logs: "control", "video port", ...
    Url server;          // info or api server
    std::string target;  // path and query
};

// Every lookup to run at start; moderators come later, once the owner is known.
std::vector<LookupSpec> plan_lookups(const Config& config);
LookupSpec moderators_lookup(const Config& config, std::string_view owner);

// Percent-encodes one path segment (an id or name from config or a server).
std::string path_segment(std::string_view text);

}  // namespace robotd
