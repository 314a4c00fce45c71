// The socket.io client's state machine against a real WebSocket server whose every frame is
// scripted: connection ownership, protocol order, liveness and backoff under faults.
#include "net/sio_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "fake_http_server.h"
#include "loop_harness.h"
#include "scripted_ws_server.h"

namespace robotd {
namespace {

// A port nothing listens on: bound once by the kernel's choice, then closed.
int closed_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

Url url_of(const std::string& text) {
    return *parse_url(text, "http");
}

// A well-behaved socket.io server on top of the scripted one; tests change what they need.
struct SioServer {
    explicit SioServer(Loop& loop) : ws(loop) {
        ws.on_open = [this](int id) {
            if (on_open && on_open(id)) return;
            ws.send(id, open_packet());
            if (version == 3) ws.send(id, "40");
        };
        ws.on_text = [this](int id, const std::string& t) {
            if (version == 4 && t.rfind("40", 0) == 0) ws.send(id, "40{\"sid\":\"nsp1\"}");
            if (version == 3 && t == "2" && answer_pings) ws.send(id, "3");
            if (t.rfind("42", 0) == 0) events.push_back(t.substr(2));
        };
    }
    std::string open_packet() const {
        std::string p = "0{\"sid\":\"s" + std::to_string(ws.last()) +
                        "\",\"upgrades\":[],\"pingInterval\":" + std::to_string(ping_interval) +
                        ",\"pingTimeout\":" + std::to_string(ping_timeout);
        if (version == 4) p += ",\"maxPayload\":1000000";
        return p + "}";
    }
    std::string url() const { return ws.url(); }

    ScriptedWsServer ws;
    int version = 4;
    uint32_t ping_interval = 25000, ping_timeout = 20000;
    bool answer_pings = true;
    std::function<bool(int id)> on_open;  // true: it scripted the connection itself
    std::vector<std::string> events;      // what the client emitted ("[name,arg]")
};

class SioClientTest : public LoopTest {
  protected:
    std::unique_ptr<SioClient> make(EioMode mode = EioMode::V4) {
        mode_ = mode;
        SioClient::Handlers h;
        h.connected = [this] { ++connected_; };
        h.disconnected = [this](const std::string& why) { lost_.push_back(why); };
        h.failing = [this](int n) {
            failures_.push_back(n);
            if (on_failing) on_failing(n);
        };
        return std::make_unique<SioClient>(loop_, "test", "check the test", std::move(h));
    }
    EioMode mode_ = EioMode::V4;
    int connected_ = 0;
    std::vector<std::string> lost_;
    std::vector<int> failures_;
    std::function<void(int)> on_failing;
};

// A wss server that accepts and never answers the ClientHello: lws' own timeout for that is
// only a far backstop (310 s), so the client's 10 s handshake bound gives up and retries.
TEST_F(SioClientTest, AServerThatNeverCompletesTheTlsHandshakeIsGivenUpAfter10s) {
    FakeHttpServer silent([](const FakeHttpServer::Request&) { return FakeHttpServer::hold(); });
    ASSERT_NE(silent.port(), 0);
    auto client = make();
    testing::internal::CaptureStderr();
    client->open(url_of("https://127.0.0.1:" + std::to_string(silent.port())), EioMode::V4);
    const bool failed = run_until([&] { return !failures_.empty(); }, 25000);
    client->close();
    const std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(failed) << log;
    EXPECT_EQ(connected_, 0);
    EXPECT_NE(log.find("no connection within 10 s"), std::string::npos) << log;
}

TEST_F(SioClientTest, ConnectsEmitsAndFollowsAnEngineIo3Server) {
    for (int version : {4, 3}) {
        SioServer server(loop_);
        server.version = version;
        ASSERT_TRUE(server.ws.ok());
        auto client = make(EioMode::Auto);
        connected_ = 0;
        client->open(url_of(server.url()), EioMode::Auto);
        ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 5000)) << "version " << version;
        EXPECT_EQ(client->version(), version == 3 ? eio::Version::V3 : eio::Version::V4);
        EXPECT_TRUE(client->emit("hello", "\"robot1\""));
        ASSERT_TRUE(run_until([&] { return !server.events.empty(); }));
        EXPECT_EQ(server.events[0], "[\"hello\",\"robot1\"]");
        EXPECT_EQ(server.ws.connections(), 1);
    }
}

// Defect 1: after 3 failures discovery answers again and the session is opened anew while
// its retry timer is still armed. Both used to start an attempt: two connections to one
// server, the orphan's close then dropped the healthy link, over and over.
TEST_F(SioClientTest, OpeningAgainWhileARetryIsArmedMakesOneConnection) {
    SioServer server(loop_);
    ASSERT_TRUE(server.ws.ok());
    auto client = make();
    on_failing = [&](int n) {
        if (n == 3) client->open(url_of(server.url()), EioMode::V4);  // the server moved
    };
    client->open(url_of("http://127.0.0.1:" + std::to_string(closed_port())), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 10000));
    // Longer than any retry the failures had armed (the third waits at most 2 s).
    run_for(3000);
    EXPECT_EQ(server.ws.connections(), 1);
    EXPECT_EQ(server.ws.max_open(), 1);
    EXPECT_EQ(connected_, 1);
    EXPECT_TRUE(lost_.empty());
    EXPECT_TRUE(client->connected());
}

TEST_F(SioClientTest, OpeningTheSameServerWhileConnectedChangesNothing) {
    SioServer server(loop_);
    auto client = make();
    client->open(url_of(server.url()), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 5000));
    for (int i = 0; i < 5; ++i) client->open(url_of(server.url()), EioMode::V4);
    run_for(300);
    EXPECT_EQ(server.ws.connections(), 1);
    EXPECT_EQ(server.ws.open_connections(), 1);
}

// Destroying the client (SIGHUP, exit) while its connection is half open must leave no
// callback pointing at it (it was a use-after-free when an orphan lived on).
TEST_F(SioClientTest, DestroyedWhileConnectingLeavesNothingBehind) {
    SioServer server(loop_);
    server.on_open = [](int) { return true; };  // accepts the WebSocket, never says a word
    auto client = make();
    client->open(url_of(server.url()), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return server.ws.connections() == 1; }, 5000));
    client.reset();
    ASSERT_TRUE(run_until([&] { return server.ws.open_connections() == 0; }, 5000));
    run_for(200);
    EXPECT_EQ(connected_, 0);
}

// Defect 7: a namespace connect before the Engine.IO handshake used to connect the session
// with no liveness deadline at all.
TEST_F(SioClientTest, NamespaceConnectBeforeTheHandshakeIsRefused) {
    SioServer server(loop_);
    server.ping_interval = 1000;
    server.ping_timeout = 1000;
    server.on_open = [&](int id) {
        server.ws.send(id, "40");  // out of order
        server.ws.send(id, server.open_packet());
        return true;
    };
    auto client = make();
    client->open(url_of(server.url()), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return server.ws.connections() >= 2; }, 5000))
        << "the client dropped the link and tried again";
    EXPECT_EQ(connected_, 0);
    EXPECT_GE(failures_.size(), 1u);
}

TEST_F(SioClientTest, ASecondHandshakeDropsTheLink) {
    SioServer server(loop_);
    auto client = make();
    client->open(url_of(server.url()), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 5000));
    server.ws.send(0, server.open_packet());
    ASSERT_TRUE(run_until([&] { return !lost_.empty(); }, 5000));
    EXPECT_EQ(lost_[0], "protocol error: a second Engine.IO handshake");
    ASSERT_TRUE(run_until([&] { return connected_ == 2; }, 5000)) << "and it comes back";
    EXPECT_EQ(server.ws.open_connections(), 1);
}

TEST_F(SioClientTest, ASilentServerIsDeclaredDeadAfterPingIntervalPlusTimeout) {
    for (int version : {4, 3}) {
        SioServer server(loop_);
        server.version = version;
        server.ping_interval = 1000;
        server.ping_timeout = 1000;
        server.answer_pings = false;  // Engine.IO 3: pings go unanswered
        auto client = make(version == 3 ? EioMode::V3 : EioMode::V4);
        lost_.clear();
        connected_ = 0;
        client->open(url_of(server.url()), version == 3 ? EioMode::V3 : EioMode::V4);
        ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 5000));
        const int64_t t0 = mono_us();
        ASSERT_TRUE(run_until([&] { return !lost_.empty(); }, 6000)) << "version " << version;
        EXPECT_LT(mono_us() - t0, 4000000) << "within 2 s + scheduling, not the default 45 s";
        EXPECT_NE(lost_[0].find("the link is dead"), std::string::npos) << lost_[0];
    }
}

// Defect 6: the backoff was reset on every connect, so a server that accepts and at once
// disconnects the namespace was retried twice a second forever.
TEST_F(SioClientTest, AServerThatKicksRightAfterConnectingIsRetriedWithGrowingDelays) {
    SioServer server(loop_);
    server.ws.on_text = [&](int id, const std::string& t) {
        if (t.rfind("40", 0) != 0) return;
        server.ws.send(id, "40{\"sid\":\"nsp\"}");
        server.ws.send(id, "41");
    };
    auto client = make();
    client->open(url_of(server.url()), EioMode::V4);
    run_for(6000);
    // Delays 0.5, 0.5-1, 1-2, 2-4 s: at most 5 connections in 6 s (the old code made ~12).
    EXPECT_GE(server.ws.connections(), 3);
    EXPECT_LE(server.ws.connections(), 5);
    ASSERT_GE(failures_.size(), 3u);
    EXPECT_EQ(failures_[2], 3) << "each kick counts as a failure of the same outage";
}

// What the daemon's STATUS= line says of a link that is down: which, and why.
TEST_F(SioClientTest, AnOutageSaysWhichLinkFailsAndWhyWhileItLasts) {
    SioServer server(loop_);
    server.ws.on_text = [&](int id, const std::string& t) {
        if (t.rfind("40", 0) != 0) return;
        server.ws.send(id, "40{\"sid\":\"nsp\"}");
        server.ws.send(id, "41");  // kicked at once: a failure each time
    };
    auto client = make();
    EXPECT_EQ(client->outage(), "") << "not opened";
    client->open(url_of(server.url()), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return !failures_.empty(); }, 5000));
    int64_t since = 0;
    const std::string outage = client->outage(&since);
    EXPECT_EQ(outage.rfind("test failing: ", 0), 0u) << outage;
    EXPECT_GT(outage.size(), std::string("test failing: ").size()) << "and why";
    EXPECT_GT(since, 0);
    client->close();
    EXPECT_EQ(client->outage(), "") << "closed";

    // A server that kicks the first connection only: once the link is up, the outage is
    // over, also while a restart (new TLS settings) reconnects.
    SioServer once(loop_);
    int namespace_connects = 0;
    once.ws.on_text = [&](int id, const std::string& t) {
        if (t.rfind("40", 0) != 0) return;
        once.ws.send(id, "40{\"sid\":\"nsp\"}");
        if (++namespace_connects == 1) once.ws.send(id, "41");
    };
    auto fine = make();
    fine->open(url_of(once.url()), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return namespace_connects >= 2 && fine->connected(); }, 10000));
    EXPECT_EQ(fine->outage(), "") << "connected";
    fine->restart();
    EXPECT_FALSE(fine->connected());
    EXPECT_EQ(fine->outage(), "") << "reconnecting after an outage that ended";
}

TEST_F(SioClientTest, RestartReconnectsAtOnceWithoutCountingAFailure) {
    SioServer server(loop_);
    auto client = make();
    client->open(url_of(server.url()), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 5000));
    client->restart();
    ASSERT_TRUE(run_until([&] { return connected_ == 2; }, 2000));
    EXPECT_TRUE(failures_.empty());
    ASSERT_TRUE(run_until([&] { return server.ws.open_connections() == 1; }, 2000));
    EXPECT_EQ(server.ws.connections(), 2);
}

// A hostile server cannot make the client ping in a tight loop (Engine.IO 3 pings).
TEST_F(SioClientTest, HeartbeatFiguresAreBounded) {
    SioServer server(loop_);
    server.version = 3;
    server.ping_interval = 1;
    server.ping_timeout = 1;
    auto client = make(EioMode::V3);
    client->open(url_of(server.url()), EioMode::V3);
    ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 5000));
    run_for(2500);
    int pings = 0;
    for (const auto& t : server.ws.conn(0).received) pings += t == "2" ? 1 : 0;
    EXPECT_LE(pings, 3) << "one ping a second at most";
    EXPECT_GE(pings, 1);
    EXPECT_EQ(connected_, 1) << "and answered pings keep the link up";
}

TEST_F(SioClientTest, CloseStopsRetrying) {
    auto client = make();
    client->open(url_of("http://127.0.0.1:" + std::to_string(closed_port())), EioMode::V4);
    ASSERT_TRUE(run_until([&] { return failures_.size() == 1; }, 5000));
    client->close();
    run_for(1500);
    EXPECT_EQ(failures_.size(), 1u);
}

// A SIGHUP that changes [misc] eio: the next link speaks the new version.
TEST_F(SioClientTest, AChangedModeHoldsForTheNextAttempt) {
    SioServer server(loop_);
    auto client = make(EioMode::Auto);
    client->open(url_of(server.url()), EioMode::Auto);
    ASSERT_TRUE(run_until([&] { return connected_ == 1; }, 5000));
    ASSERT_EQ(client->version(), eio::Version::V4);
    server.version = 3;
    client->open(url_of(server.url()), EioMode::V3);
    client->restart();
    ASSERT_TRUE(run_until([&] { return connected_ == 2; }, 5000));
    EXPECT_EQ(client->version(), eio::Version::V3);
}

// Discovery may answer another address every time it is asked (every third failure): the
// outage goes on, and so does its backoff.
TEST_F(SioClientTest, NewAddressesFromDiscoveryKeepTheBackoffGrowing) {
    auto client = make();
    const Url a = url_of("http://127.0.0.1:" + std::to_string(closed_port()));
    const Url b = url_of("http://127.0.0.1:" + std::to_string(closed_port()));
    bool on_a = true;
    on_failing = [&](int n) {
        if (n % 3) return;
        on_a = !on_a;
        client->open(on_a ? a : b, EioMode::V4);
    };
    client->open(a, EioMode::V4);
    run_for(10000);
    // One outage's delays (0.5, 0.5-1, 1-2, 2-4, 4-8 s, each third failure retried at once)
    // allow about 8 attempts in 10 s; resetting the backoff on each address made it 25.
    EXPECT_LE(failures_.size(), 10u);
    EXPECT_EQ(failures_.back(), int(failures_.size())) << "one outage, counted on";
}

}  // namespace
}  // namespace robotd
