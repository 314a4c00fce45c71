// The network-change path: which rtnetlink messages count as a change, how a burst folds into
// one event, RetryTimer::retry_now / Loop::retry_all_now running pending retries at once, and
// and which clock steps are a reason to do the same (ClockStep).
#include "net/net_watch.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "core/clock.h"
#include "loop_harness.h"
#include "net/retry_timer.h"
#include "stderr_capture.h"

using namespace robotd;

namespace {

// A datagram of rtnetlink messages, built the way the kernel lays them out.
class Datagram {
  public:
    template <typename Body>
    Datagram& add(uint16_t type, const Body& body) {
        const size_t at = bytes_.size();
        bytes_.resize(at + NLMSG_SPACE(sizeof(Body)));
        nlmsghdr h{};
        h.nlmsg_len = NLMSG_LENGTH(sizeof(Body));
        h.nlmsg_type = type;
        memcpy(&bytes_[at], &h, sizeof h);
        memcpy(&bytes_[at + NLMSG_HDRLEN], &body, sizeof body);
        return *this;
    }
    const void* data() const { return bytes_.data(); }
    size_t size() const { return bytes_.size(); }

  private:
    // Heap storage is aligned for nlmsghdr, as the kernel's messages are.
    std::vector<char> bytes_;
};

ifinfomsg link(int index, unsigned flags) {
    ifinfomsg m{};
    m.ifi_index = index;
    m.ifi_flags = flags;
    return m;
}

ifaddrmsg addr(int family, unsigned char flags) {
    ifaddrmsg m{};
    m.ifa_family = static_cast<unsigned char>(family);
    m.ifa_flags = flags;
    m.ifa_index = 2;
    return m;
}

rtmsg route(unsigned flags) {
    rtmsg m{};
    m.rtm_family = AF_INET;
    m.rtm_table = RT_TABLE_MAIN;
    m.rtm_flags = flags;
    return m;
}

bool feed(NetlinkChanges& c, const Datagram& d) {
    return c.feed(d.data(), d.size());
}

constexpr unsigned kUp = IFF_UP | IFF_RUNNING | 0x10000;  // IFF_LOWER_UP (linux/if.h)

}  // namespace

// What `ip link set lo up` sends: a link up, its addresses and local routes.
TEST(NetlinkChanges, ALinkComingUpWithItsAddressesIsAChange) {
    NetlinkChanges c;
    Datagram d;
    d.add(RTM_NEWLINK, link(1, kUp | IFF_LOOPBACK));
    EXPECT_TRUE(feed(c, d));
    EXPECT_TRUE(feed(c, Datagram().add(RTM_NEWADDR, addr(AF_INET, IFA_F_PERMANENT))));
    EXPECT_TRUE(feed(c, Datagram().add(RTM_NEWROUTE, route(0))));
}

TEST(NetlinkChanges, GoingDownIsNoReasonToRetry) {
    NetlinkChanges c;
    EXPECT_FALSE(feed(c, Datagram().add(RTM_NEWLINK, link(2, 0))));
    EXPECT_FALSE(feed(c, Datagram().add(RTM_NEWLINK, link(2, IFF_UP))));  // up, no carrier
    EXPECT_FALSE(feed(c, Datagram().add(RTM_DELLINK, link(2, 0))));
    EXPECT_FALSE(feed(c, Datagram().add(RTM_DELADDR, addr(AF_INET, 0))));
    EXPECT_FALSE(feed(c, Datagram().add(RTM_DELROUTE, route(0))));
}

// A Wi-Fi link reports its scans as link messages: only the step to "running" counts.
TEST(NetlinkChanges, RepeatedLinkMessagesOfAnUpLinkAreNotChanges) {
    NetlinkChanges c;
    EXPECT_TRUE(feed(c, Datagram().add(RTM_NEWLINK, link(3, kUp))));
    EXPECT_FALSE(feed(c, Datagram().add(RTM_NEWLINK, link(3, kUp))));
    EXPECT_FALSE(feed(c, Datagram().add(RTM_NEWLINK, link(3, kUp))));
    // Carrier lost, then back: a change again.
    EXPECT_FALSE(feed(c, Datagram().add(RTM_NEWLINK, link(3, IFF_UP))));
    EXPECT_TRUE(feed(c, Datagram().add(RTM_NEWLINK, link(3, kUp))));
    // Another interface is its own link.
    EXPECT_TRUE(feed(c, Datagram().add(RTM_NEWLINK, link(4, kUp))));
    // Removed and re-created under the same index.
    EXPECT_FALSE(feed(c, Datagram().add(RTM_DELLINK, link(4, 0))));
    EXPECT_TRUE(feed(c, Datagram().add(RTM_NEWLINK, link(4, kUp))));
}

TEST(NetlinkChanges, TentativeAddressesAndClonedRoutesAreNotChanges) {
    NetlinkChanges c;
    EXPECT_FALSE(feed(c, Datagram().add(RTM_NEWADDR, addr(AF_INET6, IFA_F_TENTATIVE))));
    EXPECT_TRUE(feed(c, Datagram().add(RTM_NEWADDR, addr(AF_INET6, 0))));  // DAD done
    EXPECT_FALSE(feed(c, Datagram().add(RTM_NEWROUTE, route(RTM_F_CLONED))));
}

TEST(NetlinkChanges, OneChangeAnywhereInADatagramCounts) {
    NetlinkChanges c;
    Datagram d;
    d.add(RTM_DELROUTE, route(0)).add(RTM_NEWADDR, addr(AF_INET6, IFA_F_TENTATIVE));
    EXPECT_FALSE(feed(c, d));
    d.add(RTM_NEWROUTE, route(0));
    EXPECT_TRUE(feed(c, d));
}

TEST(NetlinkChanges, ShortOrTruncatedMessagesAreIgnored) {
    NetlinkChanges c;
    Datagram d;
    d.add(RTM_NEWROUTE, route(0));
    EXPECT_FALSE(c.feed(d.data(), NLMSG_HDRLEN + 2));  // the header claims more than is there
    EXPECT_FALSE(c.feed(d.data(), 3));
    EXPECT_FALSE(c.feed(d.data(), 0));
    // A header whose length is too short for its body.
    alignas(nlmsghdr) char buf[NLMSG_SPACE(sizeof(rtmsg))] = {};
    nlmsghdr h{};
    h.nlmsg_len = NLMSG_LENGTH(2);
    h.nlmsg_type = RTM_NEWROUTE;
    memcpy(buf, &h, sizeof h);
    EXPECT_FALSE(c.feed(buf, sizeof buf));
}

TEST(ChangeCoalescer, ABurstIsOneEventAfterTheSettleTime) {
    ChangeCoalescer c;
    const int64_t t = 5000000;
    EXPECT_EQ(c.change(t), ChangeCoalescer::kSettleUs / 1000);
    EXPECT_EQ(c.change(t + 1000), -1);  // folded into the pending event
    EXPECT_EQ(c.change(t + 150000), -1);
    c.fired(t + 200000);
    // Long after: settles again.
    EXPECT_EQ(c.change(t + 10000000), ChangeCoalescer::kSettleUs / 1000);
}

TEST(ChangeCoalescer, EventsAreSpacedSoAFlappingLinkCannotHammerServers) {
    ChangeCoalescer c;
    c.change(0);
    c.fired(200000);
    // 100 ms after the last event: due 1 s after it, not 200 ms from now.
    EXPECT_EQ(c.change(300000), (200000 + ChangeCoalescer::kSpacingUs - 300000) / 1000);
    c.fired(1200000);
    // 900 ms after: the settle time is longer than what is left of the spacing.
    EXPECT_EQ(c.change(2100000), ChangeCoalescer::kSettleUs / 1000);
}

class RetryNowTest : public LoopTest {};

TEST_F(RetryNowTest, RunsAPendingAttemptAtOnceAndItStillCounts) {
    int attempts = 0;
    RetryTimer retry(loop_, RetryRules{30000, 60000, 0}, [&] { ++attempts; });
    EXPECT_FALSE(retry.retry_now()) << "nothing pending";
    const RetryPolicy::Step first = retry.failed();
    EXPECT_EQ(first.delay_ms, 30000u);
    EXPECT_EQ(first.report, RetryPolicy::Report::First);
    const int64_t t0 = mono_us();
    EXPECT_TRUE(retry.retry_now());
    ASSERT_TRUE(run_until([&] { return attempts == 1; }, 5000)) << "not run long before 30 s";
    EXPECT_LT(mono_us() - t0, 5000000);
    EXPECT_FALSE(retry.pending());
    EXPECT_FALSE(retry.retry_now()) << "the attempt is running: nothing pending";
    // The attempt failed again: it was attempt 2 of the outage, and the backoff grows.
    const RetryPolicy::Step second = retry.failed();
    EXPECT_EQ(second.failures, 2u);
    EXPECT_EQ(second.report, RetryPolicy::Report::Quiet);
    EXPECT_GE(second.delay_ms, 30000u);
    EXPECT_EQ(retry.outage_text().rfind("2 attempts over ", 0), 0u) << retry.outage_text();
}

TEST_F(RetryNowTest, TheLoopRetriesEveryPendingRetryTimerAndForgetsDestroyedOnes) {
    int a = 0, b = 0, c = 0;
    RetryTimer ra(loop_, RetryRules{30000, 60000, 0}, [&] { ++a; });
    RetryTimer rb(loop_, RetryRules{30000, 60000, 0}, [&] { ++b; });
    RetryTimer rc(loop_, RetryRules{30000, 60000, 0}, [&] { ++c; });
    {
        RetryTimer gone(loop_, RetryRules{30000, 60000, 0}, [] { FAIL() << "destroyed"; });
        gone.failed();
    }
    ra.failed();
    rb.failed();
    // rc is idle (no failure): nothing to retry.
    EXPECT_EQ(loop_.retry_all_now(), 2u);
    ASSERT_TRUE(run_until([&] { return a == 1 && b == 1; }, 5000));
    run_for(50);
    EXPECT_EQ(c, 0);
    EXPECT_EQ(loop_.retry_all_now(), 0u);
}

TEST_F(RetryNowTest, ACancelledRetryIsNotRun) {
    int attempts = 0;
    RetryTimer retry(loop_, RetryRules{30000, 60000, 0}, [&] { ++attempts; });
    retry.failed();
    retry.cancel();
    EXPECT_EQ(loop_.retry_all_now(), 0u);
    run_for(50);
    EXPECT_EQ(attempts, 0);
}

// NTP's first step on a board without an RTC moves the clock hours or years: that is worth
// a retry now. Time daemons and VM agents step it by milliseconds, some every second: not a
// reason to cut every backoff short. (The kernel's side, a timerfd cancelled by a real
// `date -s`, is proven on the virtual board, tests/vm/board.test.mjs: setting this machine's
// clock would disturb every other test running on it.)
TEST(ClockStep, OnlyAStepOfAMinuteOrMoreIsAReasonToRetry) {
    const int64_t s = 1000000;
    EXPECT_FALSE(ClockStep::matters(0));
    EXPECT_FALSE(ClockStep::matters(4000));
    EXPECT_FALSE(ClockStep::matters(-59 * s));
    EXPECT_FALSE(ClockStep::matters(59 * s));
    EXPECT_TRUE(ClockStep::matters(60 * s));
    EXPECT_TRUE(ClockStep::matters(-60 * s));
    EXPECT_TRUE(ClockStep::matters(int64_t(56) * 365 * 24 * 3600 * s));  // 1970 to today
}

TEST(ClockStep, SaysWhichWayAndHowFar) {
    const int64_t s = 1000000;
    EXPECT_EQ(ClockStep::describe(3 * 3600 * s + 12 * 60 * s),
              "the clock was set forward 3 h 12 min");
    EXPECT_EQ(ClockStep::describe(-5 * 60 * s), "the clock was set back 5 min");
    EXPECT_EQ(ClockStep::describe(4000), "the clock was set by +0.004 s");
    EXPECT_EQ(ClockStep::describe(-1500000), "the clock was set by -1.500 s");
}
