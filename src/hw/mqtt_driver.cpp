#include "hw/mqtt_driver.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "net/protocols.h"

namespace robotd {

namespace {
constexpr const char* kTag = "mqtt";
constexpr const char kStop[] = "stop";
// A command is a viewer's word or two; anything this long is not one (and a PUBLISH must fit
// lws' 4 KiB service buffer with its topic).
constexpr size_t kMaxPayload = 1024;
constexpr size_t kMaxClientId = 23;  // lws' MQTT client takes no longer one

constexpr const char* kNotConnected = "broker not connected";
constexpr const char* kNotReading = "broker not reading";
constexpr const char* kBehindStop = "a stop goes first";

std::string in_ms(uint32_t ms) {
    return describe_duration(int64_t(ms) * 1000);
}
}  // namespace

std::string mqtt_client_id(const Config& config) {
    if (!config.mqtt_pub.client_id.empty()) return config.mqtt_pub.client_id;
    const std::string prefix = "robotd-";
    std::string id = config.robot.robot_id.empty() ? "robot" : config.robot.robot_id;
    const size_t room = kMaxClientId - prefix.size();
    if (id.size() > room) id = id.substr(id.size() - room);
    // Brokers must accept letters and digits; anything else in a robot id becomes '_'.
    for (char& c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            c = '_';
    return prefix + id;
}

std::string mqtt_build_error() {
#if !defined(LWS_ROLE_MQTT)
    return "type mqtt_pub needs libwebsockets built with its MQTT role (cmake "
           "-DLWS_ROLE_MQTT=ON); this robotd was built against one without";
#elif LWS_LIBRARY_VERSION_NUMBER < 4003000 && !defined(ROBOTD_LWS_PATCHED)
    // 4.1's MQTT client sends a stray byte after a CONNECT without user (brokers then drop
    // the first PUBLISH: robotd's stop) and never starts TLS under mbedTLS; robotd's
    // third_party/ build of 4.1.6 carries the fixes (third_party/README.md). 4.3.5 (Debian
    // 13) delivers the first PUBLISH, over TLS too (tests/system/run.sh deb13); 4.2 is untried.
    return "type mqtt_pub needs libwebsockets 4.3 or later, or robotd's patched 4.1.6 "
           "(third_party/): this robotd was built against lws " LWS_LIBRARY_VERSION
           ", whose MQTT client loses the first command after connecting";
#else
    return {};
#endif
}

std::string mqtt_connect_error(const Config::MqttPub& config, const std::string& client_id) {
    if (std::string why = mqtt_build_error(); !why.empty()) return why;
    // lws_mqtt_client_send_connect(): 10 bytes of variable header and 2 + id, then 2 + user
    // and 2 + password when sent; the remaining length (a uint8_t there) plus the fixed
    // header (1 byte and a 2-byte length from 128 on) must fit 256 bytes: at most 253.
    constexpr size_t kMaxRemaining = 253;
    size_t remaining = 12 + client_id.size();
    if (!config.user.empty())
        remaining +=
            2 + config.user.size() + (config.password.empty() ? 0 : 2 + config.password.size());
    if (remaining <= kMaxRemaining) return {};
    return "[mqtt_pub] user and password are too long: the MQTT client's CONNECT holds at most " +
           std::to_string(kMaxRemaining - 16) +
           " bytes of client id, user and password together (these take " +
           std::to_string(client_id.size() + config.user.size() + config.password.size()) + ")";
}

MqttDriver::MqttDriver(const Config::MqttPub& config, std::string client_id, Loop& loop,
                       Logger& log, MqttTimings timings)
    : config_(config),
      client_id_(std::move(client_id)),
      loop_(loop),
      log_(log),
      timings_(timings),
      resolve_(loop.resolver()),
      retry_(loop, timings.reconnect, [this] { attempt(); }),
      attempt_timer_(
          loop, [this] { failed("no answer within " + in_ms(timings_.attempt_ms), false, false); }),
      summary_timer_(loop, [this] { summarise_drops(); }),
      stable_timer_(loop, [this] {
          if (!child_ || !flapping_) return;
          flapping_ = false;
          LOGI(log_, kTag, "broker %s: connection stable again (after %s)", broker().c_str(),
               retry_.outage_text().c_str());
      }) {}

MqttDriver::~MqttDriver() {
    flush_before_going();
    detach(true);
    if (unreported_drops_ > 0)
        LOGW(log_, kTag, "%llu commands dropped (%s)",
             static_cast<unsigned long long>(unreported_drops_), drop_reason_.c_str());
}

std::string MqttDriver::broker() const {
    const bool v6 = config_.host.find(':') != std::string::npos;
    return (v6 ? "[" + config_.host + "]" : config_.host) + ":" +
           std::to_string(config_.effective_port());
}

bool MqttDriver::start(std::string* error) {
    if (config_.host.empty()) {
        *error = "[mqtt_pub] host is required for type mqtt_pub (the broker's name or address)";
        return false;
    }
    if (config_.topic.empty()) {
        *error = "[mqtt_pub] topic is required for type mqtt_pub (where commands are published)";
        return false;
    }
    if (client_id_.empty() || client_id_.size() > kMaxClientId) {
        *error = "[mqtt_pub] client_id must be 1.." + std::to_string(kMaxClientId) + " characters";
        return false;
    }
    if (std::string why = mqtt_connect_error(config_, client_id_); !why.empty()) {
        *error = why;
        return false;
    }
#if defined(LWS_ROLE_MQTT)
    params_.client_id = client_id_.c_str();
    params_.keep_alive = static_cast<uint16_t>(config_.keepalive);
    params_.clean_start = 1;  // nothing of an earlier session is wanted: stops go out anew
#if LWS_LIBRARY_VERSION_NUMBER >= 4003000
    // lws 4.3 frees client_id, username and password after the CONNECT unless told not to
    // (4.1 only copied them); these point into our own strings.
    params_.client_id_nofree = 1;
    params_.username_nofree = 1;
    params_.password_nofree = 1;
#endif
    if (!config_.user.empty()) {
        params_.username = config_.user.c_str();
        params_.password = config_.password.empty() ? nullptr : config_.password.c_str();
    } else if (!config_.password.empty()) {
        LOGW(log_, kTag, "[mqtt_pub] password is ignored without a user (MQTT sends none alone)");
    }
    // lws pings the broker after half the keepalive without a sign of it, and gives up on
    // the connection when a whole keepalive passes without one.
    idle_.secs_since_valid_ping = static_cast<uint16_t>(std::max(1, config_.keepalive / 2));
    idle_.secs_since_valid_hangup = static_cast<uint16_t>(config_.keepalive);

    LOGI(log_, kTag, "publishing commands to topic '%s' on broker %s (%s, client id %s%s)",
         config_.topic.c_str(), broker().c_str(), config_.tls ? "TLS" : "plain TCP",
         client_id_.c_str(), config_.user.empty() ? "" : (", user " + config_.user).c_str());
    attempt();
    return true;
#else
    return false;  // mqtt_connect_error() said why
#endif
}

// ---- the connection ---------------------------------------------------------------------

void MqttDriver::attempt() {
    detach(false);  // never two connections
    retry_.cancel();
    attempt_timer_.start_ms(timings_.attempt_ms);
    resolve_.start(config_.host, [this](const std::string& address, const std::string& error) {
        if (address.empty()) {
            failed(error, false, false);
            return;
        }
        connect_to(address);
    });
}

void MqttDriver::connect_to(const std::string& address) {
    address_ = address;
#if defined(LWS_ROLE_MQTT)  // else start() refused (mqtt_build_error)
    lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = loop_.context();
    ci.vhost = loop_.vhost();  // [misc] ca_file and secure_cert, as every TLS link
    ci.address = address_.c_str();
    ci.port = config_.effective_port();
    ci.host = config_.host.c_str();  // SNI and the certificate's name check
    ci.ssl_connection = config_.tls ? loop_.client_flags(true) : 0;
    ci.method = "MQTT";  // binds lws' MQTT client role
    ci.alpn = "mqtt";
    ci.protocol = kProtoMqtt;
    ci.local_protocol_name = kProtoMqtt;
    ci.mqtt_cp = &params_;
    ci.retry_and_idle_policy = &idle_;
    ci.opaque_user_data = this;
    LOGD(log_, kTag, "connecting to %s (%s)", broker().c_str(), address_.c_str());
    in_connect_ = true;
    lws* wsi = lws_client_connect_via_info(&ci);
    in_connect_ = false;
    // A connection that fails at once may have said so through CONNECTION_ERROR, which
    // already scheduled the retry; only a silent failure is reported here.
    if (!wsi) {
        if (!retry_.pending()) failed("cannot start a connection", false, false);
        return;
    }
    conn_ = wsi;
#endif
}

void MqttDriver::established(lws* child) {
    // The broker accepted us: lws moved this link onto a new stream wsi (the one it tells
    // from now on); the connection itself stays lws' to free, with its streams.
    conn_ = nullptr;
    child_ = child;
    attempt_timer_.cancel();
    const bool in_outage = retry_.failures() > 0;
    const std::string outage = in_outage ? " (after " + retry_.outage_text() + ")" : "";
    retry_.succeeded();
    if (!ever_connected_) {
        LOGI(log_, kTag, "connected to broker %s%s", broker().c_str(), outage.c_str());
    } else if (!back_told_) {
        LOGI(log_, kTag, "broker %s is back%s; publishing again", broker().c_str(), outage.c_str());
        back_told_ = true;
    } else {
        // Back again after a connection that did not last: the same outage, told already.
        LOGD(log_, kTag, "reconnected to broker %s%s", broker().c_str(), outage.c_str());
        flapping_ = true;
    }
    if (in_outage) stable_timer_.start_ms(timings_.reconnect.healthy_ms);
    ever_connected_ = true;
    // A new connection starts with a stop: what the subscriber heard before is not known.
    if (!stop_held_) {
        stop_held_ = true;
        greeting_ = true;
        held_since_us_ = mono_us();
    }
    send_stop();
}

void MqttDriver::failed(const std::string& why, bool was_up, bool refused) {
    detach(false);
    if (stop_unacked_) {
        // Lost with the connection, maybe before the broker passed it on: it goes first
        // on the next one.
        stop_unacked_ = false;
        if (!stop_held_) {
            stop_held_ = true;
            greeting_ = !unacked_counts_;
            if (unacked_counts_) {
                held_why_ = "connection lost";  // its delivery is logged
                held_since_us_ = mono_us();
            }
        }
    }
    const RetryPolicy::Step step = retry_.failed();
    const std::string next = in_ms(step.delay_ms);
    const std::string cap = in_ms(retry_.policy().rules().max_ms);
    const std::string who = broker();
    const char* b = who.c_str();
    stable_timer_.cancel();
    if (step.report == RetryPolicy::Report::Summary) {
        LOG_AT(log_, refused ? LogLevel::Error : LogLevel::Warn, kTag,
               "broker %s: still %s after %s: %s; next try in %s", b,
               refused ? "refused" : "unreachable", retry_.outage_text().c_str(), why.c_str(),
               next.c_str());
        return;
    }
    if (step.report == RetryPolicy::Report::Quiet) {
        LOGD(log_, kTag, "broker %s: %s; next try in %s", b, why.c_str(), next.c_str());
        return;
    }
    back_told_ = flapping_ = false;  // a new outage
    if (refused) {
        LOGE(log_, kTag,
             "broker %s refused the connection (%s): check [mqtt_pub] user, password and "
             "client_id and the broker's access rules; trying again (at least every %s)",
             b, why.c_str(), cap.c_str());
    } else if (was_up) {
        LOGW(log_, kTag,
             "broker %s went away (%s): commands are dropped until it is back, and then a "
             "stop goes first; reconnecting (at least every %s)",
             b, why.c_str(), cap.c_str());
    } else {
        LOGW(log_, kTag, "cannot reach broker %s (%s); trying again (at least every %s)", b,
             why.c_str(), cap.c_str());
    }
}

void MqttDriver::detach(bool sync) {
    resolve_.cancel();
    attempt_timer_.cancel();
    const int how = sync ? LWS_TO_KILL_SYNC : LWS_TO_KILL_ASYNC;
    if (child_) {
        // Closing the connection closes its stream; neither tells us any more.
        lws* net = lws_get_network_wsi(child_);
        lws_set_opaque_user_data(child_, nullptr);
        lws_set_timeout(net, PENDING_TIMEOUT_USER_OK, how);
        child_ = nullptr;
    }
    if (conn_) {
        lws_set_opaque_user_data(conn_, nullptr);
        lws_set_timeout(conn_, PENDING_TIMEOUT_USER_OK, how);
        conn_ = nullptr;
    }
}

int MqttDriver::on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
    switch (reason) {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
            // Inside lws_client_connect_via_info() the connection is not conn_ yet.
            if (wsi != conn_ && !(in_connect_ && !conn_)) return 0;
            forget_client(wsi, &conn_);
            std::string why = in && len ? std::string(static_cast<const char*>(in), len) : "";
            why = why.c_str();  // lws counts the terminator in some lengths
            // The broker answered the CONNECT with a refusal (third_party's lws patch 3).
            const std::string connack = "CONNACK: ";
            const bool refused = why.compare(0, connack.size(), connack) == 0;
            if (refused) why.erase(0, connack.size());
            const std::string clock = clock_not_set_error(why.c_str());
            if (!clock.empty()) why = clock;
            failed(why.empty() ? "connection failed" : why, false, refused);
            return 0;
        }
        case LWS_CALLBACK_MQTT_CLIENT_ESTABLISHED:
            established(wsi);
            return 0;
        case LWS_CALLBACK_MQTT_CLIENT_CLOSED:
        case LWS_CALLBACK_WSI_DESTROY:
            if (wsi == child_) {
                forget_client(wsi, &child_);
                failed("connection closed", true, false);
            } else if (wsi == conn_) {
                forget_client(wsi, &conn_);
                // Closed after the CONNECT went out, before a CONNACK let us in: the broker
                // said no without a reason code (a refusal with one is a CONNECTION_ERROR).
                failed("it closed the connection instead of accepting the client", false,
                       reason == LWS_CALLBACK_MQTT_CLIENT_CLOSED);
            }
            return 0;
        case LWS_CALLBACK_MQTT_CLIENT_WRITEABLE:
            if (wsi == child_ && stop_held_) send_stop();
            return 0;
        case LWS_CALLBACK_MQTT_ACK:
            // QoS 0 publishes get a made-up ACK at once, inside publish(): only a stop's
            // PUBACK matters.
            if (wsi == child_ && !publishing_ && stop_unacked_) stop_acked();
            return 0;
        case LWS_CALLBACK_MQTT_RESEND:
            // No PUBACK within lws' 3 s: the stop goes again (a stop twice is harmless).
            if (wsi == child_ && stop_unacked_) {
                LOGD(log_, kTag, "no PUBACK for the stop yet; publishing it again");
                if (!publish(kStop, true)) LOGD(log_, kTag, "publishing the stop again failed");
            }
            return 0;
        default:
            return 0;
    }
}

// ---- publishing ----------------------------------------------------------------------

bool MqttDriver::choked() const {
    // lws' test looks at the wsi it is given, and only the connection has a socket.
    return lws_send_pipe_choked(lws_get_network_wsi(child_)) != 0;
}

bool MqttDriver::publish(const std::string& payload, bool qos1) {
#if !defined(LWS_ROLE_MQTT)  // start() refused (mqtt_build_error): nothing is connected
    (void)payload;
    (void)qos1;
    return false;
#else
    lws_mqtt_publish_param_t pub;
    memset(&pub, 0, sizeof pub);
    pub.topic = const_cast<char*>(config_.topic.c_str());  // lws only reads it
    pub.topic_len = static_cast<uint16_t>(config_.topic.size());
    pub.payload = payload.data();
    pub.payload_len = static_cast<uint32_t>(payload.size());
    pub.qos = qos1 ? QOS1 : QOS0;
    publishing_ = true;
    const int rc = lws_mqtt_client_send_publish(child_, &pub, payload.data(),
                                                static_cast<uint32_t>(payload.size()), 1);
    publishing_ = false;
    return rc == 0;
#endif
}

void MqttDriver::send_stop() {
    if (!child_ || !stop_held_) return;
    if (choked()) {
        lws_callback_on_writable(child_);  // again when the socket has room
        return;
    }
    if (!publish(kStop, true)) {
        // The connection is broken (a write failed): a new one gets the stop first.
        failed("cannot publish", true, false);
        return;
    }
    stop_held_ = false;
    stop_unacked_ = true;
    unacked_counts_ = !greeting_;
    greeting_ = false;
}

void MqttDriver::stop_acked() {
    stop_unacked_ = false;
    if (!unacked_counts_) return;  // robotd's own stop for a new connection
    ++written_;
    if (!held_why_.empty()) {
        LOGI(log_, kTag, "held stop published after %s",
             describe_duration(mono_us() - held_since_us_).c_str());
        held_why_.clear();
    }
}

void MqttDriver::command(const DriveCommand& c) {
    if (!child_) {
        drop(kNotConnected);
    } else if (stop_held_ || stop_unacked_) {
        drop(kBehindStop);
    } else if (c.command.empty() || c.command.size() > kMaxPayload) {
        drop("command empty or longer than 1024 bytes");
    } else if (choked()) {
        drop(kNotReading);
    } else if (!publish(c.command, false)) {
        drop("publish failed");
    } else {
        ++written_;
    }
}

void MqttDriver::stop(const DriveCommand&) {
    if (stop_held_) {
        // The held one says the same and goes first; robotd's own now stands for this one.
        if (greeting_)
            greeting_ = false;
        else
            ++merged_;
        return;
    }
    if (stop_unacked_) {
        // Published already, and nothing after it: its PUBACK delivers this one too.
        if (!unacked_counts_)
            unacked_counts_ = true;
        else
            ++merged_;
        return;
    }
    stop_held_ = true;
    greeting_ = false;
    held_since_us_ = mono_us();
    send_stop();
    if (stop_held_) hold(child_ ? kNotReading : kNotConnected);
}

void MqttDriver::hold(const char* why) {
    held_why_ = why;
    LOGW(log_, kTag,
         "stop held (%s): it is published first as soon as the broker takes it; commands "
         "are dropped until then",
         why);
}

DriverStats MqttDriver::stats() const {
    DriverStats s;
    s.written = written_;
    s.dropped = dropped_;
    s.merged = merged_;
    s.stop_held = stop_held_ || stop_unacked_;
    return s;
}

void MqttDriver::drop(const char* why) {
    ++dropped_;
    drop_reason_ = why;
    if (summary_timer_.armed()) {
        ++unreported_drops_;
        return;
    }
    LOGW(log_, kTag, "command dropped (%s); further drops are summarised every %s", why,
         in_ms(timings_.summary_ms).c_str());
    summary_timer_.start_ms(timings_.summary_ms);
}

void MqttDriver::summarise_drops() {
    if (unreported_drops_ == 0) return;  // quiet for a whole period: the next drop logs anew
    LOGW(log_, kTag, "%llu commands dropped (%s)",
         static_cast<unsigned long long>(unreported_drops_), drop_reason_.c_str());
    unreported_drops_ = 0;
    summary_timer_.start_ms(timings_.summary_ms);
}

// ---- going away ----------------------------------------------------------------------

void MqttDriver::flush_before_going() {
    const bool owed = (stop_held_ && !greeting_) || (stop_unacked_ && unacked_counts_);
    if (!child_) {
        if (owed)
            LOGE(log_, kTag,
                 "a stop could not be published (%s): the robot keeps its last command until "
                 "its subscriber stops it",
                 kNotConnected);
        return;
    }
    const int fd = lws_get_socket_fd(lws_get_network_wsi(child_));
    const int64_t deadline = mono_us() + int64_t(timings_.flush_ms) * 1000;
    const auto left_ms = [&] {
        return int((std::max<int64_t>(deadline - mono_us(), 0) + 999) / 1000);
    };
    // The one wait on the loop a driver may make (driver.h): for room in the socket.
    while (stop_held_ && left_ms() > 0) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, left_ms()) < 0 && errno != EINTR) break;
        send_stop();
    }
    if (stop_held_) {
        if (!greeting_)
            LOGE(log_, kTag, "a held stop could not be published within %s (%s)",
                 in_ms(timings_.flush_ms).c_str(), kNotReading);
        return;
    }
    if (!stop_unacked_) return;
    // The stop is in the socket. Closing it now could lose it: a close with unread data
    // (a PINGRESP, the PUBACK) resets the connection, and the broker may not have read the
    // stop yet. So: no more from us, and wait for the broker to close in turn, which it does
    // after reading everything before our end.
    shutdown(fd, SHUT_WR);
    char sink[512];
    bool closed = false;
    while (!closed && left_ms() > 0) {
        pollfd p{fd, POLLIN, 0};
        const int n = poll(&p, 1, left_ms());
        if (n < 0 && errno != EINTR) break;
        if (n <= 0) continue;
        const ssize_t got = read(fd, sink, sizeof sink);
        closed = got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR);
    }
    stop_unacked_ = false;
    if (!unacked_counts_) return;
    if (closed) {
        ++written_;
        if (!held_why_.empty())
            LOGI(log_, kTag, "held stop published after %s, as the driver goes",
                 describe_duration(mono_us() - held_since_us_).c_str());
    } else {
        LOGW(log_, kTag, "the broker did not confirm the last stop within %s",
             in_ms(timings_.flush_ms).c_str());
    }
}

int mqtt_driver_callback(lws* wsi, lws_callback_reasons reason, void*, void* in, size_t len) {
    auto* driver = static_cast<MqttDriver*>(lws_get_opaque_user_data(wsi));
    return driver ? driver->on_event(wsi, reason, in, len) : 0;
}

}  // namespace robotd
