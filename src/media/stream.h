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
#include <string>
#include <thread>

#include "core/log.h"
#include "media/camera_controls.h"
#include "core/ring.h"
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
};

// The ring's consumer is the event loop; everything else happens on the stream's thread.
// A full ring drops whole encoded frames (video: every frame up to the next keyframe, which
// is requested once the ring has room for one), so the consumer never gets a frame whose
// reference it did not get, memory stays fixed and the encoder never waits.
class MediaStream {
  public:
    // `wake` is called (on the stream's thread) after each record is pushed: the daemon passes
    // a function that calls lws_cancel_service() so the upload on the event loop drains the
    // ring.
    MediaStream(StreamSettings s, Logger& log, std::function<void()> wake);
    ~MediaStream();  // stop()
    MediaStream(const MediaStream&) = delete;
    MediaStream& operator=(const MediaStream&) = delete;

    void start();  // spawns the thread; returns at once; no-op while it runs
    void stop();   // interrupts the source, joins; safe to call twice
    bool running() const { return running_.load(); }  // source open, encoding
    PacketRing& ring() { return ring_; }
    const StreamStats& stats() const { return stats_; }
    void request_keyframe() { keyframe_wanted_.store(true); }  // any thread
    const StreamSettings& settings() const { return settings_; }
    // Video: records a camera control's wanted value (brightness|contrast|saturation, 0..100
    // %) and applies it to the open camera, if any; every camera opened later gets it too (a
    // replugged one). Any thread; takes as long as one control ioctl, never a frame's wait.
    // The outcome goes to the log; false when rejected (unknown control, out of range, audio).
    bool set_control(const std::string& name, int percent);

  private:
    enum class PumpEnd { Stopped, SourceFailed, EncoderFailed };

    void run();
    // Reads, encodes and pushes until the source or the encoder fails (error set) or stop().
    PumpEnd pump(Source& source, TsEncoder& encoder, std::string* error);
    // Takes one encoded frame's TS bytes: into the ring, or dropped and counted.
    void deliver(TsEncoder& encoder, const uint8_t* data, size_t len, const RecordMeta& meta);
    std::unique_ptr<Source> open_source(std::string* error);
    std::unique_ptr<TsEncoder> open_encoder(std::string* error);
    // Sets one control on `source` and logs the outcome. Called with mutex_ held.
    void apply_control(Source& source, const std::string& name, int percent);
    // Logs a failure at warning level when it differs from the previous one, else at debug
    // level, so a camera that stays unplugged does not fill the log.
    void note_failure(const std::string& what);
    // Waits up to `ms` for stop(); true when stopping.
    bool wait_for_stop(uint32_t ms);
    const char* tag() const;

    const StreamSettings settings_;
    Logger& log_;
    const std::function<void()> wake_;
    PacketRing ring_;
    StreamStats stats_;

    std::atomic<bool> running_{false};
    std::atomic<bool> keyframe_wanted_{false};

    // Guards stop_ for the backoff wait, source_ so stop() can interrupt a blocking read and
    // set_control() can reach the camera on a source that the thread may be about to destroy,
    // and controls_.
    std::mutex mutex_;
    std::condition_variable stop_cv_;
    bool stop_ = false;
    Source* source_ = nullptr;
    CameraControls controls_;            // wanted values, applied at every open
    std::atomic<bool> stopping_{false};  // stop_ for the hot loop, without the mutex

    // Stream thread only.
    std::string last_failure_;
    bool dropping_ = false;            // video: dropping until a keyframe fits
    bool keyframe_requested_ = false;  // for this drop episode, not yet delivered
    size_t keyframe_bytes_ = 0;        // size of the last keyframe record seen
    uint64_t episode_drops_ = 0;

    std::thread thread_;
};

}  // namespace robotd::media
