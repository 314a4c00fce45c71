// One media stream's thread: capture source -> encoder -> MPEG-TS mux -> ring, kept running
// through vanished devices and full rings, so the event loop only ever drains the ring.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "core/log.h"
#include "core/retry.h"
#include "core/ring.h"
#include "media/camera_controls.h"
#include "media/source.h"

namespace robotd::media {

class Source;
class TsEncoder;

enum class StreamKind { Video, Audio };

struct StreamSettings {
    StreamKind kind = StreamKind::Video;
    std::string device;  // "/dev/video0", "hw:1,0", "lavfi:testsrc=...", ...
    int width = 640, height = 480, fps = 25, gop = 25;  // video
    int bitrate_kbps = 350;                             // video or audio, per kind
    int sample_rate = 44100, channels = 1;              // audio
    size_t ring_bytes = 1 << 20;
    CameraControls controls;     // video: wanted from the start (see MediaStream::set_control)
    VideoOptions video_options;  // video: a native camera's format and M2M converter
};

// Counters for status reports and tests; written by the stream thread, read anywhere.
struct StreamStats {
    std::atomic<uint64_t> frames{0};         // encoded frames pushed into the ring
    std::atomic<uint64_t> dropped{0};        // encoded frames dropped (ring full)
    std::atomic<uint64_t> bytes{0};          // TS bytes pushed into the ring
    std::atomic<uint64_t> source_errors{0};  // failed opens and failed reads
    std::atomic<uint64_t> restarts{0};       // reopens after a source failed mid-stream
    std::atomic<uint64_t> controls{0};       // camera control settings tried (applied or not)
};

// The names of the capture settings that differ between `a` and `b` ("device, size"), or ""
// when a stream made with `a` captures just as one made with `b` would. `controls` are left
// out: a running stream takes them without a restart.
std::string capture_changes(const StreamSettings& a, const StreamSettings& b);

// The bitrates the encoders take, the same as the config's [ffmpeg] video_bitrate and
// audio_bitrate accept (config.cpp): video 1..100000 kbit/s (MPEG-1 states the rate in 18 bits
// of 400 bit/s), audio one of MPEG-1 Layer II's rates at 32, 44.1 and 48 kHz. "" when `kbps`
// is one, else why not.
inline constexpr int kVideoBitrateMinKbps = 1, kVideoBitrateMaxKbps = 100000;
std::string check_bitrate(StreamKind kind, int kbps);

// Opens the capture source for `s` (the factories of media/source.h by default). Runs on the
// stream's thread and may block as long as the device takes.
using SourceOpener = std::function<std::unique_ptr<Source>(const StreamSettings& s, Logger& log,
                                                           std::string* error)>;

struct StreamOptions {
    SourceOpener open_source;  // empty: open_video_source / open_audio_source
    // A source that ran this long is retried soon; one that fails right after every open (a
    // flapping USB camera) keeps backing off, and so keeps the log quiet.
    RetryRules retry{1000, 30000, 10000};
};

// The ring's consumer is the event loop; everything else happens on the stream's thread:
// device opens (a V4L2 open and M2M probe can take seconds), reads, encoding and camera
// control ioctls (a UVC camera can hold one for seconds). The loop only asks (start,
// request_stop, set_control) and is told (the wake function), so it never waits on a device.
// A full ring drops whole encoded frames (video: every frame up to the next keyframe, which
// is requested once the ring has room for one), so the consumer never gets a frame whose
// reference it did not get, memory stays fixed and the encoder never waits.
class MediaStream {
  public:
    // `wake` is called on the stream's thread after each record is pushed, and once more as
    // the thread's last act (ended() is true by then): the daemon passes a function that calls
    // lws_cancel_service(), so the loop drains the ring and reaps an ended thread.
    MediaStream(StreamSettings s, Logger& log, std::function<void()> wake,
                StreamOptions options = {});
    // stop(): blocks until the thread ends. An owner on the event loop destroys a stream only
    // once ended() (or at exit, with a bound: see robot/media.h).
    ~MediaStream();
    MediaStream(const MediaStream&) = delete;
    MediaStream& operator=(const MediaStream&) = delete;

    // Spawns the thread and returns at once. A no-op while a thread runs; a thread that has
    // ended is joined first (instant).
    void start();
    // Asks the thread to end and returns at once, from any thread: a blocked read is
    // interrupted; an open or a control ioctl in progress is let finish (nothing can cut it
    // short), then the thread closes the device and ends. Safe to call any number of times.
    void request_stop();
    // No thread runs: never started, or it has ended, so joining it is instant.
    bool ended() const { return ended_.load(); }
    // Joins the thread if it has ended (instant) and returns true when no thread is left;
    // false, without waiting, while it runs. The event loop's way to finish a stop.
    bool reap();
    // Waits up to `ms` for the thread to end (robotd's exit, tests); true when it has.
    bool wait_ended(uint32_t ms);
    // request_stop(), then waits for the thread and joins it. Blocks: not for the loop.
    void stop();

    bool running() const { return running_.load(); }  // source open, encoding
    PacketRing& ring() { return ring_; }
    const StreamStats& stats() const { return stats_; }
    void request_keyframe() { keyframe_wanted_.store(true); }  // any thread
    const StreamSettings& settings() const { return settings_; }
    // Video: records a camera control's wanted value (brightness|contrast|saturation, 0..100
    // %) and returns at once, from any thread. The stream's thread applies it to the open
    // camera before its next frame, and to every camera opened later (a replugged one), and
    // logs the outcome. False, with a log line, when rejected (unknown control, out of range,
    // audio).
    bool set_control(const std::string& name, int percent);
    // Audio: muted, the stream goes on and carries silence (see TsEncoder::set_silent) from
    // the next encoded frame (26 ms at 44.1 kHz); unmuted, the microphone's sound again. Any
    // thread, before start() too; kept across start() and source reopens. No effect on video.
    void set_muted(bool muted) { muted_.store(muted); }
    bool muted() const { return muted_.load(); }

  private:
    enum class PumpEnd { Stopped, SourceFailed, EncoderFailed };

    void run();
    // Reads, encodes and pushes until the source or the encoder fails (error set) or a stop
    // is asked; applies camera controls asked meanwhile between frames.
    PumpEnd pump(Source& source, TsEncoder& encoder, std::string* error);
    // Takes one encoded frame's TS bytes: into the ring, or dropped and counted.
    void deliver(TsEncoder& encoder, const uint8_t* data, size_t len, const RecordMeta& meta);
    std::unique_ptr<Source> open_source(std::string* error);
    std::unique_ptr<TsEncoder> open_encoder(std::string* error);
    // Stream thread: applies the controls asked since the last call (all wanted ones when
    // `all`, for a camera just opened) and logs each outcome.
    void apply_controls(Source& source, bool all);
    // Stream thread: logs a failure as the retry policy says (the first of an outage, then
    // summaries at growing intervals) and returns the delay before the next attempt.
    uint32_t note_failure(const std::string& what);
    // Stream thread: logs the end of an outage once the source has streamed long enough to
    // count as healthy (so a camera that fails right after every open does not log it).
    void note_healthy();
    // Waits up to `ms` for a stop request; true when stopping.
    bool wait_for_stop(uint32_t ms);
    const char* tag() const;

    const StreamSettings settings_;
    Logger& log_;
    const std::function<void()> wake_;
    const StreamOptions options_;
    PacketRing ring_;
    StreamStats stats_;

    std::atomic<bool> running_{false};
    std::atomic<bool> keyframe_wanted_{false};
    std::atomic<bool> ended_{true};

    // Guards stop_ for the backoff wait and ended_cv_, source_ so request_stop() can interrupt
    // a blocking read of a source the thread may be about to destroy, and the controls.
    std::mutex mutex_;
    std::condition_variable stop_cv_;
    std::condition_variable ended_cv_;
    bool stop_ = false;
    Source* source_ = nullptr;
    CameraControls controls_;                // wanted values, applied at every open
    CameraControls pending_;                 // asked while a camera is open, not yet applied
    std::atomic<bool> pending_flag_{false};  // pending_ is not empty (read without the mutex)
    std::atomic<bool> stopping_{false};      // stop_ for the hot loop, without the mutex
    std::atomic<bool> muted_{false};         // audio: encode silence (read per frame)

    // Stream thread only.
    RetryPolicy retry_;
    std::minstd_rand rng_;
    bool opened_once_ = false;         // this thread has streamed: later opens are reopens
    bool outage_reported_ = false;     // a failure was logged; its end is not yet
    int64_t opened_us_ = 0;            // when the current source opened
    std::string outage_text_;          // "N attempts over T", at the open that ended it
    bool dropping_ = false;            // video: dropping until a keyframe fits
    bool keyframe_requested_ = false;  // for this drop episode, not yet delivered
    size_t keyframe_bytes_ = 0;        // size of the last keyframe record seen
    uint64_t episode_drops_ = 0;

    std::thread thread_;
};

}  // namespace robotd::media
