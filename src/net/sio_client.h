// A Socket.IO client over a libwebsockets WebSocket, speaking Engine.IO 3 (socket.io 2.x
// servers) and 4 (socket.io 3/4) in one build; reconnects forever with backoff and jitter.
#pragma once

#include <libwebsockets.h>

#include <deque>
#include <functional>
#include <map>
#include <random>
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

class SioClient {
  public:
    struct Handlers {
        std::function<void()> connected;  // the namespace is connected: identify here
        std::function<void(const std::string& why)> disconnected;
        std::function<void(const sio::Event& event)> event;  // event.id set: answer with ack()
        // After each failed attempt in a row (1, 2, 3, ...): 3 means "look the server up again".
        std::function<void(int failures)> failing;
    };

    // `name` ("control", "chat", ...) prefixes every log line.
    SioClient(Loop& loop, std::string name, Handlers handlers);
    ~SioClient();
    SioClient(const SioClient&) = delete;
    SioClient& operator=(const SioClient&) = delete;

    // Connects to `server` (http/https, as ws/wss) and stays connected until close().
    void open(const Url& server, EioMode mode);
    // The address to use from the next attempt on (rediscovery); the live link stays.
    void set_server(const Url& server) { server_ = server; }
    void close();

    bool connected() const { return state_ == State::Connected; }
    eio::Version version() const { return version_; }
    const Url& server() const { return server_; }

    // Sends an event with one JSON argument (raw JSON text); false when not connected.
    bool emit(std::string_view name, std::string_view json_arg);
    // The same, asking the server for an ack; `done` gets the ack's arguments (an array).
    bool emit_with_ack(std::string_view name, std::string_view json_arg,
                       std::function<void(const cJSON* args)> done);
    // Answers a server's ack request with a JSON array of arguments.
    void ack(uint64_t id, std::string_view json_args_array = "[]");

    // For the protocol callback only.
    int on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  private:
    enum class State { Idle, Connecting, Open, Connected };

    void attempt();
    void connect_ws(const std::string& address);
    void drop(const std::string& why);
    void detach();
    void handle_frame(std::string_view frame, bool binary);
    void handle_open(std::string_view json);
    void handle_sio(std::string_view text);
    void handle_packet(sio::Packet p);
    bool send_frame(std::string_view text);
    void arm_liveness();
    size_t max_frame() const;

    Loop& loop_;
    Logger& log_;
    std::string name_;
    Handlers h_;
    Url server_;
    EioMode mode_ = EioMode::Auto;
    eio::Version version_ = eio::Version::V4;
    eio::Version next_version_ = eio::Version::V4;
    State state_ = State::Idle;
    bool closed_ = true;

    ResolveRequest resolve_;
    lws* wsi_ = nullptr;
    std::string path_, host_header_, address_;
    eio::Handshake handshake_;
    bool handshake_done_ = false;

    RetryTimer retry_;
    Timer ping_timer_, liveness_timer_, handshake_timer_;

    std::string rx_;
    bool rx_too_big_ = false;
    std::deque<std::string> out_;  // frames, each with LWS_PRE bytes of head room
    size_t out_bytes_ = 0;
    sio::BinaryAssembler assembler_;
    std::map<uint64_t, std::function<void(const cJSON*)>> acks_;
    uint64_t next_ack_id_ = 0;
};

}  // namespace robotd
