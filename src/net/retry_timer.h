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

    // After a failure (or the end of what had worked): schedules the next attempt and returns
    // the policy's step (delay, failures in this outage, what to log).
    RetryPolicy::Step failed();
    // The attempt worked; true when this ends an outage (log the recovery).
    bool succeeded();
    void cancel() { timer_.cancel(); }
    bool pending() const { return timer_.armed(); }
    // No attempt pending and no history: a new target.
    void reset();
    const RetryPolicy& policy() const { return policy_; }
    uint32_t failures() const { return policy_.failures(); }
    // "14 attempts over 10 min", for the outage so far.
    std::string outage_text() const;

  private:
    RetryPolicy policy_;
    Timer timer_;
    std::mt19937 rng_;
};

}  // namespace robotd
