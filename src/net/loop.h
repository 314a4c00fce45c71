// The one libwebsockets context and its event loop: client vhosts (TLS settings), timers
// (lws_sul), signals (a signalfd on the loop) and network changes (netlink), all on the
// calling thread.
#pragma once

#include <libwebsockets.h>
#include <signal.h>

#include <sys/types.h>
#include <cstdint>
#include <ctime>

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "core/log.h"
#include "core/url.h"
#include "net/resolver.h"

namespace robotd {

class NetWatch;
class Reaper;

struct TlsSettings {
    std::string ca_file;
    bool verify = true;
    bool operator==(const TlsSettings& o) const {
        return ca_file == o.ca_file && verify == o.verify;
    }
};

class Timer;

// The signals the loop takes through its signalfd: block them before threads start.
sigset_t handled_signals();

class Loop {
  public:
    explicit Loop(Logger& log);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // Creates the context, the client vhost and the signalfd for the signals in
    // handled_signals() (which the caller must have blocked). False with `error` set on failure.
    bool start(const TlsSettings& tls, std::string* error);
    // New TLS settings for connections made from now on (a new client vhost when they differ).
    // The old vhost is retired: destroyed at once when no connection uses it, else once its
    // last connection has closed.
    bool set_tls(const TlsSettings& tls, std::string* error);
    // Client vhosts lws holds: the current one and retired ones still holding connections.
    size_t client_vhosts() const;
    void on_signal(std::function<void(int signo)> fn) { on_signal_ = std::move(fn); }
    // Child processes (see net/reaper.h): `fn` gets the wait status when `pid` exits (reaped
    // on SIGCHLD); stop_child() sends SIGTERM then SIGKILL on a timer; abandon_child() does
    // too for a child whose owner is gone. At destruction the loop waits at most
    // kChildExitMs for them to end, then kills and reaps what is left.
    void watch_child(pid_t pid, std::string name, std::function<void(int status)> fn);
    void stop_child(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms);
    void abandon_child(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms);
    Reaper& reaper() { return *reaper_; }
    static constexpr uint32_t kChildExitMs = 1000;

    void run();   // services until stop()
    void stop();  // from any callback on the loop

    lws_context* context() const { return context_; }
    lws_vhost* vhost() const { return vhost_; }
    lws_vhost* base_vhost() const { return base_vhost_; }  // never retired
    // LCCSCF_* flags for a client connection under the current TLS settings: TLS by `tls`, and
    // never following a redirect.
    int client_flags(bool tls) const;
    // Starts a client connection on the current vhost to the numeric `address` (resolved
    // off the loop), with `host` in the Host header (and so SNI and the certificate's name
    // check) and TLS by the URL's scheme. A null `method` means a WebSocket. `owner` becomes
    // the wsi's opaque user data, which the protocol callbacks dispatch on. A 3xx answer is
    // not followed: it reaches LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP like any other status
    // (see refused_redirect()).
    lws* connect(const Url& url, const std::string& address, const std::string& path,
                 const std::string& host, const char* method, const char* protocol, void* owner,
                 lws** pwsi);
    // Calls `fn` on the loop after every lws_cancel_service() from another thread (a media
    // thread pushed into its ring). Returns an id for remove_wake().
    uint64_t add_wake(std::function<void()> fn);
    void remove_wake(uint64_t id) { wakes_.erase(id); }
    // The retry loops (every RetryTimer registers its retry_now()): retry_all_now() runs each
    // pending attempt at once, when the network has changed (net/net_watch.h), and returns
    // how many were pending.
    uint64_t add_retry(std::function<bool()> retry_now);
    void remove_retry(uint64_t id) { retries_.erase(id); }
    size_t retry_all_now();
    Logger& log() const { return log_; }
    Resolver& resolver() { return *resolver_; }

    // For the protocol callbacks only.
    void handle_signal_fd(int fd);
    void handle_wake();                 // after lws_cancel_service() from another thread
    void handle_wsi_destroy(lws* wsi);  // any wsi of the context is being freed

  private:
    struct ClientVhost {
        std::string name;  // lws keeps a pointer to it, so it lives as long as the vhost
        lws_vhost* vh = nullptr;
    };
    using VhostList = std::list<ClientVhost>;  // nodes never move: the names stay put

    lws_vhost* make_vhost(const TlsSettings& tls, std::string* error);
    bool in_use(lws_vhost* vh) const;
    void destroy(VhostList::iterator it);
    void destroy_idle_retired();

    Logger& log_;
    lws_context* context_ = nullptr;
    // Never retired: holds the signal fd, so a TLS change can never cost a signal.
    lws_vhost* base_vhost_ = nullptr;
    lws_vhost* vhost_ = nullptr;  // the client vhost for new connections
    // Client vhosts, oldest first: the last is vhost_, the others are retired by set_tls()
    // and wait for their connections to close.
    VhostList vhosts_;
    // Vhosts lws did not free when asked (it still held a connection we never saw).
    VhostList lingering_;
    // Every client connection lws still holds (released ones too), by the vhost it is on.
    std::map<lws*, lws_vhost*> clients_;
    std::unique_ptr<Timer> sweep_;  // destroys retired vhosts after their last close
    bool destroying_ = false;
    TlsSettings tls_;
    unsigned vhost_serial_ = 0;
    bool stopping_ = false;
    std::function<void(int)> on_signal_;
    std::unique_ptr<Resolver> resolver_;
    std::unique_ptr<Reaper> reaper_;
    std::map<uint64_t, std::function<void()>> wakes_;
    uint64_t next_wake_ = 1;
    std::map<uint64_t, std::function<bool()>> retries_;
    uint64_t next_retry_ = 1;
    // Watches the kernel's routing messages from start(): a link, address or route coming up
    // runs every pending retry now.
    std::unique_ptr<NetWatch> net_watch_;
};

// Cuts a client connection loose from its owner (no more callbacks reach it) and closes it
// on the loop's next pass; `*wsi` becomes null.
void release_client(lws** wsi);
// From a close or error callback, where lws is about to free `wsi`: cuts it loose from its
// owner (the later WSI_DESTROY reaches nobody) and clears the owner's pointer `*owned`.
void forget_client(lws* wsi, lws** owned);

// At LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: for a 3xx answer, why it is refused, as one line
// naming the status and the Location (printable and bounded); empty for any other status.
// robotd never follows a redirect: the new address would come from a server rather than
// the owner's config, and lws would resolve it with a blocking lookup on the loop.
std::string refused_redirect(lws* wsi);

// At LWS_CALLBACK_CLIENT_CONNECTION_ERROR: when lws's reason is a server certificate that is
// not valid yet (X509_V_ERR = 9, under mbedTLS and OpenSSL alike), the line that says the
// likely cause, a board whose clock is not set yet (no RTC, NTP still to come); else empty.
// The attempt is retried as any other failure, and works once the clock is right.
std::string clock_not_set_error(const char* lws_error);
// The one line for a LWS_CALLBACK_CLIENT_CONNECTION_ERROR, whose `in` is lws's reason or
// null: the clock line above, else the reason cut short, else "connection failed".
std::string connection_error(const void* in);
// That line for the wall clock at `now`: "the system clock says 1970-01-01; ...".
std::string clock_not_set_text(time_t now);

// A one-shot timer on the loop; re-arm from its own callback for periodic work.
// Cancelled when destroyed, so a callback never outlives its owner.
class Timer {
  public:
    Timer(Loop& loop, std::function<void()> fn);
    ~Timer() { cancel(); }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void start_ms(uint32_t ms);  // (re)schedules
    void cancel();
    bool armed() const { return armed_; }

  private:
    // Standard-layout holder: lws hands back the sul pointer, the first member.
    struct Sul {
        lws_sorted_usec_list_t sul;
        Timer* owner;
    };
    static void fire(lws_sorted_usec_list_t* sul);

    Loop& loop_;
    std::function<void()> fn_;
    Sul sul_{};
    bool armed_ = false;
};

}  // namespace robotd
