// Notices the network changing (a link, address or route coming up) from the kernel's
// rtnetlink messages on the loop, and the wall clock being set (NTP's first step on a board
// without an RTC, which makes "certificate not valid yet" go away), and then runs every retry
// that waits out a backoff at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "core/unique_fd.h"
#include "net/loop.h"
#include "net/writable_watch.h"

namespace robotd {

// Which rtnetlink messages may make a failed connection work now: a link that comes up (and
// was not up before: a Wi-Fi link repeats link messages for its scans), an address that is
// usable (not tentative), a route (not a cached clone). Going down is no reason to retry.
// Pure: it reads a datagram's bytes, so tests feed it messages they build.
class NetlinkChanges {
  public:
    // True when the datagram (one or more messages) holds such a change.
    bool feed(const void* data, size_t len);

  private:
    std::map<int, bool> link_up_;  // by interface index: up and running when last heard of
};

// Folds a burst of changes (one `ip link set up` is a link, two addresses and four routes)
// into one event: due kSettleUs after the first change, and never sooner than kSpacingUs
// after the last event, so a flapping link cannot make every retry hammer its server.
// Pure: the caller passes the clock.
class ChangeCoalescer {
  public:
    static constexpr int64_t kSettleUs = 200000;
    static constexpr int64_t kSpacingUs = 1000000;
    // A change at `now_us`: the delay in ms until the event, or -1 when one is already due.
    int64_t change(int64_t now_us);
    // The event ran at `now_us`.
    void fired(int64_t now_us);

  private:
    bool pending_ = false;
    bool fired_once_ = false;
    int64_t last_fired_us_ = 0;
};

// How far the wall clock was set, and whether that is a reason to retry: NTP's first step on
// a board without an RTC moves it hours or years, which can make a certificate valid. Steps
// under a minute change no certificate's validity in practice (CAs date certificates back an
// hour) and come from time daemons and VM agents, some every second: those would turn every
// backoff into a retry a second. Pure: the caller measures the step.
struct ClockStep {
    static constexpr int64_t kMinUs = 60LL * 1000000;
    static bool matters(int64_t step_us) { return step_us >= kMinUs || step_us <= -kMinUs; }
    // "the clock was set forward 3 h 12 min" / "... back 5 min" / "... by +0.004 s".
    static std::string describe(int64_t step_us);
};

class NetWatch {
  public:
    explicit NetWatch(Loop& loop);
    NetWatch(const NetWatch&) = delete;
    NetWatch& operator=(const NetWatch&) = delete;

    // Opens the rtnetlink socket and watches it; false with `error` when it cannot (the
    // retries then only wait out their backoff). Also watches the clock being set, when it
    // can (a warning otherwise).
    bool start(std::string* error);
    // A timerfd the kernel cancels whenever CLOCK_REALTIME is set; false with `error`.
    bool watch_clock(std::string* error);

  private:
    void readable();
    void clock_readable();
    bool arm_clock();
    void note_change(std::string what);
    void changed();

    Loop& loop_;
    UniqueFd fd_;
    NetlinkChanges changes_;
    ChangeCoalescer coalescer_;
    WritableWatch watch_;
    UniqueFd clock_fd_;
    WritableWatch clock_watch_;
    Timer settle_;
    int64_t clock_offset_us_ = 0;           // CLOCK_REALTIME minus CLOCK_MONOTONIC when last armed
    std::string what_ = "network changed";  // the first change of the pending burst
    bool logged_ = false;
    int64_t last_info_us_ = 0;
};

}  // namespace robotd
