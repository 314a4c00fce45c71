#include "hw/serial_driver.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <utility>

#include "core/clock.h"
#include "core/text.h"
#include "hw/serial_port.h"
#include "hw/usb_serial_find.h"

namespace robotd {

namespace {
constexpr const char* kTag = "serial";
constexpr char kStop[] = "stop\r\n";
constexpr const char* kNotOpen = "serial port not open";
constexpr const char* kFull = "serial output buffer full";
constexpr const char* kBehindStop = "a held stop goes first";
constexpr const char* kBadCommand = "not a line the board's protocol can carry";
// The reference firmware reads a short word per line; anything longer is not a command.
constexpr size_t kMaxCommand = 128;

std::string in_ms(uint32_t ms) {
    return describe_duration(int64_t(ms) * 1000);
}

// What an owner may do about an open that failed.
const char* open_hint(int err) {
    switch (err) {
        case ENOENT:
        case ENODEV:
        case ENXIO:
            return " (is the board plugged in?)";
        case EACCES:
        case EPERM:
            return " (may robotd's user open it? usually the dialout group)";
        case EBUSY:
            return " (another program holds it?)";
        default:
            return "";
    }
}
}  // namespace

// One attempt to find, open and set up the port, shared by the driver and the thread that
// makes it. The thread reports under `mutex` unless the driver has abandoned it (gone while
// the open was stuck): then it closes what it opened and wakes nobody.
struct SerialDriver::OpenJob {
    Config::Serial config;
    std::string sysfs_root;
    std::string dev_dir;
    std::function<void()> fake_stall;
    std::function<void()> wake;  // lws_cancel_service on the driver's loop

    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    bool abandoned = false;

    UniqueFd fd;
    std::string path;
    int err = 0;
    std::string error;
    std::string match;  // what serial_name found, for the log; "" without serial_name
    bool matched = false;
};

SerialDriver::SerialDriver(const Config::Serial& config, Loop& loop, Logger& log,
                           SerialOptions options)
    : config_(config),
      loop_(loop),
      log_(log),
      options_(std::move(options)),
      slow_open_(
          loop,
          [this] {
              LOGW(log_, kTag,
                   "opening %s has taken %s and not returned (a wedged USB adapter?); "
                   "commands are dropped and a stop is held until it does",
                   config_.serial_name.empty() ? config_.serial_device.c_str() : "the serial port",
                   describe_duration(mono_us() - open_started_us_).c_str());
          }),
      retry_(loop, options_.reopen, [this] { begin_open(); }),
      writable_(loop, [this] { on_writable(); }),
      summary_timer_(loop, [this] { summarise_drops(); }) {
    wake_id_ = loop_.add_wake([this] { on_wake(); });
}

SerialDriver::~SerialDriver() {
    flush_before_going();
    loop_.remove_wake(wake_id_);
    writable_.release();
    if (unreported_drops_ > 0)
        LOGW(log_, kTag, "%llu commands dropped (%s)",
             static_cast<unsigned long long>(unreported_drops_), drop_reason_.c_str());
}

void SerialDriver::start() {
    begin_open();
}

void SerialDriver::begin_open() {
    if (job_ || fd_.valid()) return;
    auto job = std::make_shared<OpenJob>();
    job->config = config_;
    job->sysfs_root = options_.sysfs_root;
    job->dev_dir = options_.dev_dir;
    job->fake_stall = options_.fake_stall;
    job->wake = [ctx = loop_.context()] { lws_cancel_service(ctx); };
    open_started_us_ = mono_us();
    try {
        opener_ = std::thread([job] { run_open(*job); });
    } catch (const std::system_error& e) {
        open_failed(e.code().value(), config_.serial_device,
                    std::string("cannot start the thread that opens it: ") + e.what());
        return;
    }
    job_ = std::move(job);
    slow_open_.start_ms(options_.slow_open_ms);
}

// On the opening thread: nothing here may touch the driver, the loop or the log.
void SerialDriver::run_open(OpenJob& job) {
    if (job.fake_stall) job.fake_stall();
    const Config::Serial& c = job.config;
    std::string path = c.serial_device;
    std::string match;
    bool matched = false;
    if (!c.serial_name.empty()) {
        const std::vector<UsbSerialPort> ports = list_usb_serial_ports(job.sysfs_root);
        if (const UsbSerialPort* port = match_usb_serial(ports, c.serial_name)) {
            path = job.dev_dir + "/" + port->dev_name;
            matched = true;
            match = "serial_name '" + c.serial_name + "' matches " +
                    describe_usb_serial_ports({*port}) + ": using " + path;
        } else {
            match = "serial_name '" + c.serial_name +
                    "' matches no USB serial device (seen: " + describe_usb_serial_ports(ports) +
                    "); using serial_device " + path;
        }
    }
    int err = 0;
    std::string error;
    UniqueFd fd = open_serial_port(path, c.baud_rate, &err, &error);
    std::lock_guard<std::mutex> lock(job.mutex);
    if (job.abandoned) return;  // the driver is gone: `fd` closes here
    job.fd = std::move(fd);
    job.path = std::move(path);
    job.err = err;
    job.error = std::move(error);
    job.match = std::move(match);
    job.matched = matched;
    job.done = true;
    job.cv.notify_all();
    // Under the lock: the driver abandons the job under it before it goes, so the loop's
    // context is alive here.
    job.wake();
}

void SerialDriver::on_wake() {
    if (!job_) return;
    {
        std::lock_guard<std::mutex> lock(job_->mutex);
        if (!job_->done) return;
    }
    finish_open();
}

void SerialDriver::finish_open() {
    opener_.join();  // it has reported: the join waits for its return only
    const std::shared_ptr<OpenJob> job = std::move(job_);
    job_.reset();
    if (!slow_open_.armed())
        LOGI(log_, kTag, "the open of %s returned after %s", job->path.c_str(),
             describe_duration(mono_us() - open_started_us_).c_str());
    slow_open_.cancel();
    if (!job->match.empty()) note_match(job->match, job->matched);
    if (job->fd.valid())
        opened(std::move(job->fd), job->path);
    else
        open_failed(job->err, job->path, job->error);
}

void SerialDriver::note_match(const std::string& text, bool matched) {
    // Once per outcome: a board unplugged for an hour is not one line per retry.
    if (text == last_match_) return;
    last_match_ = text;
    if (matched)
        LOGI(log_, kTag, "%s", text.c_str());
    else
        LOGW(log_, kTag, "%s", text.c_str());
}

void SerialDriver::opened(UniqueFd fd, const std::string& path) {
    fd_ = std::move(fd);
    path_ = path;
    ++opens_;
    const bool after_failures = retry_.succeeded();
    if (announced_)
        LOGI(log_, kTag, "serial port %s open%s after %s (%d bit/s 8N1); it gets a stop first",
             path_.c_str(), opens_ > 1 ? " again" : "", retry_.outage_text().c_str(),
             config_.baud_rate);
    else if (opens_ == 1)
        LOGI(log_, kTag, "serial port %s open (%d bit/s 8N1, no flow control)", path_.c_str(),
             config_.baud_rate);
    else
        LOGD(log_, kTag, "serial port %s open again%s", path_.c_str(),
             after_failures ? (" after " + retry_.outage_text()).c_str() : "");
    announced_ = false;
    // The watch stays armed while the port is open: lws sees a hangup (POLLHUP) on it.
    if (!writable_.arm(fd_.get()))
        LOGW(log_, kTag, "cannot watch %s; a hangup shows at the next write", path_.c_str());
    // Whatever the board was told before (by a robotd that died, on the port that went),
    // it hears a stop before anything else; the rest of a line for the old port is void.
    backlog_ = kStop;
    if (!held_) {
        held_ = true;
        greeting_ = true;
        held_since_us_ = mono_us();
    }
    flush_backlog();
}

void SerialDriver::open_failed(int err, const std::string& path, const std::string& error) {
    const RetryPolicy::Step step = retry_.failed();
    const char* hint = open_hint(err);
    if (step.report == RetryPolicy::Report::First) {
        LOGW(log_, kTag, "serial port %s: %s%s; trying again (at least every %s)", path.c_str(),
             error.c_str(), hint, in_ms(retry_.policy().rules().max_ms).c_str());
        announced_ = true;
    } else if (step.report == RetryPolicy::Report::Summary) {
        LOGW(log_, kTag, "serial port %s: still failing after %s: %s%s", path.c_str(),
             retry_.outage_text().c_str(), error.c_str(), hint);
        announced_ = true;
    } else {
        LOGD(log_, kTag, "serial port %s: %s; next try in %s", path.c_str(), error.c_str(),
             in_ms(step.delay_ms).c_str());
    }
}

void SerialDriver::vanished(const std::string& why) {
    writable_.release();
    fd_.reset();
    const std::string path = std::move(path_);
    path_.clear();
    backlog_.clear();  // a held stop stays held: the reopened port gets it first
    const RetryPolicy::Step step = retry_.failed();
    const std::string rematch =
        config_.serial_name.empty() ? "" : "; serial_name is matched again on each try";
    if (step.report == RetryPolicy::Report::Quiet) {
        LOGD(log_, kTag, "serial port %s is gone (%s); next try in %s", path.c_str(), why.c_str(),
             in_ms(step.delay_ms).c_str());
        return;
    }
    announced_ = true;
    LOGW(log_, kTag,
         "serial port %s is gone (%s: unplugged?): motors considered stopped; opening it again "
         "(at least every %s%s)",
         path.c_str(), why.c_str(), in_ms(retry_.policy().rules().max_ms).c_str(), rematch.c_str());
}

void SerialDriver::command(const DriveCommand& c) {
    const std::string word = lower(c.command);
    const bool printable = std::none_of(word.begin(), word.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
    });
    if (word.empty() || word.size() > kMaxCommand || !printable) {
        drop(kBadCommand);
        return;
    }
    send(word + "\r\n", false);
}

void SerialDriver::stop(const DriveCommand&) {
    send(kStop, true);
}

DriverStats SerialDriver::stats() const {
    DriverStats s;
    s.written = written_;
    s.dropped = dropped_;
    s.merged = merged_;
    s.stop_held = held_;
    return s;
}

ssize_t SerialDriver::put(const char* data, size_t size) {
    ssize_t n;
    do {
        n = write(fd_.get(), data, size);
    } while (n < 0 && errno == EINTR);
    if (n == 0 && size > 0) errno = EAGAIN;
    return n;
}

void SerialDriver::send(const std::string& line, bool is_stop) {
    if (!flush_backlog()) {
        // Something is owed (a held stop, the rest of a line), or the port is not open.
        if (is_stop)
            hold(fd_.valid() ? kFull : kNotOpen);
        else
            drop(!fd_.valid() ? kNotOpen : held_ ? kBehindStop : kFull);
        return;
    }
    if (!fd_.valid()) {
        if (is_stop)
            hold(kNotOpen);
        else
            drop(kNotOpen);
        return;
    }
    const ssize_t n = put(line.data(), line.size());
    const int err = errno;
    if (n == static_cast<ssize_t>(line.size())) {
        ++written_;
        return;
    }
    if (n > 0) {
        // The rest goes before anything else, or the board would read two lines run together.
        backlog_ = line.substr(static_cast<size_t>(n));
        if (is_stop) {
            held_ = true;
            greeting_ = false;
            held_since_us_ = mono_us();
        } else {
            ++written_;
        }
        writable_.arm(fd_.get());
        return;
    }
    if (err == EAGAIN || err == EWOULDBLOCK) {
        if (is_stop) {
            hold(kFull);
            writable_.arm(fd_.get());
        } else {
            drop(kFull);
        }
        return;
    }
    // EIO, ENXIO, ENODEV: the device went (and anything else: a reopen is the remedy).
    vanished(strerror(err));
    if (is_stop)
        hold(kNotOpen);
    else
        drop(kNotOpen);
}

void SerialDriver::hold(const char* why) {
    if (held_) {
        // The one held says the same and goes first (a new port's stop now stands for this
        // one, and is counted as it).
        if (greeting_)
            greeting_ = false;
        else
            ++merged_;
        return;
    }
    held_ = true;
    greeting_ = false;
    held_since_us_ = mono_us();
    if (fd_.valid()) {
        backlog_ += kStop;
        LOGW(log_, kTag,
             "stop held (%s): it goes out first as soon as the port takes it; commands are "
             "dropped until then",
             why);
    } else {
        // The port's loss was logged: the stop goes first to the port when it is back.
        LOGD(log_, kTag, "stop held (%s)", why);
    }
}

bool SerialDriver::flush_backlog() {
    // No port: a held stop waits for the reopen, which delivers it first.
    if (!fd_.valid()) return !held_;
    while (!backlog_.empty()) {
        const ssize_t n = put(backlog_.data(), backlog_.size());
        if (n > 0) {
            backlog_.erase(0, static_cast<size_t>(n));
            continue;
        }
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            writable_.arm(fd_.get());
        } else {
            vanished(strerror(err));
        }
        return false;
    }
    if (held_) {
        if (!greeting_) {
            ++written_;
            LOGI(log_, kTag, "held stop delivered after %s",
                 describe_duration(mono_us() - held_since_us_).c_str());
        }
        held_ = false;
        greeting_ = false;
    }
    return true;
}

void SerialDriver::on_writable() {
    if (!fd_.valid()) return;
    pollfd p{fd_.get(), POLLOUT, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) {
        vanished("hung up");
        return;
    }
    // lws closed the watch for some other reason: keep watching for the hangup.
    if (!writable_.armed()) writable_.arm(fd_.get());
    flush_backlog();
}

void SerialDriver::flush_before_going() {
    const int64_t deadline = mono_us() + int64_t(options_.flush_ms) * 1000;
    slow_open_.cancel();
    if (job_) {
        bool done;
        {
            std::unique_lock<std::mutex> lock(job_->mutex);
            // A held stop is worth waiting for the open (up to the deadline); nothing else is.
            if (held_)
                job_->cv.wait_until(
                    lock,
                    std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.flush_ms),
                    [this] { return job_->done; });
            done = job_->done;
            if (!done) job_->abandoned = true;
        }
        if (done) {
            opener_.join();
            if (job_->fd.valid()) {
                fd_ = std::move(job_->fd);
                path_ = job_->path;
                backlog_ = kStop;
                if (!held_) {
                    held_ = true;
                    greeting_ = true;
                }
            }
        } else {
            // Never joined (robotd would hang on the kernel) nor in the way: the thread owns
            // its job, closes the port if it ever opens it, and wakes nobody.
            opener_.detach();
            const int64_t took_us = mono_us() - open_started_us_;
            if (took_us >= int64_t(options_.slow_open_ms) * 1000 || held_)
                LOGW(log_, kTag,
                     "opening the serial port has not returned after %s (a wedged USB adapter?); "
                     "leaving it behind",
                     describe_duration(took_us).c_str());
            else
                LOGD(log_, kTag, "an open of the serial port in progress is left to finish alone");
        }
        job_.reset();
    }
    writable_.release();
    const char* why = "timed out";
    while (fd_.valid() && !backlog_.empty()) {
        const int64_t left_ms = (deadline - mono_us() + 999) / 1000;
        if (left_ms <= 0) break;
        pollfd p{fd_.get(), POLLOUT, 0};
        if (poll(&p, 1, static_cast<int>(left_ms)) <= 0) continue;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            why = "hung up";
            break;
        }
        const ssize_t n = put(backlog_.data(), backlog_.size());
        if (n > 0) {
            backlog_.erase(0, static_cast<size_t>(n));
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            why = strerror(errno);
            break;
        }
    }
    if (!held_) return;
    const bool counted = !greeting_;
    if (fd_.valid() && backlog_.empty()) {
        held_ = false;
        if (!counted) return;
        ++written_;
        LOGI(log_, kTag, "held stop delivered after %s, as the driver goes",
             describe_duration(mono_us() - held_since_us_).c_str());
        return;
    }
    if (!fd_.valid()) {
        LOGW(log_, kTag,
             "a held stop could not be delivered: the serial port is not open (motors "
             "considered stopped; the board gets a stop first when it is opened again)");
        return;
    }
    LOGE(log_, kTag,
         "a held stop could not be delivered to %s within %s (%s); the board keeps its last "
         "command until it gets one",
         path_.c_str(), in_ms(options_.flush_ms).c_str(), why);
}

void SerialDriver::drop(const char* why) {
    ++dropped_;
    drop_reason_ = why;
    if (summary_timer_.armed()) {
        ++unreported_drops_;
        return;
    }
    LOGW(log_, kTag, "command dropped (%s); further drops are summarised every %g s", why,
         options_.summary_ms / 1000.0);
    summary_timer_.start_ms(options_.summary_ms);
}

void SerialDriver::summarise_drops() {
    if (unreported_drops_ == 0) return;  // quiet for a whole period: the next drop logs anew
    LOGW(log_, kTag, "%llu commands dropped (%s)",
         static_cast<unsigned long long>(unreported_drops_), drop_reason_.c_str());
    unreported_drops_ = 0;
    summary_timer_.start_ms(options_.summary_ms);
}

}  // namespace robotd
