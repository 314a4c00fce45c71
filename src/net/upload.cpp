#include "net/upload.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/clock.h"
#include "core/json.h"
#include "net/protocols.h"

namespace robotd {

namespace {
// A record older than this when the socket can take it is not worth sending: skip to the
// next keyframe, so a slow relay costs frames, never ever-growing delay.
constexpr int64_t kMaxAgeUs = 1000000;
// With records waiting and no write for this long, the relay is stuck: reconnect.
constexpr int64_t kStuckUs = 10000000;
// While a body is pending lws reads nothing: an answer (or end) from the relay would leave
// the socket readable, the loop spinning and the reason unread until a write failed.
// relay_answered() looks before each write and on every tick of this watchdog (a peek,
// cheap), so that lasts a tick at most.
constexpr uint32_t kWatchdogMs = 100;
// The kernel's send buffer holds what the relay has not taken yet; left to autotune it grows
// to megabytes, seconds of video the age check above cannot see. Keep it near a second.
constexpr int kSendBuffer = 32 * 1024;
constexpr int64_t kSkipLogUs = 10000000;
// A stream that ends sooner than this after connecting was refused, not lost.
constexpr int64_t kAtOnceUs = 1000000;

std::string seconds(uint32_t ms) {
    char text[32];
    snprintf(text, sizeof text, "%.1f s", ms / 1000.0);
    return text;
}
}  // namespace

UploadLogLine upload_failure_line(const std::string& url, const RetryPolicy::Step& step,
                                  const std::string& outage, const std::string& why, bool lost) {
    switch (step.report) {
        case RetryPolicy::Report::First:
            if (lost)
                return {LogLevel::Warn, "upload to " + url + " lost: " + why +
                                            "; reconnecting in " + seconds(step.delay_ms)};
            return {LogLevel::Warn, "cannot upload to " + url + ": " + why + "; retrying in " +
                                        seconds(step.delay_ms)};
        case RetryPolicy::Report::Summary:
            return {LogLevel::Warn, "upload to " + url + " still failing after " + outage + ": " +
                                        why + "; check the relay and [robot] stream_key"};
        case RetryPolicy::Report::Quiet:
            break;
    }
    return {LogLevel::Debug, "upload attempt " + std::to_string(step.failures) + " failed: " + why +
                                 "; retry in " + seconds(step.delay_ms)};
}

void LatencyHistogram::add(int64_t us) {
    const int64_t ms = us < 0 ? 0 : us / 1000;
    ++buckets_[ms >= int64_t(buckets_.size()) - 1 ? buckets_.size() - 1 : size_t(ms)];
    ++count_;
}

int LatencyHistogram::percentile_ms(double p) const {
    if (count_ == 0) return -1;
    const uint64_t rank = static_cast<uint64_t>(p * double(count_ - 1));
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
        seen += buckets_[i];
        if (seen > rank) return static_cast<int>(i);
    }
    return static_cast<int>(buckets_.size() - 1);
}

Upload::Upload(Loop& loop, std::string name, PacketRing& ring, std::function<void()> want_keyframe,
               RetryRules rules, uint32_t connect_ms)
    : loop_(loop),
      log_(loop.log()),
      name_(std::move(name)),
      ring_(ring),
      want_keyframe_(std::move(want_keyframe)),
      resolve_(loop.resolver()),
      retry_(loop, rules, [this] { attempt(); }),
      watchdog_(
          loop,
          [this] {
              if (streaming_ && has_record() && mono_us() - last_progress_us_ > kStuckUs) {
                  drop("the relay took nothing for " + std::to_string(kStuckUs / 1000000) + " s");
                  return;
              }
              if (streaming_ && wsi_ && relay_answered(wsi_)) return;
              check_healthy();
              watchdog_.start_ms(kWatchdogMs);
          }),
      connect_ms_(connect_ms),
      phase_timer_(loop, [this] { drop(phase_why_); }) {}

Upload::~Upload() {
    closed_ = true;
    detach();
}

std::string Upload::summary() const {
    char line[256];
    snprintf(line, sizeof line,
             "%llu records, %llu bytes, %llu skipped, %llu connects; capture-to-wire p50 %d ms, "
             "p99 %d ms",
             static_cast<unsigned long long>(stats_.records),
             static_cast<unsigned long long>(stats_.bytes),
             static_cast<unsigned long long>(stats_.skipped),
             static_cast<unsigned long long>(stats_.connects), stats_.latency.percentile_ms(0.5),
             stats_.latency.percentile_ms(0.99));
    return line;
}

void Upload::open(const Url& url) {
    url_ = url;
    closed_ = false;
    detach();
    retry_.reset();
    recovering_ = false;
    attempt();
}

void Upload::close() {
    if (closed_) return;
    closed_ = true;
    detach();
    retry_.cancel();
    discard_all();
    LOGI(log_, name_.c_str(), "upload closed (%s)", summary().c_str());
}

void Upload::attempt() {
    if (closed_) return;
    phase_why_ = "no connection to the relay within " + seconds(connect_ms_);
    phase_timer_.start_ms(connect_ms_);
    resolve_.start(url_.host, [this](const std::string& address, const std::string& error) {
        if (address.empty()) {
            drop(error);
            return;
        }
        connect(address);
    });
}

void Upload::connect(const std::string& address) {
    address_ = address;
    path_ = url_.path.empty() ? "/" : url_.path + "/";
    host_header_ = url_.authority();
    if (!loop_.connect(url_, address_, path_, host_header_, "POST", kProtoUpload, this, &wsi_)) {
        wsi_ = nullptr;
        if (!closed_ && !retry_.pending()) drop("cannot start a connection");
    }
}

void Upload::detach() {
    resolve_.cancel();
    release_client(&wsi_);
    streaming_ = false;
    answered_ = false;
    watchdog_.cancel();
    phase_timer_.cancel();
}

bool Upload::has_record() {
    const uint8_t* data;
    size_t len;
    RecordMeta meta;
    return ring_.front(&data, &len, &meta);
}

void Upload::discard_all() {
    while (has_record()) {
        ring_.pop();
        ++stats_.skipped;
    }
}

void Upload::drop(const std::string& why, bool refused) {
    const bool was_streaming = streaming_ && !refused;
    const bool at_once = was_streaming && mono_us() - streaming_since_us_ < kAtOnceUs;
    detach();
    recovering_ = false;
    if (closed_) return;
    const RetryPolicy::Step step = retry_.failed();
    const std::string reason =
        at_once ? "ended at once (" + why + "), as with a wrong [robot] stream_key" : why;
    const UploadLogLine line = upload_failure_line(url_.str(), step, retry_.outage_text(), reason,
                                                   was_streaming && !at_once);
    LOG_AT(log_, line.level, name_.c_str(), "%s", line.text.c_str());
    if (on_failing_) on_failing_(int(step.failures));
}

void Upload::check_healthy() {
    if (!recovering_ || !streaming_ ||
        mono_us() - streaming_since_us_ < int64_t(retry_.policy().rules().healthy_ms) * 1000)
        return;
    recovering_ = false;
    LOGI(log_, name_.c_str(), "uploading to %s again, after %s", url_.str().c_str(),
         outage_text_.c_str());
}

bool Upload::relay_answered(lws* wsi) {
    if (answered_) return true;
    char byte;
    const ssize_t n = recv(lws_get_socket_fd(wsi), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    if (n == 0) {
        drop("the relay closed the connection");
        return true;
    }
    if (n < 0) {
        drop(std::string("the connection failed: ") + strerror(errno));
        return true;
    }
    // Something to read: end the body and let lws read the answer (with TLS too: mbedtls
    // speaks TLS 1.2, which sends nothing unasked after the handshake). It reaches us as
    // ESTABLISHED_CLIENT_HTTP, or as a connection error.
    answered_ = true;
    phase_why_ = "the relay began an answer and did not finish it within " + seconds(kAnswerMs);
    phase_timer_.start_ms(kAnswerMs);
    lws_client_http_body_pending(wsi, 0);
    return true;
}

void Upload::pump() {
    if (streaming_ && wsi_ && !answered_) {
        lws_callback_on_writable(wsi_);
    } else {
        // Nobody to send to: what waits would only be stale when the link is back.
        discard_all();
    }
}

int Upload::write_next(lws* wsi) {
    const uint8_t* data;
    size_t len;
    RecordMeta meta;
    if (relay_answered(wsi)) return 0;
    const int64_t now = mono_us();
    while (ring_.front(&data, &len, &meta)) {
        if (now - meta.capture_us > kMaxAgeUs && !need_keyframe_) {
            need_keyframe_ = true;
            want_keyframe_();
            if (now - last_skip_log_us_ > kSkipLogUs) {
                last_skip_log_us_ = now;
                LOGI(log_, name_.c_str(),
                     "skipping to a fresh keyframe: the relay is %lld ms behind (%llu skipped "
                     "so far)",
                     static_cast<long long>((now - meta.capture_us) / 1000),
                     static_cast<unsigned long long>(stats_.skipped));
            }
        }
        if (need_keyframe_ && !meta.keyframe) {
            ring_.pop();
            ++stats_.skipped;
            continue;
        }
        if (need_keyframe_ && now - meta.capture_us > kMaxAgeUs) {
            ring_.pop();  // a stale keyframe: wait for a fresh one
            ++stats_.skipped;
            continue;
        }
        need_keyframe_ = false;
        // One HTTP chunk: size in hex, CRLF, the record, CRLF.
        char head[24];
        const int head_len = snprintf(head, sizeof head, "%zx\r\n", len);
        const size_t total = size_t(head_len) + len + 2;
        buf_.resize(LWS_PRE + total);
        unsigned char* p = buf_.data() + LWS_PRE;
        memcpy(p, head, size_t(head_len));
        memcpy(p + head_len, data, len);
        memcpy(p + head_len + len, "\r\n", 2);
        if (lws_write(wsi, p, total, LWS_WRITE_HTTP) < static_cast<int>(total)) {
            drop("write failed");
            return -1;
        }
        stats_.latency.add(mono_us() - meta.capture_us);
        ++stats_.records;
        stats_.bytes += len;
        last_progress_us_ = mono_us();
        ring_.pop();
        // One record per writable callback: lws holds what the socket did not take, and
        // calls back only when it is gone, so nothing piles up here.
        if (has_record()) lws_callback_on_writable(wsi);
        return 0;
    }
    return 0;
}

int Upload::on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
    switch (reason) {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
            auto** p = static_cast<unsigned char**>(in);
            unsigned char* end = *p + len;  // lws' room, not a guess
            static const char te[] = "chunked", ct[] = "video/mp2t";
            if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
                                             reinterpret_cast<const unsigned char*>(te),
                                             sizeof te - 1, p, end) ||
                lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                             reinterpret_cast<const unsigned char*>(ct),
                                             sizeof ct - 1, p, end))
                return -1;
            lws_client_http_body_pending(wsi, 1);
            lws_callback_on_writable(wsi);
            return 0;
        }
        case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
            if (!streaming_) {
                // lws arms a body timeout once and never refreshes it; this body never ends.
                lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
                setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &kSendBuffer,
                           sizeof kSendBuffer);
                streaming_ = true;
                phase_timer_.cancel();
                streaming_since_us_ = mono_us();
                recovering_ = retry_.failures() > 0;
                if (recovering_) outage_text_ = retry_.outage_text();
                retry_.succeeded();
                need_keyframe_ = true;
                ++stats_.connects;
                last_progress_us_ = mono_us();
                discard_all();  // older than this connection: start fresh at a keyframe
                want_keyframe_();
                watchdog_.start_ms(kWatchdogMs);
                // During an outage a connection proves little (a wrong key is refused only
                // now): the owner hears of it once it has lasted (check_healthy()).
                if (recovering_)
                    LOGD(log_, name_.c_str(), "connected to %s, attempt %u", url_.str().c_str(),
                         retry_.failures() + 1);
                else
                    LOGI(log_, name_.c_str(), "uploading to %s", url_.str().c_str());
                check_healthy();
                return 0;
            }
            return write_next(wsi);
        case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
            // The jsmpeg relay answers only when a POST ends: an answer now is a refusal.
            const std::string redirect = refused_redirect(wsi);
            if (!redirect.empty()) {
                drop("the relay " + redirect +
                         ": the info server must name the relay's final address",
                     true);
                return -1;
            }
            const unsigned status = lws_http_client_http_response(wsi);
            drop("the relay answered HTTP " + std::to_string(status));
            return -1;
        }
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
            char buf[LWS_PRE + 1024];
            char* px = buf + LWS_PRE;
            int lenx = static_cast<int>(sizeof buf - LWS_PRE);
            return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
        }
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
            forget_client(wsi, &wsi_);
            drop(connection_error(in));
            return 0;
        }
        case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
            forget_client(wsi, &wsi_);
            drop("the relay closed the connection");
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:  // freed without a close callback first
            if (wsi != wsi_) return 0;
            forget_client(wsi, &wsi_);
            drop("the connection to the relay ended");
            return 0;
        default:
            return 0;
    }
}

int upload_callback(lws* wsi, lws_callback_reasons reason, void*, void* in, size_t len) {
    auto* upload = static_cast<Upload*>(lws_get_opaque_user_data(wsi));
    if (!upload) return 0;
    return upload->on_event(wsi, reason, in, len);
}

}  // namespace robotd
