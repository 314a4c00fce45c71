// systemd's notify protocol spoken directly (no libsystemd): READY, STATUS, WATCHDOG,
// RELOADING and STOPPING datagrams to the AF_UNIX socket named by $NOTIFY_SOCKET.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/log.h"
#include "core/unique_fd.h"
#include "net/loop.h"

namespace robotd {

// What systemd handed robotd in its environment.
struct NotifyEnv {
    std::string socket;          // $NOTIFY_SOCKET: a path, or "@name" for an abstract socket
    uint64_t watchdog_usec = 0;  // $WATCHDOG_USEC, 0: no watchdog asked for
    // $WATCHDOG_PID named another process: the keep-alives are not robotd's to send.
    bool watchdog_other_pid = false;
    std::string error;  // a value that did not parse, one line (the rest still applies)
};

// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and unsets all three, so that no child
// (a TTS engine, a consumer, ssh) inherits them and talks to systemd as if it were robotd.
NotifyEnv take_notify_env();
// The parsing half, pure: `pid` is robotd's own.
NotifyEnv parse_notify_env(const char* socket, const char* watchdog_usec, const char* watchdog_pid,
                           pid_t pid);

// Every send is non-blocking and never fails robotd: a missing socket or a full queue costs
// the message and one debug line per run of failures. Without a socket nothing is sent.
class SdNotify {
  public:
    SdNotify(Loop& loop, NotifyEnv env);
    ~SdNotify();
    SdNotify(const SdNotify&) = delete;
    SdNotify& operator=(const SdNotify&) = delete;

    bool enabled() const { return fd_.valid(); }
    // Starts the keep-alives when systemd asked for them: WATCHDOG=1 every half of
    // WATCHDOG_USEC from a loop timer, so a hung loop stops them and systemd restarts robotd.
    // The first goes out as soon as the loop runs.
    void start_watchdog();
    // READY=1, with the current status.
    void ready();
    // RELOADING=1 and MONOTONIC_USEC (CLOCK_MONOTONIC), as systemd's Type=notify-reload asks.
    void reloading();
    // STOPPING=1; after it no READY or RELOADING is sent (a SIGHUP read together with the
    // SIGTERM must not tell systemd that robotd is ready again).
    void stopping();
    // The one-line status: polled every second from a loop timer; a change is logged at debug
    // level and sent as STATUS= (so at most one a second, the latest text wins).
    void follow_status(std::function<std::string()> status);
    const std::string& status() const { return status_; }
    // Keep-alives sent so far (tests).
    uint64_t keepalives() const { return keepalives_; }

    // One datagram; false when it could not be sent (already logged).
    bool send(std::string_view message);

  private:
    // Takes the current status; true (and a debug line) when it changed.
    bool refresh_status();
    void poll_status();

    Loop& loop_;
    Logger& log_;
    NotifyEnv env_;
    UniqueFd fd_;
    std::string address_;  // sockaddr_un bytes
    bool failing_ = false;
    bool stopping_ = false;
    uint64_t keepalives_ = 0;
    Timer watchdog_;
    std::function<std::string()> status_fn_;
    std::string status_;
    Timer status_timer_;
};

}  // namespace robotd
