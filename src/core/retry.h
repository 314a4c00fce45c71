// The one retry policy of robotd, used by every retry loop (socket.io sessions, uploads,
// lookups, consumer restarts, device reopens): exponential backoff with jitter up to a cap,
// a "healthy after N ms" rule, and when to tell the owner about an outage. Pure: the caller
// supplies the clock and the random numbers, so tests script every fault.
#pragma once

#include <cstdint>
#include <string>

namespace robotd {

struct RetryRules {
    uint32_t min_ms = 500;    // the first delay after a failure
    uint32_t max_ms = 30000;  // delays double per failure in a row up to this
    // A success counts (failures and backoff start over) only once it has lasted this long:
    // a link that dies right after connecting, a consumer that exits at once, a camera that
    // fails right after every open keep backing off. 0: every success counts at once.
    uint32_t healthy_ms = 10000;
};

class RetryPolicy {
  public:
    // What the caller should log about a failure: the first of an outage, a summary at growing
    // intervals (1 min, 2, 4, ... up to 1 h), or nothing (the log stays readable offline).
    enum class Report { Quiet, First, Summary };
    struct Step {
        uint32_t delay_ms = 0;  // wait this long before the next attempt
        uint32_t failures = 0;  // failures in this outage, this one included: 1, 2, 3, ...
        Report report = Report::Quiet;
    };

    explicit RetryPolicy(RetryRules rules = {}) : rules_(rules) {}

    // The attempt worked (a link is up, a stream flows, a child runs, a lookup answered).
    // True when this ends an outage (there were failures): the caller logs the recovery.
    bool succeeded(int64_t now_us);
    // The attempt failed, or what had worked has ended. `unit` in [0, 1) draws the jitter: the
    // delay is in the upper half of the current step ("equal jitter"), never below min_ms, so
    // many robots spread their retries out and none hammers a server.
    Step failed(int64_t now_us, double unit);
    // Forgets the history (a new target: another server, another config).
    void reset() { *this = RetryPolicy(rules_); }

    bool up() const { return up_; }
    uint32_t failures() const { return failures_; }
    const RetryRules& rules() const { return rules_; }
    // When the current (or last) outage began: its first failure.
    int64_t outage_start_us() const { return outage_start_us_; }
    // "14 attempts over 10 min" for the outage so far (or just ended at `now_us`).
    std::string outage_text(int64_t now_us) const;
    // " for 3 min" once the outage has lasted a minute, else "": whole minutes, because a
    // status polled every second would otherwise change at every poll.
    std::string outage_for(int64_t now_us) const;

  private:
    RetryRules rules_;
    bool up_ = false;
    int64_t up_since_us_ = 0;
    uint32_t failures_ = 0;
    int64_t outage_start_us_ = 0;
    int64_t next_report_us_ = 0;
    int64_t report_interval_us_ = 0;
};

// A duration for a log line: "850 ms", "12 s", "10 min", "2 h 5 min", "3 d 4 h".
std::string describe_duration(int64_t us);

}  // namespace robotd
