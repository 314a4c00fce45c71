#include "net/retry_timer.h"

#include "core/clock.h"

namespace robotd {

RetryTimer::RetryTimer(Loop& loop, RetryRules rules, std::function<void()> attempt)
    : policy_(rules), timer_(loop, std::move(attempt)), rng_(std::random_device{}()) {}

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

}  // namespace robotd
