// A lock-free single-producer single-consumer ring of variable-sized records: a media thread
// pushes each encoded frame's TS bytes whole, the event loop reads them in place and pops.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace robotd {

struct RecordMeta {
    int64_t capture_us = 0;  // mono_us() when the frame was captured
    bool keyframe = false;   // a viewer can start decoding here
};

// Memory is allocated once in the constructor; push() and front() never allocate and never
// wait. Each record is stored as a 16-byte header and its bytes, contiguous, padded to 16; a
// record that does not fit before the end of the buffer is placed at the start, behind a wrap
// marker, so the consumer always gets one span. The largest record that can ever fit is
// capacity() - 16 bytes (on an empty ring at offset 0); size records well below that.
class PacketRing {
  public:
    // `capacity_bytes` is rounded down to a multiple of 16 (at least 32).
    explicit PacketRing(size_t capacity_bytes);
    PacketRing(const PacketRing&) = delete;
    PacketRing& operator=(const PacketRing&) = delete;

    // Producer only. Copies one record in whole; false (nothing written) when it does not fit.
    bool push(const uint8_t* data, size_t len, const RecordMeta& meta);

    // Consumer only. The oldest record (contiguous bytes), or false when empty; it stays (and
    // `*data` stays valid) until pop().
    bool front(const uint8_t** data, size_t* len, RecordMeta* meta);
    // Consumer only. Drops the oldest record; does nothing when the ring is empty.
    void pop();

    size_t capacity() const { return capacity_; }
    // Bytes in use (headers and padding included). Either side; a snapshot, exact only when
    // the other side is idle.
    size_t used_bytes() const;

    static constexpr size_t kHeaderBytes = 16;

  private:
    // Monotonic byte counters (offset = counter % capacity). 64 bits so they never wrap, even
    // on 32-bit boards, where std::atomic<uint64_t> is still lock-free (ARMv7 ldrexd/strexd).
    using Counter = uint64_t;
    static_assert(std::atomic<Counter>::is_always_lock_free, "the ring must be lock-free");

    // Consumer side: skips a wrap marker at tail, returns the record's offset or false.
    bool locate(Counter* tail, size_t* offset);

    const size_t capacity_;
    std::vector<uint8_t> buf_;

    // Each side's index and its private cache of the other side's index share a cache line
    // that only that side writes, so the two threads do not bounce one line between cores.
    alignas(64) std::atomic<Counter> head_{0};  // written by the producer
    Counter tail_cache_ = 0;                    // producer's last view of tail_
    alignas(64) std::atomic<Counter> tail_{0};  // written by the consumer
    Counter head_cache_ = 0;                    // consumer's last view of head_
};

}  // namespace robotd
