#include "hw/line_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/clock.h"
#include "core/retry.h"

namespace robotd {

namespace {
constexpr const char* kBehindStop = "a held stop goes first";
}  // namespace

LineSink::LineSink(Loop& loop, Logger& log, Words words, uint32_t summary_ms,
                   std::function<void(int err)> failed)
    : log_(log),
      words_(words),
      summary_ms_(summary_ms),
      failed_(std::move(failed)),
      writable_(loop, [this] { flush(); }),
      summary_timer_(loop, [this] { summarise_drops(); }) {}

LineSink::~LineSink() {
    writable_.release();  // its duplicate would keep a consumer's stdin open: no EOF
    if (unreported_drops_ > 0)
        LOGW(log_, words_.tag, "%llu %ss dropped (%s)",
             static_cast<unsigned long long>(unreported_drops_), words_.unit, drop_reason_.c_str());
}

void LineSink::attach(int fd, const std::string& greeting) {
    writable_.release();
    fd_ = fd;
    struct stat st {};
    fstat(fd, &st);
    const int flags = fcntl(fd, F_GETFL);
    socket_ = S_ISSOCK(st.st_mode);
    poll_first_ = flags >= 0 && !(flags & O_NONBLOCK) && !S_ISREG(st.st_mode) && !socket_;
    // What the previous destination was told last may have died unread with it (a stop in a
    // killed consumer's pipe, a port unplugged): a new one starts from a stop, so hardware
    // that keeps its last command never keeps one that nobody will stop.
    if (!held() && !greeting.empty()) {
        held_stop_ = greeting;
        greeting_ = true;
        held_since_us_ = mono_us();
    }
    backlog_ = held_stop_;
}

void LineSink::detach() {
    writable_.release();
    fd_ = -1;
    backlog_ = held_stop_;
}

DriverStats LineSink::stats() const {
    DriverStats s;
    s.written = written_;
    s.dropped = dropped_;
    s.merged = merged_;
    s.stop_held = held();
    return s;
}

ssize_t LineSink::put(const char* data, size_t size) {
    if (poll_first_) {
        pollfd p{fd_, POLLOUT, 0};
        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) {
            errno = EAGAIN;
            return -1;
        }
    }
    ssize_t n;
    do {
        n = socket_ ? ::send(fd_, data, size, MSG_DONTWAIT | MSG_NOSIGNAL) : write(fd_, data, size);
    } while (n < 0 && errno == EINTR);
    if (n == 0 && size > 0) errno = ENOSPC;  // a regular file that takes nothing
    return n;
}

void LineSink::send(const std::string& line, bool is_stop) {
    if (!flush()) {
        // Something is still owed (a held stop, the rest of a line): nothing passes it.
        if (is_stop)
            hold(line, fd_ < 0 ? words_.gone : words_.full);
        else
            drop(fd_ < 0 ? words_.gone : held() ? kBehindStop : words_.full);
        return;
    }
    if (fd_ < 0) {
        if (is_stop)
            hold(line, words_.gone);
        else
            drop(words_.gone);
        return;
    }
    const ssize_t n = put(line.data(), line.size());
    const int err = errno;
    if (n == static_cast<ssize_t>(line.size())) {
        ++written_;
        return;
    }
    if (n > 0) {
        // A short write (a socket, a full disk, a serial port; pipes write lines whole): the
        // rest goes before anything else, or the reader would see two lines run together.
        backlog_ = line.substr(static_cast<size_t>(n));
        if (is_stop) {
            held_stop_ = line;
            greeting_ = false;
            held_since_us_ = mono_us();
        } else {
            ++written_;
        }
        flush();  // finds out why: no room now, or an error
        return;
    }
    const bool full = err == EAGAIN || err == EWOULDBLOCK;
    const char* why = full ? words_.full : err == EPIPE ? words_.gone : strerror(err);
    if (is_stop)
        hold(line, why);
    else
        drop(why);
    if (is_stop || !full) wait(err);
}

void LineSink::hold(const std::string& stop, const char* why) {
    if (held()) {
        // The held one says the same, and goes first (robotd's own stop for a new destination
        // now stands for this one, and is counted as it).
        if (greeting_)
            greeting_ = false;
        else
            ++merged_;
        return;
    }
    held_stop_ = stop;
    backlog_ += stop;
    held_since_us_ = mono_us();
    if (fd_ >= 0)
        LOGW(log_, words_.tag,
             "stop held (%s): it goes out first as soon as the %s can take it; commands are "
             "dropped until then",
             why, words_.taker);
    else  // the destination's loss was logged: it gets the stop first when it is back
        LOGD(log_, words_.tag, "stop held (%s)", why);
}

bool LineSink::flush() {
    while (!backlog_.empty()) {
        if (fd_ < 0) return false;  // the owner's reopen or restart delivers it
        const ssize_t n = put(backlog_.data(), backlog_.size());
        if (n > 0) {
            backlog_.erase(0, static_cast<size_t>(n));
            continue;
        }
        wait(errno);
        // A destination gone may have been replaced at once (a reopen that flushed it all).
        return backlog_.empty();
    }
    writable_.release();
    delivered("");
    return true;
}

void LineSink::delivered(const char* when) {
    if (!held()) return;
    if (!greeting_) {
        ++written_;
        LOGI(log_, words_.tag, "held stop delivered after %s%s",
             describe_duration(mono_us() - held_since_us_).c_str(), when);
    }
    held_stop_.clear();
    greeting_ = false;
}

// Waits for room on the loop (a regular file is always "writable": its errors, like any
// other, are the owner's to retry).
void LineSink::wait(int err) {
    if ((err == EAGAIN || err == EWOULDBLOCK) && writable_.arm(fd_)) return;
    failed_(err);
}

int LineSink::flush_until(int64_t deadline_us) {
    writable_.release();
    while (!backlog_.empty()) {
        if (fd_ < 0) return EPIPE;
        const int64_t left_ms = (deadline_us - mono_us() + 999) / 1000;
        if (left_ms <= 0) return ETIMEDOUT;
        pollfd p{fd_, POLLOUT, 0};
        if (poll(&p, 1, static_cast<int>(left_ms)) <= 0) continue;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return EPIPE;
        const ssize_t n = put(backlog_.data(), backlog_.size());
        if (n > 0)
            backlog_.erase(0, static_cast<size_t>(n));
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            return errno;
    }
    delivered(", as the driver goes");
    return 0;
}

void LineSink::drop(const char* why) {
    ++dropped_;
    drop_reason_ = why;
    if (summary_timer_.armed()) {
        ++unreported_drops_;
        return;
    }
    LOGW(log_, words_.tag, "%s dropped (%s); further drops are summarised every %g s", words_.unit,
         why, summary_ms_ / 1000.0);
    summary_timer_.start_ms(summary_ms_);
}

void LineSink::summarise_drops() {
    if (unreported_drops_ == 0) return;  // quiet for a whole period: the next drop logs anew
    LOGW(log_, words_.tag, "%llu %ss dropped (%s)",
         static_cast<unsigned long long>(unreported_drops_), words_.unit, drop_reason_.c_str());
    unreported_drops_ = 0;
    summary_timer_.start_ms(summary_ms_);
}

}  // namespace robotd
