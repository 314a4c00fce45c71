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

namespace robotd {

namespace {
constexpr const char* kNotReading = "consumer not reading";
constexpr const char* kNoReader = "no reader";
constexpr const char* kNotRunning = "consumer not running";
}  // namespace

PipeDriver::PipeDriver(const Config::Pipe& config, Loop& loop, Logger& log, PipeTimings timings)
    : config_(config),
      log_(log),
      timings_(timings),
      child_(loop),
      restart_ms_(timings.restart_min_ms),
      retry_timer_(loop,
                   [this] {
                       if (sink_ == Sink::Fifo) open_fifo();
                       if (sink_ == Sink::Consumer) start_consumer();
                   }),
      summary_timer_(loop, [this] { summarise_drops(); }) {
    child_.on_exit([this](int status) { consumer_exited(status); });
}

PipeDriver::~PipeDriver() {
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
        start_consumer();
        return true;
    }
    if (config_.path == "-") {
        sink_ = Sink::Stdout;
        return open_stdout(error);
    }
    struct stat st;
    if (stat(config_.path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
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

void PipeDriver::open_fifo() {
    // Non-blocking: open fails with ENXIO at once while nobody reads, instead of waiting.
    fd_.reset(open(config_.path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (fd_.valid()) {
        fifo_waiting_logged_ = false;
        LOGI(log_, "pipe", "writing lines to FIFO %s", config_.path.c_str());
        return;
    }
    if (!fifo_waiting_logged_) {
        fifo_waiting_logged_ = true;
        if (errno == ENXIO)
            LOGI(log_, "pipe", "FIFO %s has no reader yet; trying again every %u ms",
                 config_.path.c_str(), timings_.reopen_ms);
        else
            LOGW(log_, "pipe", "FIFO %s: %s; trying again every %u ms", config_.path.c_str(),
                 strerror(errno), timings_.reopen_ms);
    }
    retry_timer_.start_ms(timings_.reopen_ms);
}

void PipeDriver::start_consumer() {
    std::string error;
    consumer_stopping_ = false;
    if (child_.start(argv_, true, &error)) {
        ++consumer_starts_;
        consumer_started_us_ = mono_us();
        LOGI(log_, "pipe", "consumer '%s' started (pid %d)", argv_[0].c_str(),
             static_cast<int>(child_.pid()));
        return;
    }
    LOGE(log_, "pipe", "consumer: %s; trying again in %u ms", error.c_str(), restart_ms_);
    retry_timer_.start_ms(restart_ms_);
    restart_ms_ = std::min(restart_ms_ * 2, timings_.restart_max_ms);
}

void PipeDriver::consumer_exited(int status) {
    const int64_t ran_ms = (mono_us() - consumer_started_us_) / 1000;
    if (ran_ms >= timings_.healthy_ms) restart_ms_ = timings_.restart_min_ms;
    LOGW(log_, "pipe", "consumer '%s' %s after %lld ms; restarting it in %u ms", argv_[0].c_str(),
         describe_exit(status).c_str(), static_cast<long long>(ran_ms), restart_ms_);
    retry_timer_.start_ms(restart_ms_);
    restart_ms_ = std::min(restart_ms_ * 2, timings_.restart_max_ms);
}

void PipeDriver::command(const DriveCommand& c) {
    write_line(command_line(c));
}

void PipeDriver::pointer(const PointerEvent& p) {
    write_line(pointer_line(p));
}

int PipeDriver::sink_fd() const {
    return sink_ == Sink::Consumer ? child_.stdin_fd() : fd_.get();
}

void PipeDriver::write_line(const std::string& line) {
    if (line.empty() || line.size() > kMaxPipeLine) {
        drop("line could not be encoded");
        return;
    }
    const int fd = sink_fd();
    if (fd < 0) {
        drop(sink_ == Sink::Consumer ? kNotRunning : kNoReader);
        return;
    }
    if (poll_before_write_) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) {
            drop(kNotReading);
            return;
        }
    }
    ssize_t n;
    do {
        n = is_socket_ ? send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                       : write(fd, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(line.size())) {
        ++written_;
        return;
    }
    if (n >= 0) {
        drop("short write");  // a regular file on a full disk; pipes write lines whole
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        drop(kNotReading);
    } else if (errno == EPIPE) {
        drop(sink_ == Sink::Consumer ? kNotRunning : kNoReader);
        lost_reader();
    } else {
        drop(strerror(errno));
    }
}

void PipeDriver::lost_reader() {
    if (sink_ == Sink::Fifo) {
        LOGI(log_, "pipe", "the reader of %s went away; reopening", config_.path.c_str());
        fd_.reset();
        open_fifo();
    } else if (sink_ == Sink::Consumer && !consumer_stopping_) {
        // Usually it is exiting and SIGCHLD is on its way; if it only closed its stdin,
        // it is of no more use: stop it so it is restarted.
        consumer_stopping_ = true;
        LOGD(log_, "pipe", "consumer closed its stdin; stopping it");
        child_.stop();
    }
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
