#include "core/backoff.h"

#include <gtest/gtest.h>

using robotd::Backoff;

TEST(Backoff, FirstDelayIsTheMinimumWhateverTheJitter) {
    for (double u : {0.0, 0.5, 0.999}) {
        Backoff b(1000, 60000);
        EXPECT_EQ(b.next(u), 1000u) << "unit " << u;
    }
}

TEST(Backoff, DoublesWithinTheUpperHalfOfEachStep) {
    Backoff lo(1000, 60000), hi(1000, 60000);
    lo.next(0);
    hi.next(0.999999);
    // Second step is 2 s: delays come from [1 s, 2 s].
    EXPECT_EQ(lo.next(0), 1000u);
    EXPECT_NEAR(hi.next(0.999999), 2000, 1);
    // Third step 4 s: [2 s, 4 s].
    EXPECT_EQ(lo.next(0), 2000u);
    EXPECT_NEAR(hi.next(0.999999), 4000, 1);
}

TEST(Backoff, CapsAtTheMaximumForever) {
    Backoff b(1000, 60000);
    for (int i = 0; i < 200; ++i) {
        const uint32_t d = b.next(0.999999);
        EXPECT_LE(d, 60000u);
        EXPECT_GE(d, 1000u);
    }
    EXPECT_NEAR(b.next(0.999999), 60000, 1);
    EXPECT_EQ(b.next(0.0), 30000u);  // jitter still spreads robots at the cap
}

TEST(Backoff, ResetStartsOver) {
    Backoff b(500, 30000);
    for (int i = 0; i < 10; ++i) b.next(0.5);
    EXPECT_EQ(b.failures(), 10u);
    b.reset();
    EXPECT_EQ(b.failures(), 0u);
    EXPECT_EQ(b.next(0.9), 500u);
}

TEST(Backoff, OutOfRangeUnitIsClamped) {
    Backoff b(1000, 8000);
    b.next(0);
    EXPECT_LE(b.next(7.0), 2000u);
    EXPECT_GE(b.next(-3.0), 2000u);
}
