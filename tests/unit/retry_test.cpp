#include "core/retry.h"

#include <gtest/gtest.h>

using namespace robotd;
using Report = RetryPolicy::Report;

namespace {
constexpr int64_t kS = 1000000;
}

TEST(RetryPolicy, FirstDelayIsTheMinimumWhateverTheJitter) {
    for (double u : {0.0, 0.5, 0.999}) {
        RetryPolicy p({1000, 60000, 0});
        EXPECT_EQ(p.failed(0, u).delay_ms, 1000u) << "unit " << u;
    }
}

TEST(RetryPolicy, DoublesWithinTheUpperHalfOfEachStep) {
    RetryPolicy lo({1000, 60000, 0}), hi({1000, 60000, 0});
    lo.failed(0, 0);
    hi.failed(0, 0.999999);
    // Second step is 2 s: delays come from [1 s, 2 s].
    EXPECT_EQ(lo.failed(0, 0).delay_ms, 1000u);
    EXPECT_NEAR(hi.failed(0, 0.999999).delay_ms, 2000, 1);
    // Third step 4 s: [2 s, 4 s].
    EXPECT_EQ(lo.failed(0, 0).delay_ms, 2000u);
    EXPECT_NEAR(hi.failed(0, 0.999999).delay_ms, 4000, 1);
}

TEST(RetryPolicy, CapsAtTheMaximumForever) {
    RetryPolicy p({1000, 60000, 0});
    for (int i = 0; i < 200; ++i) {
        const uint32_t d = p.failed(0, 0.999999).delay_ms;
        EXPECT_LE(d, 60000u);
        EXPECT_GE(d, 1000u);
    }
    EXPECT_NEAR(p.failed(0, 0.999999).delay_ms, 60000, 1);
    EXPECT_EQ(p.failed(0, 0.0).delay_ms, 30000u);  // jitter still spreads robots at the cap
    EXPECT_EQ(p.failures(), 202u);
}

TEST(RetryPolicy, AnOutageIsNamedInWholeMinutesFromItsFirstFailure) {
    RetryPolicy p({1000, 60000, 0});
    const int64_t t0 = 5000000, minute = 60000000;
    p.failed(t0, 0);
    p.failed(t0 + 20 * minute, 0);                 // later failures do not move the start
    EXPECT_EQ(p.outage_for(t0 + minute - 1), "");  // under a minute: nothing to say
    EXPECT_EQ(p.outage_for(t0 + minute), " for 1 min");
    EXPECT_EQ(p.outage_for(t0 + 3 * minute + 59000000), " for 3 min");
    EXPECT_EQ(p.outage_for(t0 + 90 * minute + 30000000), " for 1 h 30 min");
}

TEST(RetryPolicy, OutOfRangeUnitIsClamped) {
    RetryPolicy p({1000, 8000, 0});
    p.failed(0, 0);
    EXPECT_LE(p.failed(0, 7.0).delay_ms, 2000u);
    EXPECT_GE(p.failed(0, -3.0).delay_ms, 2000u);
}

// The storm the issue found: a server that accepts and at once disconnects must not be
// retried twice a second forever.
TEST(RetryPolicy, ALinkThatDiesRightAfterConnectingKeepsBackingOff) {
    RetryPolicy p({500, 30000, 10000});
    int64_t now = 0;
    uint32_t last = 0;
    for (int i = 0; i < 12; ++i) {
        EXPECT_FALSE(p.up());
        p.succeeded(now);
        EXPECT_TRUE(p.up());
        now += kS / 10;  // kicked 100 ms after connecting
        last = p.failed(now, 0.999999).delay_ms;
        now += int64_t(last) * 1000;
    }
    EXPECT_EQ(p.failures(), 12u);
    EXPECT_NEAR(last, 30000, 1);
}

TEST(RetryPolicy, AHealthyLinkThatDropsStartsAFreshOutage) {
    RetryPolicy p({500, 30000, 10000});
    for (int i = 0; i < 6; ++i) p.failed(0, 0.5);
    EXPECT_TRUE(p.succeeded(1 * kS));            // ends an outage: the caller logs the recovery
    const auto step = p.failed(12 * kS, 0.999);  // up for 11 s: healthy
    EXPECT_EQ(step.failures, 1u);
    EXPECT_EQ(step.delay_ms, 500u);
    EXPECT_EQ(step.report, Report::First);
}

TEST(RetryPolicy, ASuccessWithoutAnOutageIsNotARecovery) {
    RetryPolicy p;
    EXPECT_FALSE(p.succeeded(0));
    p.failed(60 * kS, 0);
    EXPECT_TRUE(p.succeeded(61 * kS));
}

TEST(RetryPolicy, HealthyZeroCountsEverySuccessAtOnce) {
    RetryPolicy p({1000, 60000, 0});
    p.failed(0, 0);
    p.failed(0, 0);
    p.succeeded(5 * kS);
    EXPECT_EQ(p.failed(5 * kS, 0).failures, 1u);
}

// Offline for a day: the first failure, then summaries at 1, 2, 4, ... minutes, then hourly.
TEST(RetryPolicy, ReportsTheFirstFailureThenSummariesAtGrowingIntervals) {
    RetryPolicy p({1000, 60000, 0});
    std::vector<int64_t> reports;
    int64_t now = 0;
    for (int i = 0; i < 2000 && now < 24 * 3600 * kS; ++i) {
        const auto step = p.failed(now, 0.5);
        if (step.report != Report::Quiet) reports.push_back(now / kS);
        if (i == 0) {
            EXPECT_EQ(step.report, Report::First);
        }
        now += int64_t(step.delay_ms) * 1000;
    }
    ASSERT_GE(reports.size(), 8u);
    EXPECT_EQ(reports[0], 0);
    for (size_t i = 2; i < reports.size(); ++i)
        EXPECT_GE(reports[i] - reports[i - 1], reports[i - 1] - reports[i - 2] - 60)
            << "intervals grow (within one retry's delay)";
    // About 30 lines a day, where a line per attempt would be some 1500.
    EXPECT_LE(reports.size(), 35u);
    EXPECT_GE(reports.back() - reports[reports.size() - 2], 3600 - 60);
}

TEST(RetryPolicy, OutageText) {
    RetryPolicy p({1000, 60000, 0});
    for (int i = 0; i < 14; ++i) p.failed(int64_t(i) * 45 * kS, 0);
    EXPECT_EQ(p.outage_text(600 * kS), "14 attempts over 10 min");
    p.reset();
    p.failed(0, 0);
    EXPECT_EQ(p.outage_text(2 * kS), "1 attempt over 2 s");
}

TEST(RetryPolicy, DescribeDuration) {
    EXPECT_EQ(describe_duration(850000), "850 ms");
    EXPECT_EQ(describe_duration(12 * kS), "12 s");
    EXPECT_EQ(describe_duration(600 * kS), "10 min");
    EXPECT_EQ(describe_duration((2 * 3600 + 5 * 60) * kS), "2 h 5 min");
    EXPECT_EQ(describe_duration(3600 * kS), "1 h");
    EXPECT_EQ(describe_duration((3 * 86400 + 4 * 3600) * kS), "3 d 4 h");
    EXPECT_EQ(describe_duration(-5), "0 ms");
}
