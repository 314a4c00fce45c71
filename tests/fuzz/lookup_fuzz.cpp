// libFuzzer target for the discovery and api reply parsers (robot/lookup_reply.h): the input
// is a reply body as a server might send it, given to every parser.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "robot/lookup_reply.h"

namespace {

using namespace robotd;
using fuzz::require;

template <typename T>
bool answered(const Parsed<T>& p, std::string_view in) {
    require(p.value.has_value() != !p.error.empty(), "value and error both or neither", in);
    if (!p.value) require(fuzz::good_reason(p.error), "reason not one bounded line", in);
    return p.value.has_value();
}

// As lookup_reply.cpp promises: a name or address literal, nothing a URL could be built
// around (no scheme, path, user part, blank or control byte).
bool plain_host(const std::string& h) {
    if (h.empty() || h.size() > 253) return false;
    for (char c : h) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@') return false;
    }
    return true;
}

bool is_port(int p) {
    return p >= 1 && p <= 65535;
}

bool is_res(const std::optional<int>& r) {
    return !r || (*r >= 16 && *r <= 4094 && *r % 2 == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    if (const auto hp = parse_host_port(in); answered(hp, in)) {
        require(plain_host(hp.value->host), "host_port: host not plain", in);
        require(is_port(hp.value->port), "host_port: port out of range", in);
    }
    if (const auto h = parse_host(in); answered(h, in)) {
        require(plain_host(*h.value), "host not plain", in);
    }
    for (const char* key : {"mpeg_stream_port", "audio_stream_port"}) {
        if (const auto p = parse_port(in, key); answered(p, in)) {
            require(is_port(*p.value), "port out of range", in);
        }
    }
    answered(parse_owner(in), in);
    if (const auto s = parse_robot_settings(in); answered(s, in)) {
        require(is_res(s.value->xres) && is_res(s.value->yres), "resolution out of range", in);
        const std::string line = describe(*s.value);
        require(!line.empty() && fuzz::printable_line(line), "describe() not one line", in);
    }
    if (const auto m = parse_moderators(in); answered(m, in)) {
        for (const auto& name : *m.value) require(!name.empty(), "empty moderator name", in);
    }
    answered(parse_wifi_login(in), in);
    // Over the size limit nothing is parsed at all.
    if (in.size() > kMaxLookupBody) require(!parse_owner(in).value, "oversized body parsed", in);
    return 0;
}
