// A Socket.IO client over a libwebsockets WebSocket, speaking Engine.IO 3 (socket.io 2.x
// servers) and 4 (socket.io 3/4) in one build; owns at most one connection, reconnects forever.
#pragma once

#include <libwebsockets.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/json.h"
#include "core/url.h"
#include "net/eio/codec.h"
#include "net/loop.h"
#include "net/retry_timer.h"
#include "net/sio/codec.h"

namespace robotd {

// The client's rules, each a defect it once had:
// - One connection at most: an attempt starts only from open(), restart() or the one retry
//   timer, and every attempt first releases whatever came before. A callback from any wsi
//   but the current one closes that wsi and changes nothing else.
// - Protocol order: nothing before the Engine.IO handshake, no second handshake, events only
//   after the namespace connect; a server that breaks the order is dropped and retried.
// - A link past its handshake always has a liveness deadline (pingInterval + pingTimeout).
// - Retries follow RetryPolicy: a link that dies before it has been up for kHealthyMs counts
//   as a failure, so a server that accepts and then kicks is retried with growing delays.
class SioClient {
  public:
    struct Handlers {
        std::function<void()> connected;  // the namespace is connected: identify here
        std::function<void(const std::string& why)> disconnected;
        std::function<void(const sio::Event& event)> event;  // event.id set: answered for you
        // After each failure in a row (1, 2, 3, ...): 3 means "look the server up again".
        std::function<void(int failures)> failing;
    };

    // `name` ("control", "chat", ...) prefixes every log line; `hint` ends the summary lines
    // of a long outage: what the owner should check ("check [misc] app_server").
    SioClient(Loop& loop, std::string name, std::string hint, Handlers handlers);
    ~SioClient();
    SioClient(const SioClient&) = delete;
    SioClient& operator=(const SioClient&) = delete;

    // Connects to `server` (http/https, as ws/wss) and stays connected until close(). While
    // connected to `server` this does nothing; while connected elsewhere the live link stays
    // and `server` is used from the next attempt on. Otherwise any pending retry is replaced
    // by an attempt now (a new address came from discovery), and a new server starts a fresh
    // backoff.
    void open(const Url& server, EioMode mode);
    // Drops the link (if any) and connects again now, without counting a failure: the TLS
    // settings or the robot's identity changed.
    void restart();
    void close();

    bool connected() const { return state_ == State::Connected; }
    bool is_open() const { return !closed_; }
    // "control failing for 3 min: connection refused" while an outage goes on; "" while
    // connected, closed, or before the first failure. `since_us`: when it began.
    std::string outage(int64_t* since_us = nullptr) const;
    eio::Version version() const { return version_; }
    const Url& server() const { return server_; }
    // Connections made since construction (tests and the soak count links with it).
    uint64_t connects() const { return connects_; }

    // Sends an event with one JSON argument (raw JSON text); false when not connected.
    bool emit(std::string_view name, std::string_view json_arg);
    // The same, asking the server for an ack; `done` gets the ack's arguments (an array).
    bool emit_with_ack(std::string_view name, std::string_view json_arg,
                       std::function<void(const cJSON* args)> done);

    // For the protocol callback only.
    int on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  private:
    enum class State { Idle, Connecting, Open, Connected };

    void attempt();
    void connect_ws(const std::string& address);
    void fail(const std::string& why);
    void detach();
    void handle_frame(std::string_view frame, bool binary);
    void handle_open(std::string_view json);
    void handle_sio(std::string_view text);
    void handle_packet(sio::Packet p);
    void ack(uint64_t id);
    bool send_frame(std::string_view text);
    void arm_liveness();
    size_t max_frame() const;

    Loop& loop_;
    Logger& log_;
    std::string name_, hint_;
    Handlers h_;
    Url server_;
    EioMode mode_ = EioMode::Auto;
    eio::Version version_ = eio::Version::V4;
    eio::Version next_version_ = eio::Version::V4;
    State state_ = State::Idle;
    bool closed_ = true;
    uint64_t connects_ = 0;

    ResolveRequest resolve_;
    lws* wsi_ = nullptr;
    bool in_connect_ = false;  // inside lws_client_connect_via_info(): wsi_ not known yet
    std::string path_, host_header_, address_;
    eio::Handshake handshake_;
    bool handshake_done_ = false;
    std::string last_error_;

    RetryTimer retry_;
    Timer ping_timer_, liveness_timer_, handshake_timer_;
    // In an outage the first link that comes back is logged; later ones (a server that keeps
    // kicking) are the same outage going on, and one line says when a link has lasted.
    bool outage_connect_logged_ = false;
    bool outage_quiet_ = false;  // connects or losses were logged at debug only
    Timer stable_timer_;

    std::string rx_;
    bool rx_too_big_ = false;
    std::deque<std::string> out_;  // frames, each with LWS_PRE bytes of head room
    size_t out_bytes_ = 0;
    sio::BinaryAssembler assembler_;
    std::map<uint64_t, std::function<void(const cJSON*)>> acks_;
    uint64_t next_ack_id_ = 0;
};

}  // namespace robotd
