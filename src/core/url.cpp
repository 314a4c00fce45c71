#include "core/url.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

#include "core/text.h"

namespace robotd {

namespace {

// The config and discovery know only two transports; ws/wss are the same sockets by
// another name, so they collapse onto http/https.
std::optional<std::string> canonical_scheme(std::string_view scheme) {
    const std::string s = lower(scheme);
    if (s == "http" || s == "ws") return "http";
    if (s == "https" || s == "wss") return "https";
    return std::nullopt;
}

// Host names as DNS has them (underscore tolerated: some internal names use it).
bool valid_host_name(std::string_view host) {
    if (host.empty()) return false;
    for (char c : host) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isalnum(u) && c != '-' && c != '.' && c != '_') return false;
    }
    return true;
}

bool valid_ipv6(std::string_view host) {
    // inet_pton wants a terminated string; zone ids ("%eth0") are rejected on purpose,
    // they would need percent-encoding in a URL.
    const std::string s(host);
    unsigned char buf[16];
    return inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::optional<int> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    int port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    if (port < 1 || port > 65535) return std::nullopt;
    return port;
}

}  // namespace

std::string Url::authority() const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (tls() ? 443 : 80)) out += ":" + std::to_string(port);
    return out;
}

std::string Url::str() const {
    std::string out = scheme + "://";
    // An IPv6 literal needs brackets, or its colons would read as a port.
    if (host.find(':') != std::string::npos) {
        out += '[' + host + ']';
    } else {
        out += host;
    }
    out += ':' + std::to_string(port) + path;
    return out;
}

std::optional<Url> parse_url(std::string_view text, std::string_view default_scheme,
                             int default_port) {
    // Nothing a URL here may legitimately contain is blank or a control character; this
    // also catches "host name" typed with a space.
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return std::nullopt;
    }
    // Queries, fragments and credentials have no meaning for these endpoints; refusing
    // them beats silently sending them somewhere.
    if (text.find_first_of("?#@") != std::string_view::npos) return std::nullopt;

    Url url;
    std::string_view rest = text;
    const bool bare = rest.find("://") == std::string_view::npos;
    std::optional<std::string> scheme;
    if (bare) {
        scheme = canonical_scheme(default_scheme);
    } else {
        const size_t sep = rest.find("://");
        scheme = canonical_scheme(rest.substr(0, sep));
        rest.remove_prefix(sep + 3);
    }
    if (!scheme) return std::nullopt;
    url.scheme = *scheme;

    const size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path;
    if (slash != std::string_view::npos) path = rest.substr(slash);
    // A bare host is "host[:port]" only; a path needs an explicit scheme.
    if (bare && !path.empty()) return std::nullopt;

    std::string_view host;
    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = authority.substr(1, close - 1);
        if (!valid_ipv6(host)) return std::nullopt;
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(colon + 1);
        }
        if (!valid_host_name(host)) return std::nullopt;
    }
    url.host = std::string(host);

    if (has_port) {
        const auto port = parse_port(port_text);  // also rejects a second ':'
        if (!port) return std::nullopt;
        url.port = *port;
    } else if (default_port != 0) {
        if (default_port < 1 || default_port > 65535) return std::nullopt;
        url.port = default_port;
    } else {
        url.port = url.tls() ? 443 : 80;
    }

    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    url.path = std::string(path);
    return url;
}

}  // namespace robotd
