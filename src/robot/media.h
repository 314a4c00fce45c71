// The robot's video and audio: one encoder thread per stream (media/) feeding one chunked
// upload per stream (net/upload) to the relay discovery names; on and off as asked.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "media/stream.h"
#include "net/upload.h"
#include "robot/discovery.h"

namespace robotd {

struct MediaOptions {
    // Opens the capture sources; empty: the real ones (tests pass a fake camera).
    media::SourceOpener open_source;
    // How long ~Media waits for the stream threads (see ~Media).
    uint32_t exit_wait_ms = 2000;
};
// What Media needs from discovery: the relay's host and ports, and a way to look them up
// again when an upload keeps failing.
struct MediaRelay {
    std::function<const Endpoints&()> endpoints;
    std::function<void(LookupId)> refresh;
};

// Nothing here waits for a device on the event loop: a stop (VIDOFF, a new size, a changed
// config) closes the upload at once and asks the stream's thread to end; the thread says
// when it has (the loop's wake), and only then is it joined, which is instant. A stream that
// is to start again waits for its old thread to end first, so a device is never opened
// twice at once.
class Media {
  public:
    Media(Loop& loop, const Config& config, Discovery& discovery, MediaOptions options = {});
    Media(Loop& loop, const Config& config, MediaRelay relay, MediaOptions options = {});
    // Closes the uploads, asks both threads to end and waits for them, up to
    // MediaOptions::exit_wait_ms in all (2 s; a thread normally ends within a frame). A thread
    // still inside the kernel after that (a camera that stopped answering) cannot be waited
    // for without holding robotd's exit forever, nor left behind safely (it logs through the
    // daemon's Logger and wakes the loop's context, both about to be destroyed): robotd logs
    // which device it is stuck in and exits at once with status 74 (EX_IOERR). The sessions
    // are destroyed before Media (see Daemon), so the driver's final stop has been sent by
    // then. The only call here that waits: for SIGHUP use reconfigure(), not a new Media.
    ~Media();
    Media(const Media&) = delete;
    Media& operator=(const Media&) = delete;

    // Discovery learnt the relay host or a port: (re)aim the uploads.
    void resolved(LookupId id);
    void set_video(bool on);                      // VIDON / VIDOFF
    void apply_settings(const RobotSettings& s);  // size change restarts video; mic off stops audio
    // After SIGHUP, once the Config object this Media refers to holds the new file: compares
    // what each stream runs with (its capture settings and upload URL) with what the config
    // now asks for, and re-applies only the difference: a stream whose capture settings
    // changed (device, size from the file, bitrate, gop, ring, format, m2m, audio rate and
    // channels) restarts; one whose upload URL alone changed (stream_key, discovered_scheme)
    // reconnects its upload and keeps its thread; no_camera / no_mic start or stop a stream.
    // VIDON/VIDOFF, the server's size and mic_enabled, and the owner's camera controls
    // stand (a size changed in the file replaces the server's until it sends another). An
    // unchanged config changes nothing. True when something was restarted, reconnected,
    // started or stopped. Returns at once, like every call here but ~Media.
    bool reconfigure();
    // The TLS settings changed (SIGHUP): https uploads reconnect with the new ones, so the
    // retired settings' vhost can go. Returns at once.
    void tls_changed();
    bool video_running() const;
    // The owner's camera control (brightness|contrast|saturation, 0..100 %): handed to the
    // running camera's thread, and kept for every later start of video (VIDON, a new size, a
    // reopened camera, a config change) until robotd exits. Dropped, with a log line, when
    // there is no camera. Returns at once; the outcome goes to the log.
    void set_camera_control(const std::string& name, int percent);
    // Stream threads not yet joined (running, or asked to stop and not yet ended).
    int threads() const;

  private:
    struct Stream {
        media::StreamKind kind;
        std::unique_ptr<media::MediaStream> encoder;  // the current one
        std::unique_ptr<Upload> upload;
        // Asked to stop, not yet ended: joined once it says it has. At most one per kind,
        // since a start waits for it.
        std::unique_ptr<media::MediaStream> retiring;
        bool wanted = false;       // config and settings allow it (and, for video, VIDON)
        bool start_waits = false;  // a start waits for `retiring` (and said so)
    };
    media::StreamSettings settings_for(media::StreamKind kind) const;
    // Starts or stops to match `wanted` and what discovery knows; a start waits while the
    // old thread has not ended.
    void update(Stream& s);
    void start(Stream& s, const Url& url);
    // Closes the upload and asks the thread to end (it is joined by reap()).
    void retire(Stream& s);
    // Joins the retiring thread if it has ended; true when it just was.
    bool reap(Stream& s);
    std::optional<Url> upload_url(const Stream& s) const;

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    MediaRelay relay_;
    MediaOptions options_;
    int width_, height_;
    int config_width_, config_height_;  // the file's size, to notice when SIGHUP changes it
    bool video_on_ = true;              // VIDON / VIDOFF
    bool mic_enabled_ = true;
    media::CameraControls controls_;  // the owner's wanted values, for each new video stream
    Stream video_{media::StreamKind::Video}, audio_{media::StreamKind::Audio};
    uint64_t wake_id_ = 0;
};

}  // namespace robotd
