// One long-lived chunked HTTP(S) POST of MPEG-TS to the relay, on the loop, fed from a
// media thread's ring; resumes at a keyframe after every reconnect.
#pragma once

#include <libwebsockets.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/retry.h"
#include "core/ring.h"
#include "core/url.h"
#include "net/loop.h"
#include "net/retry_timer.h"

namespace robotd {

// Capture-to-wire latencies in 1 ms buckets up to 2 s, for p50/p99 without storing samples.
class LatencyHistogram {
  public:
    void add(int64_t us);
    uint64_t count() const { return count_; }
    // The latency below which `p` (0..1) of the samples fall, in ms; -1 without samples.
    int percentile_ms(double p) const;

  private:
    std::array<uint64_t, 2001> buckets_{};  // the last one holds everything >= 2 s
    uint64_t count_ = 0;
};

// What the upload logs about one failed attempt, by RetryPolicy::Report: the first failure of
// an outage at warning, then a summary at the policy's growing intervals, the rest at debug,
// so a dead relay writes a few lines a day, not one per attempt. `lost`: what failed had
// been streaming; `outage`: RetryTimer::outage_text().
struct UploadLogLine {
    LogLevel level;
    std::string text;
};
UploadLogLine upload_failure_line(const std::string& url, const RetryPolicy::Step& step,
                                  const std::string& outage, const std::string& why, bool lost);

class Upload {
  public:
    struct Stats {
        uint64_t records = 0, bytes = 0, skipped = 0, connects = 0;
        LatencyHistogram latency;
    };

    // An upload counts as having worked (backoff starts over) only after streaming 5 s: a
    // relay that refuses at once (a wrong stream key) must not be retried twice a second.
    static constexpr RetryRules kRetry{500, 30000, 5000};

    // One attempt (resolve, TCP, TLS, request) must reach streaming within this; a relay that
    // answers mid-body must finish its answer within kAnswerMs. lws's own timeout is only a
    // far backstop (net/loop.cpp).
    static constexpr uint32_t kConnectMs = 10000;
    static constexpr uint32_t kAnswerMs = 5000;

    // `want_keyframe` asks the encoder for a keyframe (after a reconnect or a skip);
    // `connect_ms` replaces kConnectMs (tests).
    Upload(Loop& loop, std::string name, PacketRing& ring, std::function<void()> want_keyframe,
           RetryRules rules = kRetry, uint32_t connect_ms = kConnectMs);
    ~Upload();
    Upload(const Upload&) = delete;
    Upload& operator=(const Upload&) = delete;

    // Streams to `url` (scheme, host, port and path) until close(), reconnecting forever.
    void open(const Url& url);
    void close();
    bool open_requested() const { return !closed_; }
    bool streaming() const { return streaming_; }
    const Url& url() const { return url_; }
    // The ring has new records (called on every loop wake).
    void pump();
    // After each failed attempt in a row: 3 means "look the relay up again".
    void on_failing(std::function<void(int)> fn) { on_failing_ = std::move(fn); }
    const Stats& stats() const { return stats_; }
    // One line for the log: records, bytes, skips, latency p50/p99.
    std::string summary() const;

    int on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  private:
    void attempt();
    void check_healthy();
    void connect(const std::string& address);
    // `refused`: the relay said why (no guessing from how soon it ended).
    void drop(const std::string& why, bool refused = false);
    void detach();
    void discard_all();
    bool has_record();
    int write_next(lws* wsi);
    // The relay answers only when a POST ends, so anything from it now ends the upload: true
    // when it spoke (lws now reads its answer) or closed (dropped).
    bool relay_answered(lws* wsi);

    Loop& loop_;
    Logger& log_;
    std::string name_;
    PacketRing& ring_;
    std::function<void()> want_keyframe_;
    std::function<void(int)> on_failing_;
    Url url_;
    bool closed_ = true;
    bool streaming_ = false;  // headers sent, body flowing
    bool answered_ = false;   // the relay spoke mid-body: lws is reading its answer
    bool need_keyframe_ = true;
    ResolveRequest resolve_;
    lws* wsi_ = nullptr;
    std::string path_, host_header_, address_;
    std::vector<unsigned char> buf_;
    int64_t last_progress_us_ = 0;
    int64_t streaming_since_us_ = 0;
    int64_t last_skip_log_us_ = 0;
    // Connected again during an outage: the recovery line waits until the link is healthy.
    bool recovering_ = false;
    std::string outage_text_;
    RetryTimer retry_;
    Timer watchdog_;
    // Bounds the phase before streaming, then the relay's answer once it speaks mid-body.
    uint32_t connect_ms_;
    std::string phase_why_;
    Timer phase_timer_;
    Stats stats_;
};

}  // namespace robotd
