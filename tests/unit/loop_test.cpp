// The loop's client vhosts: a TLS change retires the old vhost, which is destroyed at once
// when no connection uses it, else after its last connection closes; signals keep arriving
// throughout (their fd lives on a vhost that is never retired).
#include "net/loop.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "fake_http_server.h"
#include "loop_harness.h"
#include "net/http_get.h"

namespace robotd {
namespace {

// A self-signed CA made for these tests (no key kept); many copies make a bundle as heavy
// as a system one, so a vhost that is not freed shows in RSS.
const char kTestCa[] = R"(-----BEGIN CERTIFICATE-----
MIIDHzCCAgegAwIBAgIUaBmFXg/+FpZTIAsE2fbhliotlzgwDQYJKoZIhvcNAQEL
BQAwHjEcMBoGA1UEAwwTcm9ib3RkIHVuaXQtdGVzdCBDQTAgFw0yNjExMzAxMzA1
MjhaGA8yMTI2MTEwNjEzMDUyOFowHjEcMBoGA1UEAwwTcm9ib3RkIHVuaXQtdGVz
dCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALa1meZFQwIrIRHM
ux4itzws8kmAuEvN3bvN1kU+fvzdXrZ2fA39Iu+jJXwMss6m2CBZsJX0CgD/yfJl
EacdL8o9Y5qT8YOabNTMI5C3qpyGaXa748QgBo7ahNOfao9ybKknZYOXa4mOGKKM
ZPoRE6U9py/eWX+lddXD/iVWkOl2S6QOkHtKHaKy38JvsIYh6HbhDDifCHDjV3w3
TYgfOzWUwtjlv68oMqko0/IWUeTOIbxcwZ8+/k5js2gIEmMz5gLE1ISf8v760Aj4
FwGKhegFv+BDJiuJl0Ud+xo18PbBjn8TafP453eax51Fs5f5qniQC2H6xECAEwC7
ZcMccpcCAwEAAaNTMFEwHQYDVR0OBBYEFFwSZkmqlnQDtGLt/Nf+QnLeEZ1VMB8G
A1UdIwQYMBaAFFwSZkmqlnQDtGLt/Nf+QnLeEZ1VMA8GA1UdEwEB/wQFMAMBAf8w
DQYJKoZIhvcNAQELBQADggEBAB8NrwlH9hFfCxibR6yne8j4rxfJJ/jX7VFR0FbS
af6l7nN63M3aDWl8GKGqcnF6RtWTFbjUWU096KVrcGF9cY/EprpUXOFGeB0beSAH
QjJ3VDxC9jZS4c7PNCgImrxKMoVEYiPJfQ0AUu6D82kMHmF5ypgya0o/HBj86P/c
qNiC1MrVFAC6VFxgnSHU2KjdUKrjynJB+7HGN1gdzBxy3wUpdwpidKsPgglonbNE
XKTbhSVIvR1AGRcYLCg3vMdKuiv6S779AbhDvol8/zyAZKJRUTiLjXHAA2XoIwQg
YPBCpMcADADuFqwhs1blmN8yKgLHv5xPzC3UWUwofeOgcFE=
-----END CERTIFICATE-----
)";

long rss_kib() {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    statm >> size >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

class LoopVhostTest : public LoopTest {
  protected:
    LoopVhostTest() : LoopTest(LogLevel::Error) {}

    void SetUp() override {
        LoopTest::SetUp();
        char path[] = "/tmp/robotd-loop-test-XXXXXX";
        const int fd = mkstemp(path);
        ASSERT_GE(fd, 0);
        close(fd);
        ca_file_ = path;
        std::ofstream out(ca_file_);
        for (int i = 0; i < 200; ++i) out << kTestCa;
    }
    void TearDown() override { unlink(ca_file_.c_str()); }

    // One SIGHUP's worth: the CA file is in, then out, with the loop serviced in between.
    void toggle(int times) {
        std::string error;
        for (int i = 0; i < times; ++i) {
            ASSERT_TRUE(loop_.set_tls(TlsSettings{ca_file_, true}, &error)) << error;
            run_for(1);
            ASSERT_TRUE(loop_.set_tls(TlsSettings{"", false}, &error)) << error;
            run_for(1);
        }
    }

    // A signal sent to this process reaches on_signal().
    void expect_signal_delivered(int signo) {
        int got = 0;
        loop_.on_signal([&](int s) { got = s; });
        ASSERT_EQ(kill(getpid(), signo), 0);
        EXPECT_TRUE(run_until([&] { return got == signo; }, 5000)) << strsignal(signo);
    }

    std::string ca_file_;
};

TEST_F(LoopVhostTest, ARetiredVhostWithoutConnectionsIsFreedAtOnce) {
    EXPECT_EQ(loop_.client_vhosts(), 1u);
    toggle(10);  // warm up the allocator
    const long before = rss_kib();
    toggle(100);  // 200 TLS changes
    EXPECT_EQ(loop_.client_vhosts(), 1u);
    // Kept, the 200 vhosts would hold 100 copies of a ~100-certificate bundle: tens of MB.
    EXPECT_LT(rss_kib() - before, 4096) << "RSS grew from " << before << " KiB";
    expect_signal_delivered(SIGHUP);
    expect_signal_delivered(SIGTERM);
}

TEST_F(LoopVhostTest, ARetiredVhostGoesWithItsLastConnection) {
    FakeHttpServer server([](const FakeHttpServer::Request&) { return FakeHttpServer::hold(); });
    std::optional<HttpResult> result;
    HttpGet http(loop_, [&](const HttpResult& r) { result = r; });
    HttpGet::Request req;
    req.server = *parse_url(server.url());
    req.target = "/held";
    req.timeout_ms = 60000;
    http.start(req);
    ASSERT_TRUE(run_until([&] { return server.request_count() == 1; }, 10000));

    toggle(10);
    const long before = rss_kib();
    toggle(100);
    // The connection's vhost and the current one; nothing in between lingers.
    EXPECT_EQ(loop_.client_vhosts(), 2u);
    EXPECT_LT(rss_kib() - before, 4096) << "RSS grew from " << before << " KiB";
    EXPECT_FALSE(result.has_value());  // the connection lived through every change

    server.drop_all();
    ASSERT_TRUE(run_until([&] { return result.has_value(); }, 10000));
    EXPECT_FALSE(result->ok);
    EXPECT_TRUE(run_until([&] { return loop_.client_vhosts() == 1u; }, 5000));
    expect_signal_delivered(SIGHUP);
    expect_signal_delivered(SIGTERM);
}

TEST_F(LoopVhostTest, ConnectionsOnTheNewVhostWorkAfterAChange) {
    FakeHttpServer server(
        [](const FakeHttpServer::Request&) { return FakeHttpServer::answer(200, {}, "ok"); });
    toggle(3);
    std::optional<HttpResult> result;
    HttpGet http(loop_, [&](const HttpResult& r) { result = r; });
    HttpGet::Request req;
    req.server = *parse_url(server.url());
    req.target = "/after";
    http.start(req);
    ASSERT_TRUE(run_until([&] { return result.has_value(); }, 10000));
    EXPECT_TRUE(result->ok) << result->error;
    EXPECT_EQ(result->body, "ok");
    run_for(50);
    EXPECT_EQ(loop_.client_vhosts(), 1u);
}

}  // namespace
}  // namespace robotd
