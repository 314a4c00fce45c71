#include "hw/pipe_driver.h"

#include <fcntl.h>
#include <poll.h>
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
// What a stop becomes if its line cannot be built (out of memory): still a stop.
const char kBareStop[] = "{\"command\":\"stop\"}\n";

bool is_fifo(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

LineSink::Words words_for(const Config::Pipe& config) {
    if (!config.command.empty()) return {"pipe", "line", "consumer", kNotReading, kNotRunning};
    return {"pipe", "line", "reader", kNotReading, kNoReader};
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
      out_(loop, log, words_for(config), timings.summary_ms,
           [this](int error) { write_failed(error); }) {
    child_.on_exit([this](int status) { consumer_exited(status); });
}

PipeDriver::~PipeDriver() {
    if (wait_id_) loop_.reaper().cancel_wait(wait_id_);
    flush_before_going();
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
    out_.attach(fd_.get());
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
        // Shared with the parent: left blocking (the sink polls before it writes to it).
        fd_.reset(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0));
        if (!fd_.valid()) {
            *error = std::string("pipe.path '-': stdout: ") + strerror(errno);
            return false;
        }
    }
    out_.attach(fd_.get());
    LOGI(log_, "pipe", "writing lines to stdout");
    return true;
}

void PipeDriver::retry_now() {
    if (sink_ == Sink::Fifo && !fd_.valid()) {
        open_fifo();
    } else if (sink_ == Sink::Consumer && !child_.running()) {
        start_consumer();
    } else {
        out_.flush();
    }
}

void PipeDriver::open_fifo() {
    out_.detach();
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
    out_.detach();
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
    out_.detach();  // the rest of a line begun on the old stdin went with it
    healthy_.cancel();
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
        out_.drop("line could not be encoded");
        return;
    }
    out_.send(line, false);
}

void PipeDriver::stop(const DriveCommand& c) {
    std::string line = command_line(c);
    if (line.empty() || line.size() > kMaxPipeLine) line = kBareStop;
    out_.send(line, true);
}

void PipeDriver::pointer(const PointerEvent& p) {
    const std::string line = pointer_line(p);
    if (line.empty() || line.size() > kMaxPipeLine) {
        out_.drop("line could not be encoded");
        return;
    }
    out_.send(line, false);
}

DriverStats PipeDriver::stats() const {
    return out_.stats();
}

void PipeDriver::write_failed(int error) {
    if (error == EPIPE) {
        lost_reader();
        return;
    }
    // A line dropped is not tried again; what is owed is, on the backoff (a full disk).
    if (!out_.owes()) return;
    const RetryPolicy::Step step = retry_.failed();
    if (step.report != RetryPolicy::Report::Quiet)
        LOGE(log_, "pipe", "cannot write to %s: %s; trying again in %s",
             sink_ == Sink::Consumer ? "the consumer" : config_.path.c_str(), strerror(error),
             in_ms(step.delay_ms).c_str());
}

void PipeDriver::new_destination() {
    // A stop of robotd's own, should no stop be held.
    DriveCommand c;
    c.command = "stop";
    c.received_us = mono_us();
    c.reason = "new reader";
    out_.attach(sink_ == Sink::Consumer ? child_.stdin_fd() : fd_.get(), command_line(c));
    out_.flush();
}

void PipeDriver::lost_reader() {
    if (sink_ == Sink::Fifo) {
        LOGI(log_, "pipe", "the reader of %s went away; reopening", config_.path.c_str());
        out_.detach();
        fd_.reset();
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
    const bool had_stop = out_.stats().stop_held;
    const int64_t deadline = mono_us() + int64_t(timings_.flush_ms) * 1000;
    int err;
    while ((err = out_.flush_until(deadline)) == EPIPE && sink_ == Sink::Fifo) {
        // A FIFO's reader may be back any moment: look for it now and then.
        out_.detach();
        fd_.reset(open(config_.path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (fd_.valid())
            out_.attach(fd_.get());
        else if (mono_us() < deadline)
            poll(nullptr, 0,
                 static_cast<int>(std::min<int64_t>((deadline - mono_us() + 999) / 1000, 50)));
        else
            break;
    }
    if (err == 0 || !had_stop) return;
    LOGE(log_, "pipe", "a held stop could not be delivered within %s (%s); %s",
         in_ms(timings_.flush_ms).c_str(),
         err == ETIMEDOUT ? "timed out"
         : err == EPIPE   ? words_for(config_).gone
                          : strerror(err),
         sink_ == Sink::Consumer ? "the consumer gets EOF and is stopped"
                                 : "the hardware keeps its last command until its reader stops it");
}

}  // namespace robotd
