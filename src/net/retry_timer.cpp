#include "net/retry_timer.h"

#include "core/clock.h"

namespace robotd {

RetryTimer::RetryTimer(Loop& loop, RetryRules rules, std::function<void()> attempt)
    : loop_(loop),
      policy_(rules),
      timer_(loop, std::move(attempt)),
      registration_(loop.add_retry([this] { return retry_now(); })),
      rng_(std::random_device{}()) {}

RetryTimer::~RetryTimer() {
    loop_.remove_retry(registration_);
}

bool RetryTimer::retry_now() {
    if (!timer_.armed()) return false;
    timer_.start_ms(0);  // from the loop, never inside the caller: it may be iterating
    return true;
}

RetryPolicy::Step RetryTimer::failed() {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const RetryPolicy::Step step = policy_.failed(mono_us(), unit(rng_));
    timer_.start_ms(step.delay_ms);
    return step;
}

bool RetryTimer::succeeded() {
    timer_.cancel();
    return policy_.succeeded(mono_us());
}

void RetryTimer::reset() {
    timer_.cancel();
    policy_.reset();
}

std::string RetryTimer::outage_text() const {
    return policy_.outage_text(mono_us());
}

std::string RetryTimer::outage_for() const {
    return policy_.outage_for(mono_us());
}

}  // namespace robotd
