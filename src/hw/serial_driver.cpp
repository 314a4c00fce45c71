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
#include <thread>
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
      hangup_(loop, [this] { on_hangup(); }),
      out_(loop, log, {kTag, "command", "port", kFull, kNotOpen}, options_.summary_ms,
           [this](int err) { vanished(strerror(err)); }) {
    wake_id_ = loop_.add_wake([this] { on_wake(); });
}

namespace {
// Closing a tty waits (closing_wait, 30 s by default, O_NONBLOCK or not) for output the
// device has not taken: a board whose firmware stopped reading would hold the loop. The
// close happens on a thread of its own; the port is ours no more either way.
void close_off_loop(UniqueFd fd) {
    if (!fd.valid()) return;
    try {
        std::thread([f = std::move(fd)]() mutable { f.reset(); }).detach();
    } catch (const std::system_error&) {
        // No thread to be had: closed here, late rather than never.
    }
}
}  // namespace

SerialDriver::~SerialDriver() {
    flush_before_going();
    loop_.remove_wake(wake_id_);
    hangup_.release();
    out_.detach();
    close_off_loop(std::move(fd_));
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
    if (!hangup_.arm(fd_.get()))
        LOGW(log_, kTag, "cannot watch %s; a hangup shows at the next write", path_.c_str());
    // Whatever the board was told before (by a robotd that died, on the port that went),
    // it hears a stop before anything else.
    out_.attach(fd_.get(), kStop);
    out_.flush();
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
    out_.detach();  // a held stop stays held: the reopened port gets it first
    hangup_.release();
    close_off_loop(std::move(fd_));
    const std::string path = std::move(path_);
    path_.clear();
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
        out_.drop(kBadCommand);
        return;
    }
    out_.send(word + "\r\n", false);
}

void SerialDriver::stop(const DriveCommand&) {
    out_.send(kStop, true);
}

DriverStats SerialDriver::stats() const {
    return out_.stats();
}

void SerialDriver::on_hangup() {
    if (!fd_.valid()) return;
    pollfd p{fd_.get(), POLLOUT, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) {
        vanished("hung up");
        return;
    }
    // lws closed the watch for some other reason: keep watching for the hangup.
    if (!hangup_.armed()) hangup_.arm(fd_.get());
}

void SerialDriver::flush_before_going() {
    const int64_t deadline = mono_us() + int64_t(options_.flush_ms) * 1000;
    const bool held = out_.stats().stop_held;
    slow_open_.cancel();
    if (job_) {
        bool done;
        {
            std::unique_lock<std::mutex> lock(job_->mutex);
            // A held stop is worth waiting for the open (up to the deadline); nothing else is.
            if (held)
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
                out_.attach(fd_.get(), kStop);
            }
        } else {
            // Never joined (robotd would hang on the kernel) nor in the way: the thread owns
            // its job, closes the port if it ever opens it, and wakes nobody.
            opener_.detach();
            const int64_t took_us = mono_us() - open_started_us_;
            if (took_us >= int64_t(options_.slow_open_ms) * 1000 || held)
                LOGW(log_, kTag,
                     "opening the serial port has not returned after %s (a wedged USB adapter?); "
                     "leaving it behind",
                     describe_duration(took_us).c_str());
            else
                LOGD(log_, kTag, "an open of the serial port in progress is left to finish alone");
        }
        job_.reset();
    }
    const int err = out_.flush_until(deadline);
    if (err == 0 || !out_.stats().stop_held) return;
    if (!fd_.valid()) {
        LOGW(log_, kTag,
             "a held stop could not be delivered: the serial port is not open (motors "
             "considered stopped; the board gets a stop first when it is opened again)");
        return;
    }
    LOGE(log_, kTag,
         "a held stop could not be delivered to %s within %s (%s); the board keeps its last "
         "command until it gets one",
         path_.c_str(), in_ms(options_.flush_ms).c_str(),
         err == ETIMEDOUT ? "timed out"
         : err == EPIPE   ? "hung up"
                          : strerror(err));
}

}  // namespace robotd
