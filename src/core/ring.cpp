// A lock-free single-producer single-consumer ring of variable-sized records: a media thread
// pushes each encoded frame's TS bytes whole, the event loop reads them in place and pops.
#include "core/ring.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace robotd {

namespace {

constexpr size_t kAlign = PacketRing::kHeaderBytes;
constexpr uint32_t kFlagKeyframe = 1;
constexpr uint32_t kFlagWrap = 2;  // the rest of the buffer is padding; the record is at 0

// The header as stored (memcpy'd, so the buffer needs no particular alignment).
struct Header {
    uint32_t len;
    uint32_t flags;
    int64_t capture_us;
};
static_assert(sizeof(Header) == PacketRing::kHeaderBytes, "header layout");

constexpr size_t round_up(size_t n) {
    return (n + kAlign - 1) / kAlign * kAlign;
}

}  // namespace

PacketRing::PacketRing(size_t capacity_bytes)
    : capacity_(std::max<size_t>(capacity_bytes / kAlign * kAlign, 2 * kAlign)), buf_(capacity_) {}

bool PacketRing::push(const uint8_t* data, size_t len, const RecordMeta& meta) {
    if (len > capacity_ - kHeaderBytes || len > std::numeric_limits<uint32_t>::max()) {
        return false;
    }
    const size_t need = round_up(kHeaderBytes + len);
    const Counter head = head_.load(std::memory_order_relaxed);  // only we write it
    const size_t offset = size_t(head % capacity_);
    const size_t to_end = capacity_ - offset;  // a multiple of kAlign, never 0
    const size_t pad = to_end < need ? to_end : 0;
    const size_t total = pad + need;

    // The cached tail is stale only in the safe direction (less free space than there is), so
    // the shared tail is loaded only when the cached view says the record does not fit.
    if (total > capacity_ - size_t(head - tail_cache_)) {
        // Acquire: the consumer has finished reading the bytes it released.
        tail_cache_ = tail_.load(std::memory_order_acquire);
        if (total > capacity_ - size_t(head - tail_cache_)) return false;
    }

    size_t at = offset;
    if (pad != 0) {
        const Header wrap{0, kFlagWrap, 0};
        std::memcpy(&buf_[offset], &wrap, sizeof wrap);
        at = 0;
    }
    const Header h{uint32_t(len), meta.keyframe ? kFlagKeyframe : 0, meta.capture_us};
    std::memcpy(&buf_[at], &h, sizeof h);
    if (len != 0) std::memcpy(&buf_[at + kHeaderBytes], data, len);
    // Release: the consumer sees the header and bytes before it sees the new head.
    head_.store(head + total, std::memory_order_release);
    return true;
}

bool PacketRing::locate(Counter* tail, size_t* offset) {
    Counter t = tail_.load(std::memory_order_relaxed);  // only we write it
    if (t == head_cache_) {
        head_cache_ = head_.load(std::memory_order_acquire);
        if (t == head_cache_) return false;
    }
    size_t off = size_t(t % capacity_);
    Header h;
    std::memcpy(&h, &buf_[off], sizeof h);
    if (h.flags & kFlagWrap) {
        // The marker and the record behind it were published by one head update, so the
        // record is there. Releasing the padding now gives the producer the space sooner.
        t += capacity_ - off;
        tail_.store(t, std::memory_order_release);
        off = 0;
    }
    *tail = t;
    *offset = off;
    return true;
}

bool PacketRing::front(const uint8_t** data, size_t* len, RecordMeta* meta) {
    Counter tail;
    size_t off;
    if (!locate(&tail, &off)) return false;
    Header h;
    std::memcpy(&h, &buf_[off], sizeof h);
    *data = &buf_[off + kHeaderBytes];
    *len = h.len;
    if (meta != nullptr) {
        meta->capture_us = h.capture_us;
        meta->keyframe = (h.flags & kFlagKeyframe) != 0;
    }
    return true;
}

void PacketRing::pop() {
    Counter tail;
    size_t off;
    if (!locate(&tail, &off)) return;
    Header h;
    std::memcpy(&h, &buf_[off], sizeof h);
    // Release: our reads of the record are done before the producer may overwrite it.
    tail_.store(tail + round_up(kHeaderBytes + h.len), std::memory_order_release);
}

size_t PacketRing::used_bytes() const {
    // Tail first: head only grows, so the later head load is never behind this tail.
    const Counter tail = tail_.load(std::memory_order_acquire);
    const Counter head = head_.load(std::memory_order_acquire);
    return size_t(head - tail);
}

}  // namespace robotd
