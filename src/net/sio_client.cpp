#include "net/sio_client.h"

#include <algorithm>
#include <cstring>

#include "net/protocols.h"

namespace robotd {

namespace {
// A whole connection attempt (TCP, TLS, WebSocket upgrade, Engine.IO open, namespace
// connect) gets this long before it counts as failed.
constexpr uint32_t kHandshakeMs = 10000;
// A link must stay up this long before a drop counts as a fresh outage: a server that
// accepts and at once disconnects is retried with growing delays, not twice a second.
constexpr RetryRules kRetry{500, 30000, 10000};
// Frames never exceed this, whatever maxPayload the server announces: a board has little
// memory, and no LetsRobot event is anywhere near it.
constexpr size_t kMaxFrame = 1 << 20;
// Outgoing frames waiting for the socket: status reports and identifications are small,
// so a backlog this big means the link is stuck, and older frames are not worth sending.
constexpr size_t kMaxQueued = 256 * 1024;
constexpr size_t kMaxAttachmentBytes = 1 << 20;
// The server's heartbeat figures, bounded: a hostile or broken server must neither make the
// client ping in a tight loop nor leave a dead link unnoticed for days.
constexpr uint32_t kMinHeartbeatMs = 1000;
constexpr uint32_t kMaxHeartbeatMs = 300000;

const char* version_text(eio::Version v) {
    return v == eio::Version::V3 ? "3" : "4";
}
}  // namespace

SioClient::SioClient(Loop& loop, std::string name, std::string hint, Handlers handlers)
    : loop_(loop),
      log_(loop.log()),
      name_(std::move(name)),
      hint_(std::move(hint)),
      h_(std::move(handlers)),
      resolve_(loop.resolver()),
      retry_(loop, kRetry, [this] { attempt(); }),
      ping_timer_(loop,
                  [this] {
                      // Engine.IO 3: the client pings; the server's pong keeps the link alive.
                      send_frame(eio::encode_text(eio::Type::Ping));
                      ping_timer_.start_ms(handshake_.ping_interval_ms);
                  }),
      liveness_timer_(
          loop,
          [this] {
              fail("no traffic for " +
                   std::to_string(handshake_.ping_interval_ms + handshake_.ping_timeout_ms) +
                   " ms (pingInterval + pingTimeout): the link is dead");
          }),
      handshake_timer_(
          loop,
          [this] {
              fail("no connection within " + std::to_string(kHandshakeMs / 1000) + " s" +
                   (handshake_done_ ? " (no namespace connect after the handshake)" : ""));
          }),
      stable_timer_(loop,
                    [this] {
                        if (!outage_quiet_) return;
                        outage_quiet_ = false;
                        LOGI(log_, name_.c_str(), "link to %s stable again (after %s)",
                             server_.str().c_str(), retry_.outage_text().c_str());
                    }),
      assembler_(kMaxAttachmentBytes) {}

SioClient::~SioClient() {
    closed_ = true;
    detach();
}

void SioClient::open(const Url& server, EioMode mode) {
    const bool same = server.str() == server_.str() && mode == mode_;
    // The mode holds for every later attempt (a restart() too); a fresh open starts with
    // Engine.IO 4 unless 3 is forced.
    if (closed_ || mode != mode_)
        next_version_ = mode == EioMode::V3 ? eio::Version::V3 : eio::Version::V4;
    mode_ = mode;
    if (!same && !closed_ && state_ == State::Connected) {
        // The live link stays; the new address is for the next attempt.
        LOGI(log_, name_.c_str(), "server is now %s; the link to %s stays up until it drops",
             server.str().c_str(), server_.str().c_str());
        server_ = server;
        return;
    }
    server_ = server;
    if (same && !closed_ && state_ != State::Idle) return;  // already on its way or up
    // A new address (from discovery) continues the outage, its backoff and its log: a lookup
    // that answers differently each time must not keep the retries fast.
    closed_ = false;
    attempt();  // replaces a pending retry: the timer is cancelled there
}

void SioClient::restart() {
    if (closed_) return;
    const bool was_connected = state_ == State::Connected;
    LOGI(log_, name_.c_str(), "reconnecting to %s (settings changed)", server_.str().c_str());
    attempt();
    if (was_connected && h_.disconnected) h_.disconnected("reconnecting: settings changed");
}

void SioClient::close() {
    if (closed_) return;
    closed_ = true;
    const bool was_connected = state_ == State::Connected;
    detach();
    retry_.reset();  // a later open() starts afresh
    LOGI(log_, name_.c_str(), "closed");
    if (was_connected && h_.disconnected) h_.disconnected("closed by robotd");
}

void SioClient::attempt() {
    if (closed_) return;
    detach();  // never two connections: whatever came before is released first
    retry_.cancel();
    state_ = State::Connecting;
    version_ = next_version_;
    handshake_timer_.start_ms(kHandshakeMs);
    resolve_.start(server_.host, [this](const std::string& address, const std::string& error) {
        if (address.empty()) {
            fail(error);
            return;
        }
        connect_ws(address);
    });
}

void SioClient::connect_ws(const std::string& address) {
    address_ = address;
    path_ = eio::ws_path(version_, server_.path + "/socket.io/");
    host_header_ = server_.authority();

    LOGD(log_, name_.c_str(), "connecting to %s%s (Engine.IO %s)", server_.str().c_str(),
         path_.c_str(), version_text(version_));
    in_connect_ = true;
    lws* wsi =
        loop_.connect(server_, address_, path_, host_header_, nullptr, kProtoSio, this, &wsi_);
    in_connect_ = false;
    // A synchronous failure may already have been reported through CONNECTION_ERROR (which
    // left the attempt); only a silent one is reported here.
    if (!wsi && state_ == State::Connecting && !retry_.pending()) {
        wsi_ = nullptr;
        fail("cannot start a connection");
    }
}

void SioClient::detach() {
    resolve_.cancel();
    release_client(&wsi_);
    ping_timer_.cancel();
    liveness_timer_.cancel();
    handshake_timer_.cancel();
    stable_timer_.cancel();
    state_ = State::Idle;
    handshake_ = eio::Handshake{};
    handshake_done_ = false;
    rx_.clear();
    rx_too_big_ = false;
    out_.clear();
    out_bytes_ = 0;
    assembler_.reset();
    acks_.clear();
}

std::string SioClient::outage(int64_t* since_us) const {
    // up(): the failures of an outage that ended are kept for the backoff, not reported.
    if (closed_ || connected() || retry_.policy().up() || retry_.failures() == 0) return {};
    if (since_us) *since_us = retry_.policy().outage_start_us();
    return name_ + " failing" + retry_.outage_for() + ": " + last_error_;
}

void SioClient::fail(const std::string& why) {
    const bool was_connected = state_ == State::Connected;
    const bool had_handshake = handshake_done_;
    detach();
    if (closed_) return;
    // auto: a server that refused Engine.IO 4 before any handshake may speak 3; alternate
    // until one works.
    if (!had_handshake && mode_ == EioMode::Auto)
        next_version_ = version_ == eio::Version::V4 ? eio::Version::V3 : eio::Version::V4;
    const RetryPolicy::Step step = retry_.failed();
    last_error_ = why;
    if (step.report == RetryPolicy::Report::First) outage_connect_logged_ = outage_quiet_ = false;
    const double delay_s = step.delay_ms / 1000.0;
    const char* tag = name_.c_str();
    if (step.report == RetryPolicy::Report::Summary) {
        LOGW(log_, tag, "still failing after %s: %s; retry in %.1f s; %s",
             retry_.outage_text().c_str(), why.c_str(), delay_s, hint_.c_str());
    } else if (was_connected) {
        // A healthy link lost is news; one that dies soon after connecting is the same outage
        // going on, which the summaries report.
        const bool first = step.report == RetryPolicy::Report::First;
        if (!first) outage_quiet_ = true;
        LOG_AT(log_, first ? LogLevel::Warn : LogLevel::Debug, tag,
               "connection lost (%s); reconnecting in %.1f s", why.c_str(), delay_s);
    } else {
        LOG_AT(log_, step.report == RetryPolicy::Report::First ? LogLevel::Warn : LogLevel::Debug,
               tag, "cannot connect to %s (%s); attempt %u, retry in %.1f s", server_.str().c_str(),
               why.c_str(), step.failures, delay_s);
    }
    if (was_connected && h_.disconnected) h_.disconnected(why);
    if (h_.failing) h_.failing(int(step.failures));
}

size_t SioClient::max_frame() const {
    return handshake_done_ ? std::min<size_t>(handshake_.max_payload, kMaxFrame) : kMaxFrame;
}

void SioClient::arm_liveness() {
    if (handshake_done_)
        liveness_timer_.start_ms(handshake_.ping_interval_ms + handshake_.ping_timeout_ms);
}

bool SioClient::send_frame(std::string_view text) {
    if (!wsi_ || !handshake_done_) return false;
    if (out_bytes_ + text.size() > kMaxQueued) {
        LOGW(log_, name_.c_str(), "send queue full (%zu bytes waiting): frame dropped", out_bytes_);
        return false;
    }
    std::string frame(LWS_PRE, '\0');
    frame.append(text);
    out_bytes_ += text.size();
    out_.push_back(std::move(frame));
    lws_callback_on_writable(wsi_);
    return true;
}

bool SioClient::emit(std::string_view name, std::string_view json_arg) {
    if (state_ != State::Connected) return false;
    return send_frame(eio::encode_text(eio::Type::Message, sio::event(name, json_arg)));
}

bool SioClient::emit_with_ack(std::string_view name, std::string_view json_arg,
                              std::function<void(const cJSON*)> done) {
    if (state_ != State::Connected) return false;
    const uint64_t id = next_ack_id_++;
    if (!send_frame(eio::encode_text(eio::Type::Message, sio::event(name, json_arg, id))))
        return false;
    acks_[id] = std::move(done);
    return true;
}

void SioClient::ack(uint64_t id) {
    if (state_ == State::Connected)
        send_frame(eio::encode_text(eio::Type::Message, sio::ack(id, "[]")));
}

void SioClient::handle_open(std::string_view json) {
    std::string error;
    auto hs = eio::parse_open(json, &error);
    if (!hs) {
        fail("bad Engine.IO handshake: " + error);
        return;
    }
    handshake_ = *hs;
    const auto bound = [](uint32_t ms) { return std::clamp(ms, kMinHeartbeatMs, kMaxHeartbeatMs); };
    if (bound(handshake_.ping_interval_ms) != handshake_.ping_interval_ms ||
        bound(handshake_.ping_timeout_ms) != handshake_.ping_timeout_ms) {
        LOGW(log_, name_.c_str(),
             "server's pingInterval %u ms / pingTimeout %u ms out of bounds: using %u / %u ms",
             handshake_.ping_interval_ms, handshake_.ping_timeout_ms,
             bound(handshake_.ping_interval_ms), bound(handshake_.ping_timeout_ms));
        handshake_.ping_interval_ms = bound(handshake_.ping_interval_ms);
        handshake_.ping_timeout_ms = bound(handshake_.ping_timeout_ms);
    }
    handshake_done_ = true;
    state_ = State::Open;
    // Only Engine.IO 4 announces maxPayload. A socket.io 2.x server answers an EIO=4
    // request with its own Engine.IO 3 session: follow it.
    std::string ignored;
    JsonPtr doc = json_parse(json, &ignored);
    const bool v4 = doc && cJSON_GetObjectItemCaseSensitive(doc.get(), "maxPayload");
    if (version_ == eio::Version::V4 && !v4) {
        LOGI(log_, name_.c_str(), "server speaks Engine.IO 3; following it");
        version_ = eio::Version::V3;
    }
    if (mode_ == EioMode::Auto) next_version_ = version_;
    arm_liveness();
    if (version_ == eio::Version::V4) {
        send_frame(eio::encode_text(eio::Type::Message, sio::connect()));
    } else {
        ping_timer_.start_ms(handshake_.ping_interval_ms);
    }
}

void SioClient::handle_frame(std::string_view frame, bool binary) {
    std::string error;
    auto p = eio::decode_frame(version_, frame, binary, &error);
    if (!p) {
        arm_liveness();
        LOGW(log_, name_.c_str(), "bad Engine.IO frame ignored (%s): '%s'", error.c_str(),
             excerpt(frame).c_str());
        return;
    }
    // The handshake comes first and once: a server that breaks the order is in an unknown
    // state, and a link without a handshake has no liveness deadline.
    if (!handshake_done_ && p->type != eio::Type::Open) {
        fail(std::string("protocol error: '") + eio::type_name(p->type) +
             "' before the Engine.IO handshake");
        return;
    }
    if (handshake_done_ && p->type == eio::Type::Open) {
        fail("protocol error: a second Engine.IO handshake");
        return;
    }
    arm_liveness();
    switch (p->type) {
        case eio::Type::Open:
            handle_open(p->data);
            return;
        case eio::Type::Close:
            fail("the server closed the Engine.IO session");
            return;
        case eio::Type::Ping:
            // Engine.IO 4: the server pings and the client answers with the same data.
            send_frame(eio::encode_text(eio::Type::Pong, p->data));
            return;
        case eio::Type::Message:
            if (p->binary) {
                if (!assembler_.feed_attachment(p->data, &error)) {
                    LOGW(log_, name_.c_str(), "binary attachment dropped: %s", error.c_str());
                } else if (assembler_.complete()) {
                    auto whole = assembler_.take();
                    auto ev = sio::parse_event(whole->packet, &error);
                    LOGW(log_, name_.c_str(),
                         "%s '%s' with %zu attachment(s) received whole and dropped: robotd "
                         "uses no binary events",
                         sio::type_name(whole->packet.type), ev ? ev->name.c_str() : "?",
                         whole->attachments.size());
                }
                return;
            }
            handle_sio(p->data);
            return;
        default:  // pong, upgrade, noop: liveness is all they carry
            return;
    }
}

void SioClient::handle_sio(std::string_view text) {
    std::string error;
    auto p = sio::decode(text, &error);
    if (!p) {
        LOGW(log_, name_.c_str(), "bad Socket.IO packet ignored (%s): '%s'", error.c_str(),
             excerpt(text).c_str());
        return;
    }
    handle_packet(std::move(*p));
}

void SioClient::handle_packet(sio::Packet p) {
    std::string error;
    if (assembler_.pending() && !sio::is_binary(p.type)) {
        // Attachments must follow their packet directly; a text packet means they never will.
        LOGW(log_, name_.c_str(), "binary packet discarded: a %s came before its attachments",
             sio::type_name(p.type));
        assembler_.reset();
    }
    if (p.nsp != "/") {
        LOGD(log_, name_.c_str(), "packet for namespace %s ignored", p.nsp.c_str());
        return;
    }
    switch (p.type) {
        case sio::Type::Connect: {
            if (state_ == State::Connected) return;  // a repeat changes nothing
            state_ = State::Connected;
            ++connects_;
            handshake_timer_.cancel();
            const bool in_outage = retry_.failures() > 0;
            const std::string outage = in_outage ? " after " + retry_.outage_text() : "";
            retry_.succeeded();
            const bool quiet = in_outage && outage_connect_logged_;
            if (in_outage) outage_connect_logged_ = true;
            if (quiet) outage_quiet_ = true;
            if (in_outage) stable_timer_.start_ms(kRetry.healthy_ms);
            LOG_AT(log_, quiet ? LogLevel::Debug : LogLevel::Info, name_.c_str(),
                   "connected to %s (Engine.IO %s, sid %s)%s", server_.str().c_str(),
                   version_text(version_), handshake_.sid.c_str(), outage.c_str());
            if (h_.connected) h_.connected();
            return;
        }
        case sio::Type::Disconnect:
            fail("the server disconnected the namespace");
            return;
        case sio::Type::ConnectError:
            fail("connect error: " + sio::connect_error_message(p));
            return;
        case sio::Type::Event: {
            if (state_ != State::Connected) {
                LOGW(log_, name_.c_str(), "event before the namespace connect ignored");
                return;
            }
            auto ev = sio::parse_event(p, &error);
            if (!ev) {
                LOGW(log_, name_.c_str(), "bad event ignored: %s", error.c_str());
                return;
            }
            const auto id = ev->id;
            const uint64_t link = connects_;
            if (h_.event) h_.event(*ev);
            // The server asked for an ack: answer on the same link, so its callback never hangs.
            if (id && link == connects_) ack(*id);
            return;
        }
        case sio::Type::Ack: {
            auto it = p.id ? acks_.find(*p.id) : acks_.end();
            if (it == acks_.end()) {
                LOGD(log_, name_.c_str(), "ack for no request ignored");
                return;
            }
            auto done = std::move(it->second);
            acks_.erase(it);
            JsonPtr args = json_parse(p.data.empty() ? "[]" : p.data, &error);
            done(args ? args.get() : nullptr);
            return;
        }
        case sio::Type::BinaryEvent:
        case sio::Type::BinaryAck:
            if (!assembler_.feed_packet(std::move(p), &error))
                LOGW(log_, name_.c_str(), "binary packet discarded: %s", error.c_str());
            return;
    }
}

int SioClient::on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
    if (wsi != wsi_) {
        if (in_connect_ && !wsi_) {
            wsi_ = wsi;  // lws calls back before it has told us the new wsi
        } else {
            // Not ours (any more): close it, change nothing else.
            lws_set_opaque_user_data(wsi, nullptr);
            const bool closing = reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR ||
                                 reason == LWS_CALLBACK_CLIENT_CLOSED ||
                                 reason == LWS_CALLBACK_WSI_DESTROY;
            return closing ? 0 : -1;
        }
    }
    switch (reason) {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
            forget_client(wsi, &wsi_);  // lws frees it after this callback
            fail(connection_error(in));
            return 0;
        }
        case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
            // Every upgrade answer passes here before lws checks it: a 3xx is refused (never
            // followed: lws would resolve the new host with a blocking lookup on the loop).
            const std::string redirect = refused_redirect(wsi);
            if (redirect.empty()) return 0;
            fail(redirect + "; " + hint_);
            return -1;
        }
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            LOGD(log_, name_.c_str(), "WebSocket open, awaiting the Engine.IO handshake");
            return 0;
        case LWS_CALLBACK_CLIENT_RECEIVE: {
            if (lws_is_first_fragment(wsi)) {
                rx_.clear();
                rx_too_big_ = false;
            }
            if (!rx_too_big_ && rx_.size() + len > max_frame()) {
                rx_too_big_ = true;
                rx_.clear();
                rx_.shrink_to_fit();
            }
            if (!rx_too_big_) rx_.append(static_cast<const char*>(in), len);
            if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) return 0;
            if (rx_too_big_) {
                fail("a frame over " + std::to_string(max_frame()) + " bytes");
                return -1;
            }
            const bool binary = lws_frame_is_binary(wsi);
            std::string frame;
            frame.swap(rx_);
            handle_frame(frame, binary);
            // The frame may have ended this link (fail() released it): lws must close it.
            return wsi == wsi_ ? 0 : -1;
        }
        case LWS_CALLBACK_CLIENT_WRITEABLE: {
            if (out_.empty()) return 0;
            std::string& frame = out_.front();
            const size_t n = frame.size() - LWS_PRE;
            auto* p = reinterpret_cast<unsigned char*>(&frame[LWS_PRE]);
            if (lws_write(wsi, p, n, LWS_WRITE_TEXT) < static_cast<int>(n)) {
                fail("write failed");
                return -1;
            }
            out_bytes_ -= n;
            out_.pop_front();
            if (!out_.empty()) lws_callback_on_writable(wsi);
            return 0;
        }
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            LOGD(log_, name_.c_str(), "server closes the WebSocket");
            return 0;
        case LWS_CALLBACK_CLIENT_CLOSED:
            forget_client(wsi, &wsi_);
            fail("the server closed the connection");
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:
            // Freed without a close or error callback first (lws' own timeouts can do that):
            // forget it before anything can touch it.
            forget_client(wsi, &wsi_);
            fail("the connection ended");
            return 0;
        default:
            return 0;
    }
}

int sio_client_callback(lws* wsi, lws_callback_reasons reason, void*, void* in, size_t len) {
    auto* client = static_cast<SioClient*>(lws_get_opaque_user_data(wsi));
    if (!client) return 0;
    return client->on_event(wsi, reason, in, len);
}

}  // namespace robotd
