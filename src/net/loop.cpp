#include "net/loop.h"

#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "core/json.h"
#include "net/net_watch.h"
#include "net/protocols.h"
#include "net/reaper.h"

// lws times its timers (lws_sul, and so every Timer) on CLOCK_MONOTONIC only when it has
// clock_gettime(); otherwise on gettimeofday(), which NTP setting the clock would move.
#if !defined(LWS_HAVE_CLOCK_GETTIME)
#error "libwebsockets built without clock_gettime: its timers would follow the wall clock"
#endif

namespace robotd {

namespace {
// Seconds a client connection's TCP connect may take (lws then tries the next address).
constexpr unsigned kConnectTimeoutS = 5;
// lws bounds every other pending state of a connection (TLS handshake, sending the request,
// awaiting the reply headers) with one context-wide timeout, 5 s by default (15 s in lws
// 4.3): shorter than a slow lookup server may take under [misc] lookup_timeout (up to 300 s).
// Every client bounds its own phases with its own Timer, so this is only a backstop, above the
// longest wait any client asks for.
constexpr unsigned kPendingBackstopS = 310;
}  // namespace

sigset_t handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
    return set;
}

Loop::Loop(Logger& log)
    : log_(log),
      sweep_(std::make_unique<Timer>(*this, [this] { destroy_idle_retired(); })),
      resolver_(std::make_unique<Resolver>(*this)),
      reaper_(std::make_unique<Reaper>(*this)) {}

Loop::~Loop() {
    // No child outlives robotd: they get their last seconds, then SIGKILL (bounded).
    reaper_->finish(kChildExitMs);
    net_watch_.reset();  // its poll and timer live in the context
    reaper_.reset();     // its timer needs the context
    resolver_.reset();   // first: its workers must not wake a destroyed context
    sweep_.reset();      // its sul lives in the context
    destroying_ = true;  // the context frees every wsi and vhost itself
    if (context_) lws_context_destroy(context_);
}

lws_vhost* Loop::make_vhost(const TlsSettings& tls, std::string* error) {
    lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    vhosts_.push_back({"client" + std::to_string(++vhost_serial_), nullptr});
    info.vhost_name = vhosts_.back().name.c_str();
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocol_table();
    info.connect_timeout_secs = kConnectTimeoutS;  // per vhost; timeout_secs is the context's
    // lws sets up a vhost's client TLS only when the vhost itself carries this option.
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = tls.verify ? tls.ca_file.c_str() : nullptr;
    if (tls.verify && access(tls.ca_file.c_str(), R_OK) != 0) {
        // A board without a CA bundle may still talk plain http (the reference's servers
        // are). Verification stays on, with nothing to trust: every https peer is refused.
        LOGW(log_, "tls",
             "ca_file '%s': %s: https servers cannot be verified, so connections "
             "to them will fail (http ones work); install the CA bundle or set [misc] ca_file",
             tls.ca_file.c_str(), strerror(errno));
        info.client_ssl_ca_filepath = nullptr;
    }
    lws_vhost* vh = lws_create_vhost(context_, &info);
    if (!vh) {
        vhosts_.pop_back();
        *error = tls.verify ? "cannot create the client vhost (is ca_file '" + tls.ca_file +
                                  "' a readable PEM bundle?)"
                            : "cannot create the client vhost";
        return nullptr;
    }
    vhosts_.back().vh = vh;
    return vh;
}

bool Loop::start(const TlsSettings& tls, std::string* error) {
    lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.user = this;
    info.timeout_secs = kPendingBackstopS;
    // lws would send every connection through $http_proxy and resolve the proxy's name with
    // a blocking lookup on the loop. robotd connects directly, whatever the environment says.
    if (const char* proxy = getenv("http_proxy")) {
        LOGW(log_, "net", "http_proxy=%s ignored: robotd connects to its servers directly", proxy);
        unsetenv("http_proxy");
    }
    context_ = lws_create_context(&info);
    if (!context_) {
        *error = "cannot create the libwebsockets context";
        return false;
    }
    // The base vhost carries no TLS and no client connection, so it is never retired.
    lws_context_creation_info base;
    memset(&base, 0, sizeof base);
    base.vhost_name = "loop";
    base.port = CONTEXT_PORT_NO_LISTEN;
    base.protocols = protocol_table();
    base_vhost_ = lws_create_vhost(context_, &base);
    if (!base_vhost_) {
        *error = "cannot create the loop's vhost";
        return false;
    }
    vhost_ = make_vhost(tls, error);
    if (!vhost_) return false;
    tls_ = tls;

    const sigset_t set = handled_signals();
    const int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        *error = std::string("signalfd: ") + strerror(errno);
        return false;
    }
    lws_adopt_desc_t desc;
    memset(&desc, 0, sizeof desc);
    desc.vh = base_vhost_;
    desc.type = LWS_ADOPT_RAW_FILE_DESC;
    desc.fd.filefd = fd;
    desc.vh_prot_name = kProtoSignal;
    desc.opaque = this;
    // On failure lws closes the fd itself.
    if (!lws_adopt_descriptor_vhost_via_info(&desc)) {
        *error = "cannot put the signal fd on the loop";
        return false;
    }
    // Without it robotd still works: a retry then waits out its backoff (up to a minute)
    // after the network comes up.
    net_watch_ = std::make_unique<NetWatch>(*this);
    std::string why;
    if (!net_watch_->start(&why)) {
        LOGW(log_, "net",
             "cannot watch the network for changes (%s): after an outage, "
             "connections wait out their retry delay",
             why.c_str());
        net_watch_.reset();
    }
    return true;
}

bool Loop::set_tls(const TlsSettings& tls, std::string* error) {
    if (tls == tls_) return true;
    lws_vhost* vh = make_vhost(tls, error);
    if (!vh) return false;
    // Connections on the old vhost keep working until they close; it goes with the last.
    // Each vhost holds its CA bundle (~440 KB for a system one), so none may linger.
    vhost_ = vh;
    tls_ = tls;
    destroy_idle_retired();
    return true;
}

size_t Loop::client_vhosts() const {
    size_t n = 0;
    for (const VhostList* list : {&vhosts_, &lingering_})
        for (const ClientVhost& v : *list)
            n += lws_get_vhost_by_name(context_, v.name.c_str()) != nullptr;
    return n;
}

bool Loop::in_use(lws_vhost* vh) const {
    for (const auto& [wsi, on] : clients_)
        if (on == vh) return true;
    return false;
}

void Loop::handle_wsi_destroy(lws* wsi) {
    if (destroying_) return;
    // Whatever closed it, an owner still attached learns that its connection is freed, so
    // no owner ever keeps a pointer to a freed wsi (lws tells only the first protocol).
    if (lws_get_opaque_user_data(wsi)) {
        const lws_protocols* p = lws_get_protocol(wsi);
        if (p && p->callback && p->callback != loop_callback)
            p->callback(wsi, LWS_CALLBACK_WSI_DESTROY, nullptr, nullptr, 0);
    }
    auto it = clients_.find(wsi);
    if (it == clients_.end()) return;
    lws_vhost* vh = it->second;
    clients_.erase(it);
    // lws unbinds the wsi from its vhost only after this callback: destroy on the next pass.
    if (vh != vhost_ && !in_use(vh)) sweep_->start_ms(0);
}

void Loop::destroy(VhostList::iterator it) {
    lws_vhost_destroy(it->vh);
    // lws 4.1.6 frees a vhost at once when no wsi is bound to it, and otherwise never (before
    // the context goes): one it kept keeps its name, and shows in client_vhosts().
    if (lws_get_vhost_by_name(context_, it->name.c_str()) == it->vh) {
        LOGW(log_, "tls", "the old TLS settings' vhost is still in use; it stays until exit");
        lingering_.splice(lingering_.end(), vhosts_, it);
        return;
    }
    vhosts_.erase(it);
}

void Loop::destroy_idle_retired() {
    for (auto it = vhosts_.begin(); it != vhosts_.end();) {
        auto next = std::next(it);
        if (it->vh != vhost_ && !in_use(it->vh)) destroy(it);
        it = next;
    }
}

int Loop::client_flags(bool tls) const {
    // A redirect is an error for every client connection, never a new target.
    if (!tls) return LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
    int flags = LCCSCF_HTTP_NO_FOLLOW_REDIRECT | LCCSCF_USE_SSL;
    if (!tls_.verify)
        flags |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    return flags;
}

lws* Loop::connect(const Url& url, const std::string& address, const std::string& path,
                   const std::string& host, const char* method, const char* protocol, void* owner,
                   lws** pwsi) {
    lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = context_;
    ci.vhost = vhost_;
    ci.address = address.c_str();
    ci.port = url.port;
    ci.ssl_connection = client_flags(url.tls());
    ci.path = path.c_str();
    ci.host = host.c_str();
    ci.origin = host.c_str();
    ci.method = method;
    if (method) {
        ci.alpn = "http/1.1";
        ci.protocol = protocol;
    }
    // A WebSocket asks for no Sec-WebSocket-Protocol (socket.io servers select none, and lws
    // would refuse the upgrade); the local handler is bound by name either way.
    ci.local_protocol_name = protocol;
    ci.opaque_user_data = owner;
    ci.pwsi = pwsi;
    // A connection that fails at once is freed inside this call, before it could be counted.
    lws* wsi = lws_client_connect_via_info(&ci);
    if (wsi) clients_[wsi] = vhost_;
    return wsi;
}

void release_client(lws** wsi) {
    if (!*wsi) return;
    lws_set_opaque_user_data(*wsi, nullptr);
    lws_set_timeout(*wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    *wsi = nullptr;
}

void forget_client(lws* wsi, lws** owned) {
    lws_set_opaque_user_data(wsi, nullptr);
    if (*owned == wsi) *owned = nullptr;
}

std::string refused_redirect(lws* wsi) {
    const unsigned status = lws_http_client_http_response(wsi);
    if (status < 300 || status > 399) return {};
    std::string text = "redirected (HTTP " + std::to_string(status) + ") to ";
    const int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_LOCATION);
    std::string location(len > 0 ? size_t(len) + 1 : 0, '\0');
    if (len > 0 && lws_hdr_copy(wsi, &location[0], len + 1, WSI_TOKEN_HTTP_LOCATION) == len) {
        location.resize(size_t(len));
        text += "'" + excerpt(location, 160) + "'";
    } else {
        text += "no Location";
    }
    return text + ", which robotd does not follow";
}

void Loop::run() {
    stopping_ = false;
    while (!stopping_) {
        if (lws_service(context_, 0) < 0) break;
    }
}

void Loop::stop() {
    stopping_ = true;
    if (context_) lws_cancel_service(context_);
}

void Loop::watch_child(pid_t pid, std::string name, std::function<void(int)> fn) {
    reaper_->watch(pid, std::move(name), std::move(fn));
}

void Loop::stop_child(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms) {
    reaper_->stop(pid, term_in_ms, kill_after_ms);
}

void Loop::abandon_child(pid_t pid, uint32_t term_in_ms, uint32_t kill_after_ms) {
    reaper_->abandon(pid, term_in_ms, kill_after_ms);
}

void Loop::handle_signal_fd(int fd) {
    signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo != SIGCHLD) {
            if (on_signal_) on_signal_(static_cast<int>(si.ssi_signo));
            continue;
        }
        reaper_->reap();
    }
}

uint64_t Loop::add_wake(std::function<void()> fn) {
    wakes_.emplace(next_wake_, std::move(fn));
    return next_wake_++;
}

uint64_t Loop::add_retry(std::function<bool()> retry_now) {
    retries_.emplace(next_retry_, std::move(retry_now));
    return next_retry_++;
}

size_t Loop::retry_all_now() {
    size_t pending = 0;
    // A retry_now() only re-arms its timer (the attempts run later), so the registry holds
    // still while it is walked.
    for (auto& [id, retry_now] : retries_) pending += retry_now() ? 1 : 0;
    return pending;
}

void Loop::handle_wake() {
    resolver_->deliver();
    for (auto& [id, fn] : wakes_) fn();  // a wake function must not add or remove wakes
}

int loop_callback(lws* wsi, lws_callback_reasons reason, void*, void*, size_t) {
    auto* loop = static_cast<Loop*>(lws_context_user(lws_get_context(wsi)));
    if (!loop) return 0;
    switch (reason) {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            // Broadcast to every vhost: one of them is enough.
            if (lws_get_vhost(wsi) == loop->base_vhost()) loop->handle_wake();
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:  // lws tells only a vhost's first protocol
            loop->handle_wsi_destroy(wsi);
            return 0;
        default:
            return 0;
    }
}

int signal_callback(lws* wsi, lws_callback_reasons reason, void*, void*, size_t) {
    auto* loop = static_cast<Loop*>(lws_get_opaque_user_data(wsi));
    if (reason == LWS_CALLBACK_RAW_RX_FILE && loop) loop->handle_signal_fd(lws_get_socket_fd(wsi));
    return 0;
}

Timer::Timer(Loop& loop, std::function<void()> fn) : loop_(loop), fn_(std::move(fn)) {
    sul_.owner = this;
}

void Timer::start_ms(uint32_t ms) {
    armed_ = true;
    lws_sul_schedule(loop_.context(), 0, &sul_.sul, &Timer::fire,
                     static_cast<lws_usec_t>(ms) * LWS_US_PER_MS);
}

void Timer::cancel() {
    if (!armed_) return;
    armed_ = false;
    lws_sul_schedule(loop_.context(), 0, &sul_.sul, &Timer::fire, LWS_SET_TIMER_USEC_CANCEL);
}

void Timer::fire(lws_sorted_usec_list_t* sul) {
    Timer* t = reinterpret_cast<Sul*>(sul)->owner;
    t->armed_ = false;
    t->fn_();  // may re-arm this timer, but must not destroy it
}

std::string clock_not_set_text(time_t now) {
    tm utc{};
    char date[32] = "an unknown date";
    if (gmtime_r(&now, &utc)) strftime(date, sizeof date, "%Y-%m-%d", &utc);
    return std::string("the system clock says ") + date +
           "; certificates are not valid yet: waiting for the clock (NTP) — check the time";
}

std::string clock_not_set_error(const char* lws_error) {
    if (!lws_error) return {};
    // lws: "server's cert didn't look good, ... X509_V_ERR = 9: <text>" (mbedTLS says "Cert
    // from the future", OpenSSL "certificate is not yet valid").
    const char* at = strstr(lws_error, "X509_V_ERR = 9");
    if (!at || (at[14] >= '0' && at[14] <= '9')) return {};
    // The one wall-clock reading here: the date the certificate was checked against.
    return clock_not_set_text(time(nullptr));
}

std::string connection_error(const void* in) {
    const char* why = static_cast<const char*>(in);
    std::string error = clock_not_set_error(why);
    if (!error.empty()) return error;
    if (!why) return "connection failed";
    error = excerpt(why, 160);
    // lws's reasons end in a newline (excerpt shows it as '?') and sometimes spaces.
    while (!error.empty() && (error.back() == ' ' || error.back() == '?')) error.pop_back();
    return error.empty() ? "connection failed" : error;
}

}  // namespace robotd
