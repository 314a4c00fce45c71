#include "net/reaper.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include "core/clock.h"
#include "core/retry.h"
#include "core/unique_fd.h"
#include "net/child.h"
#include "net/loop.h"

namespace robotd {

namespace {

constexpr int64_t kNever = INT64_MAX;

// Waits until one of `pids` may have exited, or `timeout_ms`. Only used at exit, when the
// loop no longer runs: a pidfd per child where the kernel has them (5.3+), else short naps.
void wait_for_exits(const std::vector<pid_t>& pids, int timeout_ms) {
    if (timeout_ms <= 0) return;
    std::vector<UniqueFd> owned;
    std::vector<pollfd> fds;
#ifdef SYS_pidfd_open
    for (pid_t pid : pids) {
        UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
        if (!fd.valid()) {
            fds.clear();
            break;
        }
        fds.push_back({fd.get(), POLLIN, 0});
        owned.push_back(std::move(fd));
    }
#else
    (void)pids;
#endif
    if (fds.empty()) {
        poll(nullptr, 0, std::min(timeout_ms, 10));
        return;
    }
    poll(fds.data(), fds.size(), timeout_ms);
}

}  // namespace

void signal_group(pid_t pid, int signo) {
    if (pid <= 0) return;
    if (kill(-pid, signo) != 0) kill(pid, signo);
}

Reaper::Reaper(Loop& loop)
    : log_(loop.log()), timer_(std::make_unique<Timer>(loop, [this] {
          run_stages(mono_us());
          arm();
      })) {}

Reaper::~Reaper() = default;

size_t Reaper::abandoned() const {
    return static_cast<size_t>(std::count_if(children_.begin(), children_.end(),
                                             [](const auto& c) { return c.second.abandoned; }));
}

void Reaper::watch(pid_t pid, std::string name, std::function<void(int)> on_exit) {
    Entry& e = children_[pid];
    e = Entry{};
    e.name = std::move(name);
    e.on_exit = std::move(on_exit);
}

void Reaper::stop(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms) {
    auto it = children_.find(pid);
    if (it == children_.end()) return;
    Entry& e = it->second;
    const int64_t now = mono_us();
    const int64_t term_at = now + int64_t(term_in_ms) * 1000;
    const int64_t kill_at = term_at + int64_t(kill_after_ms) * 1000;
    if (!e.stopping) {
        e.stopping = true;
        e.term_at_us = term_at;
        e.kill_at_us = kill_at;
    } else {
        e.term_at_us = std::min(e.term_at_us, term_at);
        e.kill_at_us = std::min(e.kill_at_us, kill_at);
    }
    run_stages(now);
    arm();
}

void Reaper::abandon(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms) {
    auto it = children_.find(pid);
    if (it == children_.end()) return;
    it->second.abandoned = true;
    it->second.on_exit = nullptr;
    stop(pid, term_in_ms, kill_after_ms);
}

void Reaper::kill_now(pid_t pid, Entry& e, const char* why) {
    signal_group(pid, SIGKILL);
    e.killed = true;
    LOGW(log_, "child", "'%s' (pid %d) %s; killing it", e.name.c_str(), static_cast<int>(pid), why);
}

void Reaper::run_stages(int64_t now_us) {
    for (auto& [pid, e] : children_) {
        if (!e.stopping) continue;
        if (!e.termed && now_us >= e.term_at_us) {
            signal_group(pid, SIGTERM);
            e.termed = true;
        }
        if (!e.killed && now_us >= e.kill_at_us) {
            const std::string why =
                "still running " + describe_duration(now_us - e.term_at_us) + " after SIGTERM";
            kill_now(pid, e, why.c_str());
        }
    }
}

void Reaper::arm() {
    int64_t next = kNever;
    for (const auto& [pid, e] : children_) {
        if (!e.stopping) continue;
        if (!e.termed) next = std::min(next, e.term_at_us);
        if (!e.killed) next = std::min(next, e.kill_at_us);
    }
    if (next == kNever) {
        timer_->cancel();
        return;
    }
    const int64_t in_us = std::max<int64_t>(0, next - mono_us());
    timer_->start_ms(static_cast<uint32_t>((in_us + 999) / 1000));
}

// Reaps `pid` if it has ended (any: whichever child has ended, ours or not). True when one
// was reaped.
bool Reaper::reap_one(pid_t pid, bool any) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    // Look first without reaping: while the child is a zombie its group id cannot be reused,
    // so the rest of a group being stopped can still be killed safely.
    if (waitid(any ? P_ALL : P_PID, any ? 0 : static_cast<id_t>(pid), &si,
               WEXITED | WNOHANG | WNOWAIT) != 0) {
        // Reaped elsewhere (another loop's sweep in the same process): nothing left to wait for.
        if (!any && errno == ECHILD && children_.erase(pid)) return true;
        return false;
    }
    if (si.si_pid == 0) return false;
    pid = si.si_pid;
    auto it = children_.find(pid);
    // Ours: whatever it started goes with it, whether it was stopped or ended by itself.
    if (it != children_.end()) signal_group(pid, SIGKILL);
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) != pid) return false;
    if (it == children_.end()) return true;
    Entry e = std::move(it->second);
    children_.erase(it);
    if (e.abandoned)
        LOGD(log_, "child", "'%s' (pid %d) %s", e.name.c_str(), static_cast<int>(pid),
             describe_exit(status).c_str());
    if (e.on_exit) e.on_exit(status);  // may watch or stop other children
    if (e.abandoned && !waiters_.empty() && abandoned() == 0) {
        auto ready = std::move(waiters_);
        waiters_.clear();
        for (auto& [id, fn] : ready) fn();
    }
    return true;
}

uint64_t Reaper::when_none_abandoned(std::function<void()> fn) {
    if (abandoned() == 0) {
        fn();
        return 0;
    }
    waiters_.emplace(next_waiter_, std::move(fn));
    return next_waiter_++;
}

void Reaper::reap() {
    while (reap_one(0, true)) {
    }
    arm();
}

void Reaper::finish(uint32_t bound_ms) {
    timer_->cancel();
    if (children_.empty()) return;
    for (auto& [pid, e] : children_) {
        // An owner that outlives the loop cannot be told any more: no grace for its child.
        e.abandoned = true;
        e.on_exit = nullptr;
        if (!e.stopping) {
            e.stopping = true;
            e.termed = true;
            kill_now(pid, e, "is still running at exit");
        }
    }
    auto reap_ours = [this] {
        std::vector<pid_t> pids;
        for (const auto& c : children_) pids.push_back(c.first);
        for (pid_t pid : pids) reap_one(pid, false);
        pids.clear();
        for (const auto& c : children_) pids.push_back(c.first);
        return pids;
    };
    const int64_t end = mono_us() + int64_t(bound_ms) * 1000;
    for (std::vector<pid_t> left = reap_ours(); !left.empty(); left = reap_ours()) {
        const int64_t now = mono_us();
        if (now >= end) break;
        run_stages(now);
        int64_t next = end;
        for (const auto& [pid, e] : children_) {
            if (!e.termed) next = std::min(next, e.term_at_us);
            if (!e.killed) next = std::min(next, e.kill_at_us);
        }
        wait_for_exits(left, static_cast<int>((std::max<int64_t>(next - now, 0) + 999) / 1000));
    }
    for (auto& [pid, e] : children_)
        if (!e.killed) kill_now(pid, e, "is still running as robotd exits");
    const int64_t kill_end = mono_us() + int64_t(kKillReapMs) * 1000;
    for (std::vector<pid_t> left = reap_ours(); !left.empty(); left = reap_ours()) {
        const int64_t now = mono_us();
        if (now >= kill_end) break;
        wait_for_exits(left, static_cast<int>((kill_end - now + 999) / 1000));
    }
    for (const auto& [pid, e] : children_)
        LOGE(log_, "child", "'%s' (pid %d) did not die within %u ms of SIGKILL; leaving it",
             e.name.c_str(), static_cast<int>(pid), kKillReapMs);
    children_.clear();
}

}  // namespace robotd
