#include "core/url.h"

#include <gtest/gtest.h>

#include <string>

namespace robotd {
namespace {

TEST(ParseUrl, BareHostGetsDefaultSchemeAndPort) {
    const auto url = parse_url("letsrobot.tv");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->scheme, "https");
    EXPECT_EQ(url->host, "letsrobot.tv");
    EXPECT_EQ(url->port, 443);
    EXPECT_EQ(url->path, "");
    EXPECT_TRUE(url->tls());
    EXPECT_EQ(url->str(), "https://letsrobot.tv:443");
}

TEST(ParseUrl, BareHostWithCallerDefaults) {
    const auto url = parse_url("letsrobot.tv", "http", 8022);
    ASSERT_TRUE(url);
    EXPECT_EQ(url->str(), "http://letsrobot.tv:8022");
    EXPECT_FALSE(url->tls());
    // With no port given, the port follows the default scheme.
    EXPECT_EQ(parse_url("example.org", "http")->port, 80);
}

TEST(ParseUrl, BareHostWithPort) {
    const auto url = parse_url("127.0.0.1:18080");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->scheme, "https");
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, 18080);
}

TEST(ParseUrl, SchemeHostAndPort) {
    const auto url = parse_url("http://127.0.0.1:18080");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->scheme, "http");
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, 18080);
    EXPECT_EQ(url->str(), "http://127.0.0.1:18080");
}

TEST(ParseUrl, PortFollowsSchemeWhenNoDefault) {
    EXPECT_EQ(parse_url("http://a.example")->port, 80);
    EXPECT_EQ(parse_url("https://a.example")->port, 443);
    EXPECT_EQ(parse_url("ws://a.example")->port, 80);
    EXPECT_EQ(parse_url("wss://a.example")->port, 443);
}

TEST(ParseUrl, DefaultPortAppliesToAnySchemeWithoutPort) {
    EXPECT_EQ(parse_url("http://a.example", "https", 8000)->port, 8000);
    EXPECT_EQ(parse_url("http://a.example:81", "https", 8000)->port, 81);
}

TEST(ParseUrl, WebSocketSchemesMapToHttp) {
    EXPECT_EQ(parse_url("ws://h:1")->scheme, "http");
    EXPECT_EQ(parse_url("wss://h:1")->scheme, "https");
    EXPECT_EQ(parse_url("wss://h:1")->str(), "https://h:1");
}

TEST(ParseUrl, SchemeIsCaseInsensitive) {
    EXPECT_EQ(parse_url("HTTP://h:1")->scheme, "http");
    EXPECT_EQ(parse_url("Https://h")->scheme, "https");
    EXPECT_EQ(parse_url("WSS://h")->scheme, "https");
    EXPECT_EQ(parse_url("h", "HTTP")->scheme, "http");
}

TEST(ParseUrl, Ipv6LiteralInBrackets) {
    const auto url = parse_url("http://[::1]:8080");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->port, 8080);
    EXPECT_EQ(url->str(), "http://[::1]:8080");

    const auto bare = parse_url("[2001:db8::5]");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->host, "2001:db8::5");
    EXPECT_EQ(bare->str(), "https://[2001:db8::5]:443");
}

TEST(ParseUrl, PathKeptWithoutTrailingSlash) {
    const auto url = parse_url("https://h.example:8443/relay/v1/");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->path, "/relay/v1");
    EXPECT_EQ(url->str(), "https://h.example:8443/relay/v1");
    EXPECT_EQ(parse_url("http://h:1/")->path, "");
    EXPECT_EQ(parse_url("http://h:1/")->str(), "http://h:1");
}

TEST(ParseUrl, StrRoundTrips) {
    for (const char* text : {"http://127.0.0.1:18080", "https://[fe80::1]:8000/x",
                             "https://api.letsrobot.tv:443", "http://h-1.example:65535/a/b"}) {
        const auto url = parse_url(text);
        ASSERT_TRUE(url) << text;
        EXPECT_EQ(url->str(), text);
        const auto again = parse_url(url->str());
        ASSERT_TRUE(again) << text;
        EXPECT_EQ(again->scheme, url->scheme);
        EXPECT_EQ(again->host, url->host);
        EXPECT_EQ(again->port, url->port);
        EXPECT_EQ(again->path, url->path);
    }
}

TEST(ParseUrl, PortBounds) {
    EXPECT_EQ(parse_url("http://h:1")->port, 1);
    EXPECT_EQ(parse_url("http://h:65535")->port, 65535);
    EXPECT_FALSE(parse_url("http://h:0"));
    EXPECT_FALSE(parse_url("http://h:65536"));
    EXPECT_FALSE(parse_url("http://h:99999999999"));
    EXPECT_FALSE(parse_url("http://h:-1"));
    EXPECT_FALSE(parse_url("http://h:+80"));
    EXPECT_FALSE(parse_url("http://h:8o"));
    EXPECT_FALSE(parse_url("http://h:"));
    EXPECT_FALSE(parse_url("h:abc"));
    EXPECT_FALSE(parse_url("h", "https", 70000));
}

TEST(ParseUrl, RejectsMalformed) {
    const char* bad[] = {
        "",                       // empty
        "http://",                // empty host
        "http://:80",             // empty host with port
        "https:///path",          // empty host with path
        "ftp://h.example",        // unknown scheme
        "://h.example",           // empty scheme
        "h.example x",            // space
        " h.example",             // leading space
        "h.example\t",            // tab
        "http://h.example/a b",   // space in path
        "http://h.example/?q=1",  // query
        "http://h.example?q=1",   // query without path
        "http://h.example/#top",  // fragment
        "http://user@h.example",  // userinfo
        "http://u:p@h:80",        // userinfo with password
        "http://h:80:90",         // two ports
        "::1",                    // unbracketed IPv6
        "http://[::1",            // unclosed bracket
        "http://[::1]x",          // junk after bracket
        "http://[zz::1]:80",      // not an IPv6 address
        "http://[fe80::1%eth0]",  // zone id
    };
    for (const char* text : bad) EXPECT_FALSE(parse_url(text)) << "accepted: '" << text << "'";
    EXPECT_FALSE(parse_url("h.example", "ftp"));
    EXPECT_FALSE(parse_url("h.example/path"));  // a path needs an explicit scheme
    EXPECT_FALSE(parse_url("bad,host.example"));
}

}  // namespace

TEST(Url, AuthorityIsWhatAHostHeaderSays) {
    EXPECT_EQ(parse_url("https://letsrobot.tv")->authority(), "letsrobot.tv");
    EXPECT_EQ(parse_url("http://127.0.0.1:80")->authority(), "127.0.0.1");
    EXPECT_EQ(parse_url("http://127.0.0.1:18080")->authority(), "127.0.0.1:18080");
    EXPECT_EQ(parse_url("https://[::1]:8000")->authority(), "[::1]:8000");
    EXPECT_EQ(parse_url("https://[::1]")->authority(), "[::1]");
}
}  // namespace robotd
