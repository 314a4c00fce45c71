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
    // The owner's ".audio start|stop": like VIDON / VIDOFF for audio. Stands across config
    // re-reads and the server's settings; audio runs only when this, the site's mic_enabled
    // and the config's no_mic all allow it (a start that one of them holds off says which).
    void set_audio(bool on);
    // The owner's ".video restart" / ".audio restart": the stream's thread and upload start
    // afresh (the old thread retires and is joined once it has ended, as in every stop here).
    // A stream that is off stays off, and the log says why.
    void restart(media::StreamKind kind);
    // The owner's ".video bitrate N" / ".audio bitrate N" (kbit/s): checked as the config's
    // [ffmpeg] video_bitrate / audio_bitrate are (media::check_bitrate); a bad one is a log
    // line and changes nothing (false). A good one is kept for every later start until robotd
    // exits and applied at once by restarting the stream if it runs; a SIGHUP that changes
    // the file's value replaces it (as a size in the file replaces the server's).
    bool set_bitrate(media::StreamKind kind, int kbps);
    // The owner's ".mic mute|unmute": while muted the audio stream goes on and carries
    // silence (viewers keep their audio clock and nothing reconnects on unmute); kept across
    // restarts of the audio stream until robotd exits.
    void set_mic_muted(bool muted);
    // After SIGHUP, once the Config object this Media refers to holds the new file: compares
    // what each stream runs with (its capture settings and upload URL) with what the config
    // now asks for, and re-applies only the difference: a stream whose capture settings
    // changed (device, size from the file, bitrate, gop, ring, format, m2m, audio rate and
    // channels) restarts; one whose upload URL alone changed (stream_key, discovered_scheme)
    // reconnects its upload and keeps its thread; no_camera / no_mic start or stop a stream.
    // VIDON/VIDOFF, the server's size and mic_enabled, and the owner's camera controls,
    // .audio stop, bitrates and .mic mute stand (a size changed in the file replaces the
    // server's until it sends another; a bitrate changed in the file replaces the owner's). An
    // unchanged config changes nothing. True when something was restarted, reconnected,
    // started or stopped. Returns at once, like every call here but ~Media.
    bool reconfigure();
    // The TLS settings changed (SIGHUP): https uploads reconnect with the new ones, so the
    // retired settings' vhost can go. Returns at once.
    void tls_changed();
    bool video_running() const;
    // For the status line: "video and audio streaming", "video streaming; audio waiting for
    // the relay", "audio starting", "video off" (streaming: the encoder runs and its upload
    // carries it to the relay).
    std::string status() const;
    // The owner's camera control (brightness|contrast|saturation, 0..100 %): handed to the
    // running camera's thread, and kept for every later start of video (VIDON, a new size, a
    // reopened camera, a config change) until robotd exits. Dropped, with a log line, when
    // there is no camera. Returns at once; the outcome goes to the log.
    void set_camera_control(const std::string& name, int percent);
    // Stream threads not yet joined (running, or asked to stop and not yet ended).
    int threads() const;
    // The current stream of that kind (not one retiring), or null: for tests and status.
    const media::MediaStream* stream(media::StreamKind kind) const;

  private:
    struct Stream {
        media::StreamKind kind;
        std::unique_ptr<media::MediaStream> encoder;  // the current one
        std::unique_ptr<Upload> upload;
        // Asked to stop, not yet ended: joined once it says it has. At most one per kind,
        // since a start waits for it.
        std::unique_ptr<media::MediaStream> retiring;
        bool wanted = false;               // config and settings allow it (and, for video, VIDON)
        bool start_waits = false;          // a start waits for `retiring` (and said so)
        std::optional<int> kbps_override;  // the owner's bitrate, over the config's
        int config_kbps = 0;               // the file's bitrate, to notice when SIGHUP changes it
    };
    Stream& stream_of(media::StreamKind kind) {
        return kind == media::StreamKind::Video ? video_ : audio_;
    }
    // Why a stream is not wanted, for the owner: "video is off (VIDOFF or .video stop)".
    std::string off_reason(const Stream& s) const;
    // What a stream's `wanted` follows: the config, VIDON/VIDOFF or .audio, the site's mic.
    bool video_allowed() const { return video_on_ && !config_.camera.no_camera; }
    bool audio_allowed() const { return audio_on_ && mic_enabled_ && !config_.camera.no_mic; }
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
    bool mic_enabled_ = true;           // the site's robot setting
    bool audio_on_ = true;              // .audio start / stop
    bool mic_muted_ = false;            // .mic mute / unmute
    media::CameraControls controls_;    // the owner's wanted values, for each new video stream
    Stream video_{media::StreamKind::Video}, audio_{media::StreamKind::Audio};
    uint64_t wake_id_ = 0;
};

}  // namespace robotd
