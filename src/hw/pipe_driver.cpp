#include "hw/pipe_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/argv.h"
#include "core/clock.h"
#include "hw/pipe_line.h"
#include "net/reaper.h"

namespace robotd {

namespace {
constexpr const char* kNotReading = "consumer not reading";
constexpr const char* kNoReader = "no reader";
constexpr const char* kNotRunning = "consumer not running";
constexpr const char* kBehindStop = "a held stop goes first";
// What a stop becomes if its line cannot be built (out of memory): still a stop.
const char kBareStop[] = "{\"command\":\"stop\"}\n";

bool is_fifo(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

RetryRules rules_for(const Config::Pipe& config, const PipeTimings& t) {
    if (!config.command.empty()) return t.restart;
    if (config.path != "-" && is_fifo(config.path)) return t.reopen;
    return t.rewrite;
}

std::string in_ms(uint32_t ms) {
    return describe_duration(int64_t(ms) * 1000);
}
}  // namespace

PipeDriver::PipeDriver(const Config::Pipe& config, Loop& loop, Logger& log, PipeTimings timings)
    : config_(config),
      loop_(loop),
      log_(log),
      timings_(timings),
      child_(loop),
      retry_(loop, rules_for(config, timings), [this] { retry_now(); }),
      healthy_(loop,
               [this] {
                   if (!child_.running()) return;
                   LOGI(log_, "pipe", "consumer '%s' (pid %d) has run for %s: recovered after %s",
                        argv_[0].c_str(), static_cast<int>(child_.pid()),
                        in_ms(timings_.restart.healthy_ms).c_str(), retry_.outage_text().c_str());
               }),
      writable_(loop, [this] { flush_backlog(); }),
      summary_timer_(loop, [this] { summarise_drops(); }) {
    child_.on_exit([this](int status) { consumer_exited(status); });
}

PipeDriver::~PipeDriver() {
    if (wait_id_) loop_.reaper().cancel_wait(wait_id_);
    flush_before_going();
    writable_.release();  // its duplicate would keep the consumer's stdin open: no EOF
    if (unreported_drops_ > 0)
        LOGW(log_, "pipe", "%llu lines dropped (%s)",
             static_cast<unsigned long long>(unreported_drops_), drop_reason_.c_str());
}

bool PipeDriver::start(std::string* error) {
    if (!config_.command.empty()) {
        if (!split_argv(config_.command, &argv_, error)) {
            *error = "pipe.command: " + *error;
            return false;
        }
        sink_ = Sink::Consumer;
        if (loop_.reaper().abandoned() > 0)
            LOGI(log_, "pipe", "consumer '%s' starts once the previous one has exited",
                 argv_[0].c_str());
        wait_id_ = loop_.reaper().when_none_abandoned([this] {
            wait_id_ = 0;
            start_consumer();
        });
        return true;
    }
    if (config_.path == "-") {
        sink_ = Sink::Stdout;
        return open_stdout(error);
    }
    if (is_fifo(config_.path)) {
        sink_ = Sink::Fifo;
        open_fifo();
        return true;
    }
    sink_ = Sink::File;
    // O_NONBLOCK costs nothing on a regular file and keeps a device node from blocking.
    fd_.reset(open(config_.path.c_str(),
                   O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644));
    if (!fd_.valid()) {
        *error = "pipe.path '" + config_.path + "': " + strerror(errno);
        return false;
    }
    LOGI(log_, "pipe", "appending lines to %s", config_.path.c_str());
    return true;
}

bool PipeDriver::open_stdout(std::string* error) {
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) != 0) {
        *error = std::string("pipe.path '-': stdout: ") + strerror(errno);
        return false;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        // A fresh open file description of the same pipe or tty can be non-blocking without
        // changing the one robotd's parent shares.
        fd_.reset(open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    }
    if (!fd_.valid()) {
        fd_.reset(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0));
        if (!fd_.valid()) {
            *error = std::string("pipe.path '-': stdout: ") + strerror(errno);
            return false;
        }
        is_socket_ = S_ISSOCK(st.st_mode);
        poll_before_write_ = !S_ISREG(st.st_mode) && !is_socket_;
    }
    LOGI(log_, "pipe", "writing lines to stdout");
    return true;
}

void PipeDriver::retry_now() {
    if (sink_ == Sink::Fifo && !fd_.valid()) {
        open_fifo();
    } else if (sink_ == Sink::Consumer && !child_.running()) {
        start_consumer();
    } else {
        flush_backlog();
    }
}

void PipeDriver::open_fifo() {
    writable_.release();
    // Non-blocking: open fails with ENXIO at once while nobody reads, instead of waiting.
    fd_.reset(open(config_.path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (fd_.valid()) {
        if (retry_.succeeded())
            LOGI(log_, "pipe", "FIFO %s has a reader again (after %s)", config_.path.c_str(),
                 retry_.outage_text().c_str());
        else
            LOGI(log_, "pipe", "writing lines to FIFO %s", config_.path.c_str());
        new_destination();
        return;
    }
    const int err = errno;
    const RetryPolicy::Step step = retry_.failed();
    const std::string cap = in_ms(retry_.policy().rules().max_ms);
    if (step.report == RetryPolicy::Report::First) {
        if (err == ENXIO)
            LOGI(log_, "pipe", "FIFO %s has no reader yet; trying again (at least every %s)",
                 config_.path.c_str(), cap.c_str());
        else
            LOGW(log_, "pipe", "FIFO %s: %s; trying again (at least every %s)",
                 config_.path.c_str(), strerror(err), cap.c_str());
    } else if (step.report == RetryPolicy::Report::Summary) {
        LOGW(log_, "pipe", "FIFO %s: still %s after %s; is its reader running?",
             config_.path.c_str(), err == ENXIO ? "no reader" : strerror(err),
             retry_.outage_text().c_str());
    }
}

void PipeDriver::start_consumer() {
    std::string error;
    consumer_stopping_ = false;
    writable_.release();
    if (child_.start(argv_, true, &error)) {
        ++consumer_starts_;
        consumer_started_us_ = mono_us();
        const bool after_failures = retry_.failures() > 0;
        retry_.succeeded();
        if (after_failures) {
            LOGD(log_, "pipe", "consumer '%s' restarted (pid %d)", argv_[0].c_str(),
                 static_cast<int>(child_.pid()));
            healthy_.start_ms(timings_.restart.healthy_ms);
        } else {
            LOGI(log_, "pipe", "consumer '%s' started (pid %d)", argv_[0].c_str(),
                 static_cast<int>(child_.pid()));
        }
        new_destination();
        return;
    }
    const RetryPolicy::Step step = retry_.failed();
    const std::string next = in_ms(step.delay_ms);
    if (step.report == RetryPolicy::Report::First)
        LOGE(log_, "pipe", "consumer: %s; trying again in %s", error.c_str(), next.c_str());
    else if (step.report == RetryPolicy::Report::Summary)
        LOGE(log_, "pipe", "consumer: still failing after %s: %s; next try in %s",
             retry_.outage_text().c_str(), error.c_str(), next.c_str());
    else
        LOGD(log_, "pipe", "consumer: %s; trying again in %s", error.c_str(), next.c_str());
}

void PipeDriver::consumer_exited(int status) {
    writable_.release();
    healthy_.cancel();
    backlog_ = held_stop_;  // the rest of a line begun on the old stdin went with it
    const std::string what =
        describe_exit(status) + " after " + describe_duration(mono_us() - consumer_started_us_);
    const RetryPolicy::Step step = retry_.failed();
    const std::string next = in_ms(step.delay_ms);
    if (step.report == RetryPolicy::Report::First)
        LOGW(log_, "pipe", "consumer '%s' %s; restarting it in %s", argv_[0].c_str(), what.c_str(),
             next.c_str());
    else if (step.report == RetryPolicy::Report::Summary)
        LOGW(log_, "pipe", "consumer '%s' keeps ending: %s; last %s; restarting it in %s",
             argv_[0].c_str(), retry_.outage_text().c_str(), what.c_str(), next.c_str());
    else
        LOGD(log_, "pipe", "consumer '%s' %s; restarting it in %s", argv_[0].c_str(), what.c_str(),
             next.c_str());
}

void PipeDriver::command(const DriveCommand& c) {
    const std::string line = command_line(c);
    if (line.empty() || line.size() > kMaxPipeLine) {
        drop("line could not be encoded");
        return;
    }
    send(line, false);
}

void PipeDriver::stop(const DriveCommand& c) {
    std::string line = command_line(c);
    if (line.empty() || line.size() > kMaxPipeLine) line = kBareStop;
    send(line, true);
}

void PipeDriver::pointer(const PointerEvent& p) {
    const std::string line = pointer_line(p);
    if (line.empty() || line.size() > kMaxPipeLine) {
        drop("line could not be encoded");
        return;
    }
    send(line, false);
}

DriverStats PipeDriver::stats() const {
    DriverStats s;
    s.written = written_;
    s.dropped = dropped_;
    s.merged = merged_;
    s.stop_held = !held_stop_.empty();
    return s;
}

int PipeDriver::sink_fd() const {
    return sink_ == Sink::Consumer ? child_.stdin_fd() : fd_.get();
}

const char* PipeDriver::no_sink_reason() const {
    return sink_ == Sink::Consumer ? kNotRunning : kNoReader;
}

ssize_t PipeDriver::put(const char* data, size_t size) {
    const int fd = sink_fd();
    if (poll_before_write_) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) {
            errno = EAGAIN;
            return -1;
        }
    }
    ssize_t n;
    do {
        n = is_socket_ ? ::send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL)
                       : write(fd, data, size);
    } while (n < 0 && errno == EINTR);
    if (n == 0 && size > 0) errno = ENOSPC;  // a regular file that takes nothing
    return n;
}

void PipeDriver::send(const std::string& line, bool is_stop) {
    if (!flush_backlog()) {
        // Something is still owed (a held stop, the rest of a line): nothing passes it.
        if (is_stop)
            hold(line, sink_fd() < 0 ? no_sink_reason() : kNotReading);
        else
            drop(!held_stop_.empty() ? kBehindStop
                 : sink_fd() < 0     ? no_sink_reason()
                                     : kNotReading);
        return;
    }
    if (sink_fd() < 0) {
        if (is_stop)
            hold(line, no_sink_reason());
        else
            drop(no_sink_reason());
        return;
    }
    const ssize_t n = put(line.data(), line.size());
    const int err = errno;
    if (n == static_cast<ssize_t>(line.size())) {
        ++written_;
        return;
    }
    if (n > 0) {
        // A short write (a socket, a full disk; pipes write lines whole): the rest goes
        // before anything else, or the consumer would read two lines run together.
        backlog_ = line.substr(static_cast<size_t>(n));
        if (is_stop) {
            held_stop_ = line;
            held_since_us_ = mono_us();
        } else {
            ++written_;
        }
        wait_to_write(sink_ == Sink::File ? ENOSPC : EAGAIN);
        return;
    }
    const char* why = err == EAGAIN || err == EWOULDBLOCK ? kNotReading
                      : err == EPIPE                      ? no_sink_reason()
                                                          : strerror(err);
    if (is_stop) {
        hold(line, why);
        wait_to_write(err);
        return;
    }
    drop(why);
    if (err == EPIPE) lost_reader();
}

void PipeDriver::hold(const std::string& stop, const char* why) {
    if (!held_stop_.empty()) {
        // The held one says the same, and goes first (a new reader's stop now stands for
        // this one, and is counted as it).
        if (greeting_)
            greeting_ = false;
        else
            ++merged_;
        return;
    }
    held_stop_ = stop;
    backlog_ += stop;
    held_since_us_ = mono_us();
    LOGW(log_, "pipe",
         "stop held (%s): it goes out first as soon as the %s can take it; commands are dropped "
         "until then",
         why, sink_ == Sink::Consumer ? "consumer" : "reader");
}

bool PipeDriver::flush_backlog() {
    while (!backlog_.empty()) {
        if (sink_fd() < 0) return false;  // the reopen or restart delivers it
        const ssize_t n = put(backlog_.data(), backlog_.size());
        if (n > 0) {
            backlog_.erase(0, static_cast<size_t>(n));
            continue;
        }
        wait_to_write(errno);
        // A reader gone may have been replaced at once (a reopen that flushed it all).
        return backlog_.empty();
    }
    writable_.release();
    if (!held_stop_.empty()) {
        if (!greeting_) {
            ++written_;
            LOGI(log_, "pipe", "held stop delivered after %s",
                 describe_duration(mono_us() - held_since_us_).c_str());
        }
        held_stop_.clear();
        greeting_ = false;
    }
    return true;
}

void PipeDriver::wait_to_write(int error) {
    const int fd = sink_fd();
    if (fd < 0) return;  // the reopen or restart delivers what is owed
    if (error == EPIPE) {
        lost_reader();
        return;
    }
    // A full pipe or socket: an event when it has room. (A regular file is always
    // "writable", so its errors wait on the backoff instead.)
    if ((error == EAGAIN || error == EWOULDBLOCK) && sink_ != Sink::File && writable_.arm(fd))
        return;
    const RetryPolicy::Step step = retry_.failed();
    if (step.report != RetryPolicy::Report::Quiet)
        LOGE(log_, "pipe", "cannot write to %s: %s; trying again in %s",
             sink_ == Sink::Consumer ? "the consumer" : config_.path.c_str(), strerror(error),
             in_ms(step.delay_ms).c_str());
}

void PipeDriver::new_destination() {
    if (!held_stop_.empty()) {
        backlog_ = held_stop_;  // a new reader gets a held stop before anything else
        flush_backlog();
        return;
    }
    // What the previous reader was told last may have died unread with it (a stop in a
    // killed consumer's pipe): a new reader starts from a stop, so hardware that keeps its
    // last command never keeps one that nobody will stop.
    DriveCommand c;
    c.command = "stop";
    c.received_us = mono_us();
    c.reason = "new reader";
    held_stop_ = backlog_ = command_line(c);
    held_since_us_ = c.received_us;
    greeting_ = true;  // robotd's own: not counted, not logged when it goes out
    flush_backlog();
}

void PipeDriver::lost_reader() {
    writable_.release();
    if (sink_ == Sink::Fifo) {
        LOGI(log_, "pipe", "the reader of %s went away; reopening", config_.path.c_str());
        fd_.reset();
        backlog_ = held_stop_;
        open_fifo();
    } else if (sink_ == Sink::Consumer && child_.running() && !consumer_stopping_) {
        // Usually it is exiting and SIGCHLD is on its way; if it only closed its stdin,
        // it is of no more use: stop it so it is restarted.
        consumer_stopping_ = true;
        LOGD(log_, "pipe", "consumer closed its stdin; stopping it");
        child_.stop();
    }
}

void PipeDriver::flush_before_going() {
    if (backlog_.empty()) return;
    writable_.release();
    const bool had_stop = !held_stop_.empty();
    const int64_t deadline = mono_us() + int64_t(timings_.flush_ms) * 1000;
    const char* why = "timed out";
    while (!backlog_.empty()) {
        const int64_t left_ms = (deadline - mono_us() + 999) / 1000;
        if (left_ms <= 0) break;
        if (sink_fd() < 0) {
            if (sink_ != Sink::Fifo) {
                why = no_sink_reason();
                break;
            }
            // A FIFO's reader may be back any moment: look for it now and then.
            fd_.reset(open(config_.path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
            if (fd_.valid()) {
                backlog_ = held_stop_;
            } else {
                why = kNoReader;
                poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left_ms, 50)));
            }
            continue;
        }
        pollfd p{sink_fd(), POLLOUT, 0};
        if (poll(&p, 1, static_cast<int>(left_ms)) <= 0) continue;
        const ssize_t n = put(backlog_.data(), backlog_.size());
        if (n > 0) {
            backlog_.erase(0, static_cast<size_t>(n));
        } else if (errno == EPIPE && sink_ == Sink::Fifo) {
            fd_.reset();
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            why = errno == EPIPE ? no_sink_reason() : strerror(errno);
            break;
        }
    }
    if (!had_stop) return;
    if (backlog_.empty()) {
        ++written_;
        held_stop_.clear();
        greeting_ = false;
        LOGI(log_, "pipe", "held stop delivered after %s, as the driver goes",
             describe_duration(mono_us() - held_since_us_).c_str());
        return;
    }
    LOGE(log_, "pipe", "a held stop could not be delivered within %s (%s); %s",
         in_ms(timings_.flush_ms).c_str(), why,
         sink_ == Sink::Consumer ? "the consumer gets EOF and is stopped"
                                 : "the hardware keeps its last command until its reader stops it");
}

void PipeDriver::drop(const char* why) {
    ++dropped_;
    drop_reason_ = why;
    if (summary_timer_.armed()) {
        ++unreported_drops_;
        return;
    }
    LOGW(log_, "pipe", "line dropped (%s); further drops are summarised every %g s", why,
         timings_.summary_ms / 1000.0);
    summary_timer_.start_ms(timings_.summary_ms);
}

void PipeDriver::summarise_drops() {
    if (unreported_drops_ == 0) return;  // quiet for a whole period: the next drop logs anew
    LOGW(log_, "pipe", "%llu lines dropped (%s)",
         static_cast<unsigned long long>(unreported_drops_), drop_reason_.c_str());
    unreported_drops_ = 0;
    summary_timer_.start_ms(timings_.summary_ms);
}

}  // namespace robotd
