// Every child process robotd starts, until it is reaped: its owner is told when it exits, and
// once it is being stopped (or its owner is gone) SIGTERM then SIGKILL follow on a timer.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/log.h"

namespace robotd {

class Loop;
class Timer;

// Children are started in process groups of their own (Child does so): every signal goes to
// the whole group, and when a child exits (stopped or by itself), what is left of its group
// gets SIGKILL before it is reaped, so nothing it started lingers on the hardware either.
class Reaper {
  public:
    explicit Reaper(Loop& loop);
    ~Reaper();
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;

    // Calls `on_exit` on the loop with the wait status when `pid` exits. `name` is for logs.
    void watch(pid_t pid, std::string name, std::function<void(int status)> on_exit);
    // Stops `pid`: SIGTERM `term_in_ms` from now (0: at once), SIGKILL `kill_after_ms` after
    // that. Earlier deadlines already set stay. Its owner is still told of the exit.
    void stop(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms);
    // The owner is gone: as stop(), and the exit is reaped silently (logged at debug).
    void abandon(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms);
    // On SIGCHLD: reaps every child that has ended (ours or not; SIGCHLDs merge).
    void reap();
    // At exit, once the loop no longer runs: children follow their schedules for at most
    // `bound_ms`; then whatever is left gets SIGKILL and is reaped, waiting at most
    // kKillReapMs more (a process stuck in the kernel cannot be waited for forever).
    void finish(uint32_t bound_ms);

    // Children not yet reaped, and of those the ones whose owner is gone.
    size_t alive() const { return children_.size(); }
    size_t abandoned() const;
    // Calls `fn` on the loop once no abandoned child is left (before returning, when none
    // is): a successor that needs the same hardware starts only after its predecessor is
    // gone. Returns an id for cancel_wait(), 0 when `fn` already ran.
    uint64_t when_none_abandoned(std::function<void()> fn);
    void cancel_wait(uint64_t id) { waiters_.erase(id); }

    static constexpr uint32_t kKillReapMs = 1000;

  private:
    struct Entry {
        std::string name;
        std::function<void(int)> on_exit;
        bool abandoned = false;
        bool stopping = false;
        bool termed = false;
        bool killed = false;
        int64_t term_at_us = 0;
        int64_t kill_at_us = 0;
    };

    void run_stages(int64_t now_us);
    void arm();
    bool reap_one(pid_t pid, bool any);
    void kill_now(pid_t pid, Entry& e, const char* why);

    Logger& log_;
    std::map<pid_t, Entry> children_;
    std::map<uint64_t, std::function<void()>> waiters_;
    uint64_t next_waiter_ = 1;
    std::unique_ptr<Timer> timer_;
};

// Sends `signo` to the process group `pid` leads (to `pid` alone if it leads none).
void signal_group(pid_t pid, int signo);

}  // namespace robotd
