// Notices the network changing (a link, address or route coming up) from the kernel's
// rtnetlink messages on the loop, and then runs every retry that waits out a backoff at once.
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

class NetWatch {
  public:
    explicit NetWatch(Loop& loop);
    NetWatch(const NetWatch&) = delete;
    NetWatch& operator=(const NetWatch&) = delete;

    // Opens the rtnetlink socket and watches it; false with `error` when it cannot (the
    // retries then only wait out their backoff).
    bool start(std::string* error);

  private:
    void readable();
    void changed();

    Loop& loop_;
    UniqueFd fd_;
    NetlinkChanges changes_;
    ChangeCoalescer coalescer_;
    WritableWatch watch_;
    Timer settle_;
    bool logged_ = false;
    int64_t last_info_us_ = 0;
};

}  // namespace robotd
