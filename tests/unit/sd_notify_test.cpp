// The notify protocol against a real AF_UNIX datagram socket standing in for systemd: what
// robotd sends (READY, STATUS, WATCHDOG, RELOADING, STOPPING), at what rate, and that a
// missing, full or absent socket costs nothing.
#include "net/sd_notify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/unique_fd.h"
#include "loop_harness.h"

namespace robotd {
namespace {

// The systemd side: a bound datagram socket (a path, or an abstract "@name").
class SystemdSocket {
  public:
    explicit SystemdSocket(const std::string& name) : name_(name) {
        fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, name.data(), name.size());
        if (name[0] == '@') sa.sun_path[0] = '\0';
        const socklen_t len = offsetof(sockaddr_un, sun_path) + name.size();
        bound_ = bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), len) == 0;
    }
    ~SystemdSocket() {
        if (name_[0] == '/') unlink(name_.c_str());
    }
    bool bound() const { return bound_; }
    // Every datagram waiting, appended to `got`.
    void drain() {
        char buf[4096];
        ssize_t n;
        while ((n = recv(fd_.get(), buf, sizeof buf, 0)) >= 0) got.emplace_back(buf, size_t(n));
    }
    size_t count(const std::string& message) {
        drain();
        size_t k = 0;
        for (const auto& m : got) k += m == message;
        return k;
    }
    std::vector<std::string> got;

  private:
    std::string name_;
    UniqueFd fd_;
    bool bound_ = false;
};

class SdNotifyTest : public LoopTest {
  protected:
    SdNotifyTest() : LoopTest(LogLevel::Debug) {
        char tmpl[] = "/tmp/robotd-notify-XXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/notify";
    }
    ~SdNotifyTest() override { rmdir(dir_.c_str()); }

    NotifyEnv env(const std::string& socket, uint64_t watchdog_usec = 0) {
        NotifyEnv e;
        e.socket = socket;
        e.watchdog_usec = watchdog_usec;
        return e;
    }
    // Services the loop until `sock` has got `n` datagrams.
    bool await(SystemdSocket& sock, size_t n, uint32_t timeout_ms = 3000) {
        return run_until(
            [&] {
                sock.drain();
                return sock.got.size() >= n;
            },
            timeout_ms);
    }

    std::string dir_, path_;
};

TEST(NotifyEnvTest, WatchdogPidOfAnotherProcessMeansNoKeepAlives) {
    EXPECT_FALSE(parse_notify_env("/run/n", "2000000", nullptr, 42).watchdog_other_pid);
    EXPECT_FALSE(parse_notify_env("/run/n", "2000000", "42", 42).watchdog_other_pid);
    EXPECT_TRUE(parse_notify_env("/run/n", "2000000", "43", 42).watchdog_other_pid);
    const NotifyEnv e = parse_notify_env("/run/n", "2000000", "42", 42);
    EXPECT_EQ(e.socket, "/run/n");
    EXPECT_EQ(e.watchdog_usec, 2000000u);
    EXPECT_TRUE(e.error.empty());
}

TEST(NotifyEnvTest, ABadWatchdogUsecIsSaidAndMeansNoKeepAlives) {
    const NotifyEnv e = parse_notify_env("/run/n", "soon", nullptr, 1);
    EXPECT_EQ(e.watchdog_usec, 0u);
    EXPECT_NE(e.error.find("WATCHDOG_USEC='soon'"), std::string::npos) << e.error;
    EXPECT_EQ(parse_notify_env("/run/n", "-5", nullptr, 1).watchdog_usec, 0u);
}

TEST(NotifyEnvTest, TakingTheEnvironmentUnsetsItSoNoChildInheritsIt) {
    setenv("NOTIFY_SOCKET", "@robotd-test", 1);
    setenv("WATCHDOG_USEC", "3000000", 1);
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    const NotifyEnv e = take_notify_env();
    EXPECT_EQ(e.socket, "@robotd-test");
    EXPECT_EQ(e.watchdog_usec, 3000000u);
    EXPECT_FALSE(e.watchdog_other_pid);
    EXPECT_EQ(getenv("NOTIFY_SOCKET"), nullptr);
    EXPECT_EQ(getenv("WATCHDOG_USEC"), nullptr);
    EXPECT_EQ(getenv("WATCHDOG_PID"), nullptr);
}

TEST_F(SdNotifyTest, ReadyCarriesTheStatusAndAChangedStatusFollowsLatestWins) {
    SystemdSocket systemd(path_);
    ASSERT_TRUE(systemd.bound());
    SdNotify notify(loop_, env(path_));
    ASSERT_TRUE(notify.enabled());
    std::string status = "connecting: control, chat, app, user";
    notify.follow_status([&] { return status; });
    notify.ready();
    ASSERT_TRUE(await(systemd, 1));
    EXPECT_EQ(systemd.got[0], "READY=1\nSTATUS=connecting: control, chat, app, user");

    status = "LIVE: control, chat, app, user connected";
    ASSERT_TRUE(await(systemd, 2));
    EXPECT_EQ(systemd.got[1], "STATUS=LIVE: control, chat, app, user connected");
    // Two changes between polls: only the latest is sent.
    status = "connecting: control";
    status = "waiting for the network: control lookup failing for 3 min: timeout";
    ASSERT_TRUE(await(systemd, 3));
    EXPECT_EQ(systemd.got[2],
              "STATUS=waiting for the network: control lookup failing for 3 min: timeout");
    // An unchanged status is not sent again; a newline cannot start another assignment.
    run_for(1500);
    systemd.drain();
    EXPECT_EQ(systemd.got.size(), 3u);
    status = "two\nlines";
    ASSERT_TRUE(await(systemd, 4));
    EXPECT_EQ(systemd.got[3], "STATUS=two lines");
}

TEST_F(SdNotifyTest, KeepAlivesComeAtHalfTheWatchdogInterval) {
    SystemdSocket systemd(path_);
    ASSERT_TRUE(systemd.bound());
    SdNotify notify(loop_, env(path_, 200000));  // WATCHDOG_USEC 200 ms: one every 100 ms
    notify.start_watchdog();
    run_for(1000);
    const size_t n = systemd.count("WATCHDOG=1");
    // 11 at most (the first at once, then never early); the lower bound leaves room for a
    // loaded machine: the point is the rate's order, not its precision.
    EXPECT_GE(n, 4u);
    EXPECT_LE(n, 12u);
    EXPECT_EQ(notify.keepalives(), n);
}

TEST_F(SdNotifyTest, AWatchdogPidOfAnotherProcessSendsNoKeepAlives) {
    SystemdSocket systemd(path_);
    ASSERT_TRUE(systemd.bound());
    NotifyEnv e = parse_notify_env(path_.c_str(), "100000", "1", getpid());
    ASSERT_TRUE(e.watchdog_other_pid);
    SdNotify notify(loop_, e);
    notify.start_watchdog();
    notify.stopping();  // a marker: the socket works, and nothing came before it
    run_for(500);
    systemd.drain();
    ASSERT_EQ(systemd.got.size(), 1u);
    EXPECT_EQ(systemd.got[0], "STOPPING=1");
}

TEST_F(SdNotifyTest, ReloadingCarriesTheMonotonicClockThenReadyThenStopping) {
    SystemdSocket systemd(path_);
    ASSERT_TRUE(systemd.bound());
    SdNotify notify(loop_, env(path_));
    const int64_t before = mono_us();
    notify.reloading();
    const int64_t after = mono_us();
    notify.ready();
    notify.stopping();
    ASSERT_TRUE(await(systemd, 3));
    const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
    ASSERT_EQ(systemd.got[0].rfind(prefix, 0), 0u) << systemd.got[0];
    const int64_t usec = std::stoll(systemd.got[0].substr(prefix.size()));
    EXPECT_GE(usec, before);
    EXPECT_LE(usec, after);
    EXPECT_EQ(systemd.got[1], "READY=1");
    EXPECT_EQ(systemd.got[2], "STOPPING=1");
    // A SIGHUP handled after the SIGTERM: systemd must not hear "ready" again.
    notify.reloading();
    notify.ready();
    notify.send("STATUS=marker");
    ASSERT_TRUE(await(systemd, 4));
    EXPECT_EQ(systemd.got[3], "STATUS=marker");
}

TEST_F(SdNotifyTest, AnAbstractSocketNameIsReached) {
    const std::string name = "@robotd-notify-test-" + std::to_string(getpid());
    SystemdSocket systemd(name);
    ASSERT_TRUE(systemd.bound());
    SdNotify notify(loop_, env(name));
    notify.ready();
    ASSERT_TRUE(await(systemd, 1));
    EXPECT_EQ(systemd.got[0], "READY=1");
}

TEST_F(SdNotifyTest, WithoutNotifySocketNothingIsSentAndNothingFails) {
    SdNotify notify(loop_, env(""));
    EXPECT_FALSE(notify.enabled());
    notify.follow_status([] { return std::string("LIVE"); });
    notify.start_watchdog();
    notify.ready();
    notify.reloading();
    notify.stopping();
    EXPECT_FALSE(notify.send("READY=1"));
    run_for(200);
    EXPECT_EQ(notify.keepalives(), 0u);
    // The status is still followed (robotd's -v log shows it), only not sent.
    EXPECT_EQ(notify.status(), "LIVE");
}

TEST_F(SdNotifyTest, AMissingSocketCostsTheMessageAndALaterOneGetsThrough) {
    SdNotify notify(loop_, env(path_));
    ASSERT_TRUE(notify.enabled());
    EXPECT_FALSE(notify.send("READY=1"));  // nobody listens yet (systemd restarting)
    EXPECT_FALSE(notify.send("READY=1"));
    SystemdSocket systemd(path_);
    ASSERT_TRUE(systemd.bound());
    EXPECT_TRUE(notify.send("STATUS=back"));
    ASSERT_TRUE(await(systemd, 1));
    EXPECT_EQ(systemd.got[0], "STATUS=back");
}

TEST_F(SdNotifyTest, AFullSocketNeverBlocksTheLoop) {
    SystemdSocket systemd(path_);  // never read until the end
    ASSERT_TRUE(systemd.bound());
    SdNotify notify(loop_, env(path_));
    size_t refused = 0;
    // Far more than a datagram socket queues: a blocking send would hang here.
    for (int i = 0; i < 5000; ++i) refused += !notify.send("STATUS=" + std::string(200, 'x'));
    EXPECT_GT(refused, 0u);
    systemd.drain();
    EXPECT_GT(systemd.got.size(), 0u);
    EXPECT_TRUE(notify.send("STOPPING=1")) << "the drained socket takes messages again";
}

}  // namespace
}  // namespace robotd
