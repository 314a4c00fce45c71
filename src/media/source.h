// Capture sources: one interface over every camera and microphone input (native V4L2 and ALSA,
// or any libavdevice/libavformat input), and the factories keyed by the config's device string.
#pragma once

extern "C" {
#include <libavutil/frame.h>
}

#include <cstdint>
#include <memory>
#include <string>

#include "core/log.h"

namespace robotd::media {

class Source {  // one per stream; read() runs on the stream's thread and may block
  public:
    virtual ~Source() = default;
    virtual std::string describe() const = 0;
    // Next frame. Video: AV_PIX_FMT_YUV420P at the opened width x height. Audio:
    // AV_SAMPLE_FMT_S16 interleaved at the opened rate/channels, any nb_samples.
    // *capture_us = mono_us() at capture (of the first sample, for audio).
    // false on error or EOF (error set), or soon after interrupt() (error = "interrupted").
    // The frame's buffers are reference-counted: the caller may keep them as long as it likes.
    virtual bool read(AVFrame* frame, int64_t* capture_us, std::string* error) = 0;
    virtual void interrupt() = 0;  // any thread; sticky: every later read() fails too

    // Optional: camera controls (brightness|contrast|saturation, 0..100 % of the control's
    // range). Callable from any thread while the source exists.
    virtual bool set_control(const std::string& name, int value_percent, std::string* error) {
        (void)name;
        (void)value_percent;
        *error = "camera controls are not supported by " + describe();
        return false;
    }
    // Optional: capture data lost because it was not read in time (ALSA overruns; camera
    // frames the driver dropped or that a newer frame replaced). Any thread.
    virtual uint64_t overruns() const { return 0; }
};

// How a native camera is taken (the config's [media] camera_format and m2m).
struct VideoOptions {
    std::string camera_format;  // fourcc to insist on; "" = the cheapest the camera offers
    std::string m2m = "auto";   // a V4L2 M2M converter: "auto", "off" or a device path
};

std::unique_ptr<Source> open_video_source(const std::string& device, int width, int height, int fps,
                                          Logger& log, std::string* error,
                                          const VideoOptions& options = {});
std::unique_ptr<Source> open_audio_source(const std::string& device, int sample_rate, int channels,
                                          Logger& log, std::string* error);

// The config's mic_device, or "hw:" + mic_num ("1,0") when mic_device is empty.
std::string mic_device_or_num(const std::string& mic_device, const std::string& mic_num);

// "name" when `device` has the syntactic form name:rest with name made of [A-Za-z0-9_] (a
// candidate libav input format); "" otherwise (paths, "default", "USB Audio", ...).
std::string format_prefix(const std::string& device);

}  // namespace robotd::media
