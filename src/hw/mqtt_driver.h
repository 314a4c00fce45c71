// The "mqtt_pub" driver: each accepted command, and every stop, published to an MQTT broker
// ([mqtt_pub] host, port, topic), for robots that listen there (ESP32 boards, home automation).
#pragma once

#include <libwebsockets.h>

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/log.h"
#include "core/retry.h"
#include "hw/driver.h"
#include "net/loop.h"
#include "net/resolver.h"
#include "net/retry_timer.h"

namespace robotd {

// The driver's waits; tests shorten them, robotd uses the defaults.
struct MqttTimings {
    // Reconnecting to the broker; a connection that lasted healthy_ms ends an outage.
    RetryRules reconnect{500, 30000, 10000};
    uint32_t attempt_ms = 10000;               // one attempt: resolve, TCP, TLS, CONNECT..CONNACK
    uint32_t summary_ms = 10000;               // at most one drop summary in the log per this
    uint32_t flush_ms = Driver::kStopFlushMs;  // see ~MqttDriver
};

// The client id when [mqtt_pub] client_id is empty: robotd-<robot_id>, cut to the 23
// characters lws' client takes (the end of the robot id is kept: it tells robots apart).
std::string mqtt_client_id(const Config& config);

// Why lws' MQTT client cannot send this CONNECT, or "": it builds the packet in a 256-byte
// stack buffer with a one-byte length, so the client id, user and password must fit it.
// Also mqtt_build_error() when that is not "".
std::string mqtt_connect_error(const Config::MqttPub& config, const std::string& client_id);

// Why this build cannot run mqtt_pub at all, or "": the libwebsockets it was built against
// (SYSTEM_LIBS=1) lacks the MQTT role, or is a 4.1 without robotd's patches (third_party/).
std::string mqtt_build_error();

// Runs on the loop through lws' MQTT 3.1.1 client role; the broker's name is resolved off the
// loop. Motion is best effort: a command is published (QoS 0, as received, so subscribers
// written for the reference client see the same text) when the broker is connected and the
// socket takes it, else dropped and counted; nothing but a stop is ever queued. A stop is
// published with QoS 1 and held until the broker acknowledges it; while one is held or
// unacknowledged, commands are dropped so that nothing overtakes it. Every new broker
// connection starts with a stop (a held one, or robotd's own): whatever a subscriber was told
// before the broker went away, it is stopped before anything else.
class MqttDriver : public Driver {
  public:
    MqttDriver(const Config::MqttPub& config, std::string client_id, Loop& loop, Logger& log,
               MqttTimings timings = {});
    // Publishes a held stop when the broker is connected (waiting at most flush_ms for the
    // socket), then half-closes and waits (within the same flush_ms) for the broker to close
    // in turn, which it does only after it has read the stop.
    ~MqttDriver() override;
    MqttDriver(const MqttDriver&) = delete;
    MqttDriver& operator=(const MqttDriver&) = delete;

    // Checks the config (host and topic are required) and starts connecting. Reaching the
    // broker is not needed: it is retried.
    bool start(std::string* error);

    const char* name() const override { return "mqtt_pub"; }
    void command(const DriveCommand& c) override;
    void stop(const DriveCommand& c) override;
    // Pointer events have no MQTT form: they are ignored.
    void pointer(const PointerEvent&) override {}
    DriverStats stats() const override;
    bool connected() const { return child_ != nullptr; }

    // For the protocol callback only.
    int on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  private:
    void attempt();
    void connect_to(const std::string& address);
    void established(lws* child);
    // The attempt failed or the connection ended: logs as the retry policy says, retries.
    void failed(const std::string& why, bool was_up, bool refused);
    void detach(bool sync);
    bool publish(const std::string& payload, bool qos1);
    void send_stop();
    void stop_acked();
    void hold(const char* why);
    void drop(const char* why);
    void summarise_drops();
    bool choked() const;
    void flush_before_going();
    std::string broker() const;

    Config::MqttPub config_;
    std::string client_id_;
    Loop& loop_;
    Logger& log_;
    MqttTimings timings_;
#if defined(LWS_ROLE_MQTT)
    lws_mqtt_client_connect_param_t params_{};
#endif
    lws_retry_bo_t idle_{};  // when lws pings the broker, and when it gives up on it
    ResolveRequest resolve_;
    RetryTimer retry_;
    Timer attempt_timer_;
    Timer summary_timer_;
    Timer stable_timer_;

    lws* conn_ = nullptr;   // a connection until the broker accepts it (CONNACK)
    lws* child_ = nullptr;  // then lws' MQTT stream on it: connected
    std::string address_;
    // One line when the broker goes away, one when it is back: reconnects that do not last
    // (within reconnect.healthy_ms) belong to the same outage, logged at debug level, and
    // "stable again" follows once one lasts.
    bool back_told_ = false;
    bool flapping_ = false;
    bool ever_connected_ = false;
    bool publishing_ = false;  // inside lws_mqtt_client_send_publish()
    bool in_connect_ = false;  // inside lws_client_connect_via_info()

    // A stop waits to be published (nothing connected, or the socket full): it goes first.
    bool stop_held_ = false;
    bool greeting_ = false;        // the held stop is robotd's own, for a new connection
    bool stop_unacked_ = false;    // a stop was published; its PUBACK has not come yet
    bool unacked_counts_ = false;  // ... and it stands for a viewer's or robotd's stop
    int64_t held_since_us_ = 0;
    std::string held_why_;

    uint64_t written_ = 0;
    uint64_t dropped_ = 0;
    uint64_t merged_ = 0;
    uint64_t unreported_drops_ = 0;
    std::string drop_reason_;
};

}  // namespace robotd
