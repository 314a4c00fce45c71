// A retry loop on the event loop: the one RetryPolicy (core/retry.h), the timer that runs
// the next attempt and the random numbers for its jitter, so every module retries alike.
#pragma once

#include <functional>
#include <random>
#include <string>

#include "core/retry.h"
#include "net/loop.h"

namespace robotd {

class RetryTimer {
  public:
    // `attempt` runs on the loop when a scheduled retry is due.
    RetryTimer(Loop& loop, RetryRules rules, std::function<void()> attempt);
    ~RetryTimer();
    RetryTimer(const RetryTimer&) = delete;
    RetryTimer& operator=(const RetryTimer&) = delete;

    // After a failure (or the end of what had worked): schedules the next attempt and returns
    // the policy's step (delay, failures in this outage, what to log).
    RetryPolicy::Step failed();
    // The attempt worked; true when this ends an outage (log the recovery).
    bool succeeded();
    void cancel() { timer_.cancel(); }
    // Runs a pending attempt now instead of at the end of its backoff (the network changed:
    // the reason it failed may be gone). It still counts as an attempt: a failure backs off
    // further and the outage's reports go on as before. False when nothing was pending.
    // The loop calls it on every RetryTimer (Loop::retry_all_now).
    bool retry_now();
    bool pending() const { return timer_.armed(); }
    // No attempt pending and no history: a new target.
    void reset();
    const RetryPolicy& policy() const { return policy_; }
    uint32_t failures() const { return policy_.failures(); }
    // "14 attempts over 10 min", for the outage so far.
    std::string outage_text() const;
    // " for 3 min" once the outage has lasted a minute (RetryPolicy::outage_for).
    std::string outage_for() const;

  private:
    Loop& loop_;
    RetryPolicy policy_;
    Timer timer_;
    uint64_t registration_;  // in the loop's registry of retry loops
    std::mt19937 rng_;
};

}  // namespace robotd
