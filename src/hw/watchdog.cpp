#include "hw/watchdog.h"

#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace robotd {

namespace {
constexpr const char* kTag = "watchdog";
// Any byte but 'V' keeps the watchdog alive; 'V' would arm the magic close, and a robotd
// killed after it would leave the board running unwatched.
constexpr char kFeedByte = '.';
}  // namespace

HwWatchdog::HwWatchdog(Loop& loop)
    : loop_(loop), log_(loop.log()), timer_(loop, [this] { feed(); }) {}

HwWatchdog::~HwWatchdog() {
    if (!fd_.valid()) return;
    timer_.cancel();
    if (::write(fd_.get(), "V", 1) != 1)
        LOGW(log_, kTag, "%s: magic close failed (%s): the board may reset in %d s",
             device_.c_str(), strerror(errno), timeout_s_);
    fd_.reset();
    LOGI(log_, kTag, "%s closed (magic close): the board will not be reset", device_.c_str());
}

bool HwWatchdog::open(const std::string& device, int timeout_s) {
    device_ = device;
    fd_.reset(::open(device.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd_.valid()) {
        // EBUSY: another process (a watchdog daemon) holds it; only one may.
        LOGE(log_, kTag,
             "cannot open [misc] watchdog_device %s: %s%s; robotd runs without a hardware "
             "watchdog: a hung robotd will not reset the board",
             device.c_str(), strerror(errno),
             errno == EBUSY ? " (another process, e.g. a watchdog daemon, holds it)" : "");
        return false;
    }
    timeout_s_ = timeout_s;
    int t = timeout_s;
    if (ioctl(fd_.get(), WDIOC_SETTIMEOUT, &t) != 0) {
        const int err = errno;
        int now = 0;
        if (ioctl(fd_.get(), WDIOC_GETTIMEOUT, &now) == 0 && now > 0) {
            timeout_s_ = now;
            LOGW(log_, kTag, "%s refused a timeout of %d s (%s); it keeps %d s", device.c_str(),
                 timeout_s, strerror(err), now);
        } else {
            // Not a watchdog driver that says its timeout (or a fake): feed as configured.
            LOGW(log_, kTag,
                 "%s takes no timeout (%s) and does not say its own; feeding every %u ms as "
                 "for %d s",
                 device.c_str(), strerror(err), feed_interval_ms(), timeout_s);
        }
    } else if (t != timeout_s) {
        // The driver rounds to what the hardware can do, and says so in `t`.
        timeout_s_ = t;
        LOGW(log_, kTag, "%s took a timeout of %d s for the %d s asked", device.c_str(), t,
             timeout_s);
    }
    LOGI(log_, kTag, "%s open: the board resets if robotd's loop stops for %d s", device.c_str(),
         timeout_s_);
    return true;
}

uint32_t HwWatchdog::feed_interval_ms() const {
    return static_cast<uint32_t>(std::max(timeout_s_, 1) * 1000 / 3);
}

void HwWatchdog::start() {
    if (fd_.valid()) timer_.start_ms(0);
}

void HwWatchdog::feed() {
    if (::write(fd_.get(), &kFeedByte, 1) == 1) {
        ++feeds_;
        if (failing_) LOGI(log_, kTag, "%s takes its keep-alives again", device_.c_str());
        failing_ = false;
    } else if (!failing_) {
        failing_ = true;
        LOGE(log_, kTag, "%s: keep-alive failed (%s): the board may reset", device_.c_str(),
             strerror(errno));
    }
    timer_.start_ms(feed_interval_ms());
}

}  // namespace robotd
