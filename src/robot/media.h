// The robot's video and audio: one encoder thread per stream (media/) feeding one chunked
// upload per stream (net/upload) to the relay discovery names; on and off as asked.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "media/stream.h"
#include "net/upload.h"
#include "robot/discovery.h"

namespace robotd {

class Media {
  public:
    Media(Loop& loop, const Config& config, Discovery& discovery);
    ~Media();  // stops the threads, logs each stream's figures
    Media(const Media&) = delete;
    Media& operator=(const Media&) = delete;

    // Discovery learnt the relay host or a port: (re)aim the uploads.
    void resolved(LookupId id);
    void set_video(bool on);                      // VIDON / VIDOFF
    void apply_settings(const RobotSettings& s);  // size change restarts video; mic off stops audio
    bool video_running() const;
    // The owner's camera control (brightness|contrast|saturation, 0..100 %): applied to the
    // running camera, and kept for every later start of video (VIDON, a new size, a reopened
    // camera) until robotd exits or re-reads its config. Dropped, with a log line, when
    // there is no camera. Returns at once; the outcome goes to the log.
    void set_camera_control(const std::string& name, int percent);

  private:
    struct Stream {
        media::StreamKind kind;
        std::unique_ptr<media::MediaStream> encoder;
        std::unique_ptr<Upload> upload;
        bool wanted = false;  // config and settings allow it (and, for video, VIDON)
    };
    media::StreamSettings settings_for(media::StreamKind kind) const;
    void update(Stream& s);  // starts or stops to match `wanted` and what discovery knows
    void stop(Stream& s);
    std::optional<Url> upload_url(const Stream& s) const;

    Loop& loop_;
    Logger& log_;
    const Config& config_;
    Discovery& discovery_;
    int width_, height_;
    bool mic_enabled_ = true;
    media::CameraControls controls_;  // the owner's wanted values, for each new video stream
    Stream video_{media::StreamKind::Video, nullptr, nullptr},
        audio_{media::StreamKind::Audio, nullptr, nullptr};
    uint64_t wake_id_ = 0;
};

}  // namespace robotd
