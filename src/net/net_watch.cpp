#include "net/net_watch.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>

#include "core/clock.h"
#include "core/retry.h"

namespace robotd {

namespace {
// The "network changed" info line at most this often; the others are debug lines.
constexpr int64_t kInfoEveryUs = 60LL * 1000000;
}  // namespace

bool NetlinkChanges::feed(const void* data, size_t len) {
    bool changed = false;
    int left = static_cast<int>(std::min<size_t>(len, 1 << 30));
    for (auto* h = static_cast<const nlmsghdr*>(data); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        switch (h->nlmsg_type) {
            case RTM_NEWLINK:
            case RTM_DELLINK: {
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) break;
                const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
                constexpr unsigned kUsable = IFF_UP | IFF_RUNNING;
                const bool up =
                    h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & kUsable) == kUsable;
                const auto it = link_up_.find(ifi->ifi_index);
                if (up && (it == link_up_.end() || !it->second)) changed = true;
                if (h->nlmsg_type == RTM_DELLINK)
                    link_up_.erase(ifi->ifi_index);
                else
                    link_up_[ifi->ifi_index] = up;
                break;
            }
            case RTM_NEWADDR: {
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) break;
                const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
                // A tentative IPv6 address cannot be used until its duplicate check is done;
                // the kernel says so again when it is.
                if (!(ifa->ifa_flags & IFA_F_TENTATIVE)) changed = true;
                break;
            }
            case RTM_NEWROUTE: {
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) break;
                const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
                if (!(rt->rtm_flags & RTM_F_CLONED)) changed = true;
                break;
            }
            default:
                break;
        }
    }
    return changed;
}

int64_t ChangeCoalescer::change(int64_t now_us) {
    if (pending_) return -1;
    pending_ = true;
    int64_t due = now_us + kSettleUs;
    if (fired_once_) due = std::max(due, last_fired_us_ + kSpacingUs);
    return (due - now_us + 999) / 1000;
}

void ChangeCoalescer::fired(int64_t now_us) {
    pending_ = false;
    fired_once_ = true;
    last_fired_us_ = now_us;
}

NetWatch::NetWatch(Loop& loop)
    : loop_(loop),
      watch_(
          loop, [this] { readable(); }, WritableWatch::Want::Readable),
      clock_watch_(
          loop, [this] { clock_readable(); }, WritableWatch::Want::Readable),
      settle_(loop, [this] { changed(); }) {}

bool NetWatch::start(std::string* error) {
    fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd_.valid()) {
        *error = std::string("netlink socket: ") + strerror(errno);
        return false;
    }
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                     RTMGRP_IPV6_ROUTE;
    if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        *error = std::string("netlink bind: ") + strerror(errno);
        fd_.reset();
        return false;
    }
    if (!watch_.arm(fd_.get())) {
        *error = "the netlink socket cannot be put on the loop";
        fd_.reset();
        return false;
    }
    std::string why;
    if (!watch_clock(&why))
        LOGW(loop_.log(), "net",
             "cannot watch the clock being set (%s): after NTP sets it, a TLS connection "
             "refused for the clock waits out its retry delay",
             why.c_str());
    return true;
}

bool NetWatch::watch_clock(std::string* error) {
    clock_fd_.reset(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!clock_fd_.valid()) {
        *error = std::string("timerfd: ") + strerror(errno);
        return false;
    }
    if (!arm_clock()) {
        *error = std::string("timerfd_settime: ") + strerror(errno);
        clock_fd_.reset();
        return false;
    }
    if (!clock_watch_.arm(clock_fd_.get())) {
        *error = "the timerfd cannot be put on the loop";
        clock_fd_.reset();
        return false;
    }
    return true;
}

std::string ClockStep::describe(int64_t step_us) {
    if (!matters(step_us)) {
        char buf[48];
        snprintf(buf, sizeof buf, "the clock was set by %+.3f s", double(step_us) / 1e6);
        return buf;
    }
    return std::string("the clock was set ") + (step_us > 0 ? "forward " : "back ") +
           describe_duration(step_us > 0 ? step_us : -step_us);
}

namespace {
// The wall clock's offset from the monotonic one: how far it was set is the change of this.
// It measures the step only; no timer reads it. `fallback` when the clock cannot be read (a
// 32-bit time_t past 2038): no step is seen then.
int64_t wall_offset_us(int64_t fallback) {
    timespec wall{};
    if (clock_gettime(CLOCK_REALTIME, &wall) != 0) return fallback;
    return int64_t(wall.tv_sec) * 1000000 + wall.tv_nsec / 1000 - mono_us();
}
}  // namespace

// Armed for the end of time (the kernel clamps it): it never expires, it is only cancelled
// when the clock is set. Armed again after each cancel, so that the offset it measures the
// next step from is taken after the kernel's own snapshot.
bool NetWatch::arm_clock() {
    itimerspec when{};
    when.it_value.tv_sec = std::numeric_limits<time_t>::max();
    // ECANCELED: the clock was set again since the read; the timer is armed all the same, and
    // that step is in the offset taken below (measured now, not lost).
    if (timerfd_settime(clock_fd_.get(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &when,
                        nullptr) != 0 &&
        errno != ECANCELED)
        return false;
    clock_offset_us_ = wall_offset_us(clock_offset_us_);
    return true;
}

void NetWatch::clock_readable() {
    uint64_t expirations;
    const ssize_t n = read(clock_fd_.get(), &expirations, sizeof expirations);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {  // nothing happened after all
        if (!clock_watch_.arm(clock_fd_.get())) clock_fd_.reset();
        return;
    }
    if (n == sizeof expirations) {
        // It expired: the clock is past the end of a 32-bit time_t. Arming it again would
        // expire at once, forever; the clock is no longer watched.
        LOGW(loop_.log(), "net", "the clock says it is past 2038: it is no longer watched");
        clock_watch_.release();
        clock_fd_.reset();
        return;
    }
    // ECANCELED: the clock was set. Arm again, to notice the next time too.
    const int64_t before = clock_offset_us_;
    if (!arm_clock() || !clock_watch_.arm(clock_fd_.get())) {
        LOGW(loop_.log(), "net", "the clock being set can no longer be watched");
        clock_watch_.release();
        clock_fd_.reset();
    }
    const int64_t step = clock_offset_us_ - before;
    if (!ClockStep::matters(step)) {
        LOGD(loop_.log(), "net", "%s: too small a step to retry for",
             ClockStep::describe(step).c_str());
        return;
    }
    note_change(ClockStep::describe(step));
}

void NetWatch::readable() {
    bool changed = false;
    for (;;) {
        alignas(nlmsghdr) char buf[32768];
        sockaddr_nl from{};
        socklen_t from_len = sizeof from;
        const ssize_t n = recvfrom(fd_.get(), buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == ENOBUFS) {  // the kernel dropped messages: something did change
                changed = true;
                continue;
            }
            LOGW(loop_.log(), "net",
                 "cannot read network changes (%s): retries wait out their backoff",
                 strerror(errno));
            watch_.release();
            fd_.reset();
            return;
        }
        if (from.nl_pid != 0) continue;  // only the kernel speaks for the network
        if (size_t(n) > sizeof buf) {
            changed = true;  // truncated: what was cut off may have been a change
            continue;
        }
        if (changes_.feed(buf, size_t(n))) changed = true;
    }
    if (!watch_.arm(fd_.get())) {
        LOGW(loop_.log(), "net",
             "network changes can no longer be watched: retries wait out "
             "their backoff");
        fd_.reset();
    }
    if (changed) note_change("network changed");
}

void NetWatch::note_change(std::string what) {
    const int64_t delay_ms = coalescer_.change(mono_us());
    if (delay_ms < 0) return;  // a burst is pending already: its first cause names it
    what_ = std::move(what);
    settle_.start_ms(static_cast<uint32_t>(delay_ms));
}

void NetWatch::changed() {
    const int64_t now = mono_us();
    coalescer_.fired(now);
    const size_t pending = loop_.retry_all_now();
    if (pending == 0) {
        LOGD(loop_.log(), "net", "%s; nothing is waiting to retry", what_.c_str());
        return;
    }
    if (!logged_ || now - last_info_us_ >= kInfoEveryUs) {
        logged_ = true;
        last_info_us_ = now;
        LOGI(loop_.log(), "net", "%s: retrying now", what_.c_str());
    } else {
        LOGD(loop_.log(), "net", "%s: retrying now (%zu waiting)", what_.c_str(), pending);
    }
}

}  // namespace robotd
