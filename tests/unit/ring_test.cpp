// The SPSC record ring: order, wrap-around, full and exact fits, oversized records, and two
// threads pushing and verifying numbered, checksummed records for about a second.
#include "core/ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using robotd::PacketRing;
using robotd::RecordMeta;

namespace {

constexpr size_t kHdr = PacketRing::kHeaderBytes;

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
    return v;
}

bool push(PacketRing& r, const std::vector<uint8_t>& v, int64_t t = 0, bool key = false) {
    return r.push(v.data(), v.size(), RecordMeta{t, key});
}

// Pops the front record into a vector; fails the test when the ring is empty.
std::vector<uint8_t> take(PacketRing& r, RecordMeta* meta = nullptr) {
    const uint8_t* data = nullptr;
    size_t len = 0;
    RecordMeta m;
    EXPECT_TRUE(r.front(&data, &len, &m));
    std::vector<uint8_t> v(data, data + len);
    r.pop();
    if (meta != nullptr) *meta = m;
    return v;
}

TEST(PacketRing, EmptyHasNoFront) {
    PacketRing r(1024);
    const uint8_t* data = nullptr;
    size_t len = 0;
    EXPECT_FALSE(r.front(&data, &len, nullptr));
    r.pop();  // a no-op on an empty ring
    EXPECT_EQ(r.used_bytes(), 0u);
    EXPECT_EQ(r.capacity(), 1024u);
}

TEST(PacketRing, CapacityRoundedToAlignment) {
    EXPECT_EQ(PacketRing(1000).capacity(), 992u);
    EXPECT_EQ(PacketRing(1).capacity(), 2 * kHdr);
}

TEST(PacketRing, KeepsOrderAndMeta) {
    PacketRing r(4096);
    for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(push(r, bytes(10 + i, uint8_t(i)), 1000 + i, i % 3 == 0));
    for (int i = 0; i < 10; ++i) {
        RecordMeta m;
        EXPECT_EQ(take(r, &m), bytes(10 + i, uint8_t(i)));
        EXPECT_EQ(m.capture_us, 1000 + i);
        EXPECT_EQ(m.keyframe, i % 3 == 0);
    }
    EXPECT_EQ(r.used_bytes(), 0u);
}

TEST(PacketRing, FrontStaysUntilPop) {
    PacketRing r(256);
    ASSERT_TRUE(push(r, bytes(5, 1)));
    ASSERT_TRUE(push(r, bytes(6, 2)));
    const uint8_t* a = nullptr;
    const uint8_t* b = nullptr;
    size_t la = 0, lb = 0;
    ASSERT_TRUE(r.front(&a, &la, nullptr));
    ASSERT_TRUE(r.front(&b, &lb, nullptr));
    EXPECT_EQ(a, b);
    EXPECT_EQ(la, 5u);
    r.pop();
    EXPECT_EQ(take(r), bytes(6, 2));
}

TEST(PacketRing, EmptyRecord) {
    PacketRing r(64);
    ASSERT_TRUE(r.push(nullptr, 0, RecordMeta{7, true}));
    RecordMeta m;
    EXPECT_TRUE(take(r, &m).empty());
    EXPECT_EQ(m.capture_us, 7);
    EXPECT_TRUE(m.keyframe);
}

TEST(PacketRing, WrapsAroundManyTimes) {
    // Sizes co-prime with the capacity put the wrap point everywhere, marker or none.
    PacketRing r(1000);
    size_t pushed = 0;
    for (int i = 0; i < 5000; ++i) {
        const auto v = bytes(size_t(1 + (i * 37) % 300), uint8_t(i));
        ASSERT_TRUE(push(r, v, i)) << i;
        if (i % 2 == 1) {  // keep up to two records queued, so the wrap crosses live data
            RecordMeta m;
            EXPECT_EQ(take(r, &m), bytes(size_t(1 + ((i - 1) * 37) % 300), uint8_t(i - 1)));
            EXPECT_EQ(m.capture_us, i - 1);
            EXPECT_EQ(take(r, &m), v);
            EXPECT_EQ(m.capture_us, i);
        }
        pushed += v.size();
    }
    EXPECT_GT(pushed, 100 * r.capacity());
    EXPECT_EQ(r.used_bytes(), 0u);
}

TEST(PacketRing, FullRefusesWithoutWriting) {
    PacketRing r(256);
    // 48-byte records take 64 bytes each: four fill the ring exactly.
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(push(r, bytes(48, uint8_t(i)), i));
    EXPECT_EQ(r.used_bytes(), 256u);
    EXPECT_FALSE(push(r, bytes(1, 99)));
    EXPECT_FALSE(r.push(nullptr, 0, RecordMeta{}));
    EXPECT_EQ(r.used_bytes(), 256u);
    EXPECT_EQ(take(r), bytes(48, 0));
    // One slot free again: a record that needs exactly that fits, one byte more does not.
    EXPECT_FALSE(push(r, bytes(49, 50)));
    EXPECT_TRUE(push(r, bytes(48, 51), 51));
    for (int i = 1; i < 4; ++i) EXPECT_EQ(take(r), bytes(48, uint8_t(i)));
    RecordMeta m;
    EXPECT_EQ(take(r, &m), bytes(48, 51));
    EXPECT_EQ(m.capture_us, 51);
}

TEST(PacketRing, ExactFits) {
    PacketRing r(256);
    // The whole ring in one record.
    ASSERT_TRUE(push(r, bytes(256 - kHdr, 1)));
    EXPECT_FALSE(push(r, bytes(1, 2)));
    EXPECT_EQ(take(r), bytes(256 - kHdr, 1));
    // Now at offset 256 % 256 == 0 again; a record ending exactly at the buffer's end needs no
    // wrap marker, and the next one starts at 0.
    ASSERT_TRUE(push(r, bytes(64 - kHdr, 3)));   // [0, 64)
    ASSERT_TRUE(push(r, bytes(192 - kHdr, 4)));  // [64, 256): exactly to the end
    EXPECT_EQ(take(r), bytes(64 - kHdr, 3));
    ASSERT_TRUE(push(r, bytes(64 - kHdr, 5)));  // [0, 64) again
    EXPECT_EQ(take(r), bytes(192 - kHdr, 4));
    EXPECT_EQ(take(r), bytes(64 - kHdr, 5));
}

TEST(PacketRing, WrapMarkerNeedsRoomForPadding) {
    PacketRing r(256);
    ASSERT_TRUE(push(r, bytes(160 - kHdr, 1)));  // [0, 160)
    EXPECT_EQ(take(r), bytes(160 - kHdr, 1));
    // 96 bytes to the end; a 112-byte record goes to 0 behind a marker: 96 + 112 = 208 fits.
    ASSERT_TRUE(push(r, bytes(112 - kHdr, 2)));
    EXPECT_EQ(r.used_bytes(), 208u);
    // 48 bytes free, but at offset 112 a 48-byte record fits before the tail at 160.
    EXPECT_FALSE(push(r, bytes(64 - kHdr, 3)));
    ASSERT_TRUE(push(r, bytes(48 - kHdr, 4)));
    EXPECT_EQ(take(r), bytes(112 - kHdr, 2));
    EXPECT_EQ(take(r), bytes(48 - kHdr, 4));
    EXPECT_EQ(r.used_bytes(), 0u);
    // Empty at offset 160: a whole-ring record cannot fit after padding, a smaller one can.
    EXPECT_FALSE(push(r, bytes(256 - kHdr, 5)));
    EXPECT_TRUE(push(r, bytes(160 - kHdr, 6)));
    EXPECT_EQ(take(r), bytes(160 - kHdr, 6));
}

TEST(PacketRing, RecordLargerThanCapacity) {
    PacketRing r(256);
    EXPECT_FALSE(push(r, bytes(256 - kHdr + 1, 1)));
    EXPECT_FALSE(push(r, bytes(1000, 1)));
    EXPECT_EQ(r.used_bytes(), 0u);
    EXPECT_TRUE(push(r, bytes(10, 2)));  // still usable
    EXPECT_EQ(take(r), bytes(10, 2));
}

// A record: [seq u32][len-dependent payload][checksum u32].
uint32_t checksum(const uint8_t* p, size_t n) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
    return h;
}

TEST(PacketRing, TwoThreadStress) {
    PacketRing r(8192);
    std::atomic<bool> done{false};
    std::atomic<uint32_t> produced{0};
    // A fixed count, not a time budget: a loaded CI machine slows the test, never fails it.
    constexpr uint32_t kRecords = 50000;

    std::thread producer([&] {
        std::vector<uint8_t> rec(2048);
        uint32_t seq = 0;
        uint64_t rng = 88172645463325252ull;
        while (seq < kRecords) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            const size_t len = 8 + size_t(rng % 1500);
            std::memcpy(rec.data(), &seq, 4);
            for (size_t i = 4; i + 4 < len; ++i) rec[i] = uint8_t(rng >> (i % 56));
            const uint32_t sum = checksum(rec.data(), len - 4);
            std::memcpy(&rec[len - 4], &sum, 4);
            if (r.push(rec.data(), len, RecordMeta{int64_t(seq), seq % 5 == 0})) {
                ++seq;
            } else {
                std::this_thread::yield();  // full: the consumer catches up
            }
        }
        produced = seq;
        done = true;
    });

    uint32_t expect = 0;
    size_t errors = 0;
    for (;;) {
        const uint8_t* data = nullptr;
        size_t len = 0;
        RecordMeta m;
        if (!r.front(&data, &len, &m)) {
            if (done.load()) {
                if (!r.front(&data, &len, &m)) break;  // the last pushes were seen
            } else {
                std::this_thread::yield();
                continue;
            }
        }
        uint32_t seq = 0, sum = 0;
        if (len < 8) {
            ++errors;
        } else {
            std::memcpy(&seq, data, 4);
            std::memcpy(&sum, data + len - 4, 4);
            if (seq != expect || sum != checksum(data, len - 4) || m.capture_us != seq ||
                m.keyframe != (seq % 5 == 0)) {
                ++errors;
            }
        }
        r.pop();
        ++expect;
    }
    producer.join();
    EXPECT_EQ(errors, 0u);
    EXPECT_EQ(expect, produced.load());
    EXPECT_EQ(expect, kRecords);  // it really exercised the ring, wrapping many times
    EXPECT_EQ(r.used_bytes(), 0u);
}

}  // namespace
