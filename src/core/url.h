// Endpoint URLs as the config and discovery give them: a bare host ("letsrobot.tv")
// or a URL with scheme and port ("http://127.0.0.1:18080").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace robotd {

struct Url {
    std::string scheme;  // "http" or "https"
    std::string host;    // no brackets, even for IPv6 literals
    int port = 0;
    std::string path;  // empty, or starts with '/'; never ends with '/'

    bool tls() const { return scheme == "https"; }
    // "http://host:port" with the port always written, plus path.
    std::string str() const;
    // What a Host header says: the host ([...] around IPv6), and ":port" unless it is the
    // scheme's default.
    std::string authority() const;
};

// Parses `text` as a bare host[:port] or scheme://host[:port][/path].
// A bare host gets `default_scheme`; a missing port gets `default_port`, or 443/80
// by scheme when `default_port` is 0. Accepts http, https, ws (=http), wss (=https).
// Returns nullopt on anything else (empty host, bad port, unknown scheme, spaces).
std::optional<Url> parse_url(std::string_view text, std::string_view default_scheme = "https",
                             int default_port = 0);

}  // namespace robotd
