#include "net/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "core/clock.h"
#include "core/retry.h"

namespace robotd {

namespace {
constexpr const char* kTag = "systemd";
constexpr uint32_t kStatusPollMs = 1000;

bool parse_u64(const char* text, uint64_t* out) {
    if (!text || !*text) return false;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || text[0] == '-') return false;
    *out = v;
    return true;
}

// systemd's STATUS= is one line: a newline would start another assignment.
std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}
}  // namespace

NotifyEnv parse_notify_env(const char* socket, const char* watchdog_usec, const char* watchdog_pid,
                           pid_t pid) {
    NotifyEnv env;
    if (socket) env.socket = socket;
    if (watchdog_usec && *watchdog_usec) {
        if (!parse_u64(watchdog_usec, &env.watchdog_usec) || env.watchdog_usec == 0) {
            env.watchdog_usec = 0;
            env.error = std::string("WATCHDOG_USEC='") + watchdog_usec +
                        "' is not a number of microseconds: no keep-alives";
        }
    }
    if (watchdog_pid && *watchdog_pid) {
        uint64_t p = 0;
        if (!parse_u64(watchdog_pid, &p)) {
            env.watchdog_other_pid = true;
            env.error = std::string("WATCHDOG_PID='") + watchdog_pid +
                        "' is not a process id: no keep-alives";
        } else {
            env.watchdog_other_pid = p != uint64_t(pid);
        }
    }
    return env;
}

NotifyEnv take_notify_env() {
    NotifyEnv env = parse_notify_env(getenv("NOTIFY_SOCKET"), getenv("WATCHDOG_USEC"),
                                     getenv("WATCHDOG_PID"), getpid());
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return env;
}

SdNotify::SdNotify(Loop& loop, NotifyEnv env)
    : loop_(loop),
      log_(loop.log()),
      env_(std::move(env)),
      watchdog_(loop,
                [this] {
                    if (send("WATCHDOG=1")) ++keepalives_;
                    watchdog_.start_ms(
                        static_cast<uint32_t>(std::max<uint64_t>(env_.watchdog_usec / 2000, 1)));
                }),
      status_timer_(loop, [this] {
          poll_status();
          status_timer_.start_ms(kStatusPollMs);
      }) {
    if (!env_.error.empty()) LOGW(log_, kTag, "%s", env_.error.c_str());
    const std::string& name = env_.socket;
    if (name.empty()) return;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    // A path, or an abstract name ('@' stands for the leading zero byte).
    if ((name[0] != '/' && name[0] != '@') || name.size() > sizeof sa.sun_path) {
        LOGW(log_, kTag,
             "NOTIFY_SOCKET='%s' is neither a socket path nor an abstract '@' name: "
             "systemd will not hear from robotd",
             name.c_str());
        return;
    }
    memcpy(sa.sun_path, name.data(), name.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + name.size();
    if (name[0] == '@') {
        sa.sun_path[0] = '\0';
    } else if (name.size() < sizeof sa.sun_path) {
        ++len;  // a path's terminating zero, as systemd's own client sends it
    }
    fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd_.valid()) {
        LOGW(log_, kTag,
             "cannot make a socket for NOTIFY_SOCKET (%s): systemd will not hear "
             "from robotd",
             strerror(errno));
        return;
    }
    address_.assign(reinterpret_cast<const char*>(&sa), len);
    const std::string keepalives =
        env_.watchdog_usec && !env_.watchdog_other_pid
            ? ", keep-alives every " + describe_duration(int64_t(env_.watchdog_usec / 2))
            : "";
    LOGD(log_, kTag, "notify socket %s%s", name.c_str(), keepalives.c_str());
}

SdNotify::~SdNotify() = default;

bool SdNotify::send(std::string_view message) {
    if (!fd_.valid()) return false;
    const ssize_t n = sendto(fd_.get(), message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(address_.data()),
                             static_cast<socklen_t>(address_.size()));
    if (n == static_cast<ssize_t>(message.size())) {
        if (failing_) LOGD(log_, kTag, "notify socket takes messages again");
        failing_ = false;
        return true;
    }
    // Gone (systemd restarting) or full (systemd busy): the message is lost, robotd goes on.
    if (!failing_)
        LOGD(log_, kTag, "notify socket %s: %s; dropping messages until it takes them again",
             env_.socket.c_str(), n < 0 ? strerror(errno) : "short send");
    failing_ = true;
    return false;
}

void SdNotify::start_watchdog() {
    if (!env_.watchdog_usec) return;
    if (env_.watchdog_other_pid) {
        LOGD(log_, kTag, "WATCHDOG_PID names another process: no keep-alives from robotd");
        return;
    }
    watchdog_.start_ms(0);
}

void SdNotify::ready() {
    if (stopping_) return;
    refresh_status();
    send(status_.empty() ? std::string("READY=1") : "READY=1\nSTATUS=" + status_);
}

void SdNotify::reloading() {
    if (stopping_) return;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(mono_us()));
}

void SdNotify::stopping() {
    stopping_ = true;
    status_timer_.cancel();
    send("STOPPING=1");
}

void SdNotify::follow_status(std::function<std::string()> status) {
    status_fn_ = std::move(status);
    status_timer_.start_ms(0);
}

bool SdNotify::refresh_status() {
    if (!status_fn_) return false;
    std::string now = one_line(status_fn_());
    if (now == status_) return false;
    status_ = std::move(now);
    LOGD(log_, "robotd", "status: %s", status_.c_str());
    return true;
}

void SdNotify::poll_status() {
    if (refresh_status()) send("STATUS=" + status_);
}

}  // namespace robotd
