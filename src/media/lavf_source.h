// Capture from any libavdevice/libavformat input (lavfi test patterns, v4l2, alsa, pulse, a
// file): demuxed, decoded, converted to the stream's format and paced to real time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/log.h"
#include "media/source.h"

namespace robotd::media {

// Whether libav knows `name` as an input format (libavdevice's devices included).
bool is_lavf_input_format(const std::string& name);

std::unique_ptr<Source> open_lavf_video(const std::string& format, const std::string& url,
                                        int width, int height, int fps, Logger& log,
                                        std::string* error);
std::unique_ptr<Source> open_lavf_audio(const std::string& format, const std::string& url,
                                        int sample_rate, int channels, Logger& log,
                                        std::string* error);

// Maps an input's timestamps onto the monotonic clock.
// due_us() paces an input that runs faster than real time (lavfi, a file): the first frame is
// due at once, later ones at their timestamp's distance from it; a jump of the timestamps, or
// a reader so late that catching up would burst, starts over (re-anchors).
// live_us() only dates the frames of a live device (v4l2, alsa via libav), which arrive in
// real time by themselves: holding them to the first frame's arrival would keep whatever
// latency that one had forever, so the least delayed arrival seen sets the offset instead.
class Pacer {
  public:
    static constexpr int64_t kMaxAheadUs = 2000000;  // a frame due later than this: a jump
    static constexpr int64_t kMaxLateUs = 500000;    // later than this: give up catching up

    // When the frame stamped pts_us (stream time, µs; INT64_MIN if unknown) is due.
    int64_t due_us(int64_t pts_us, int64_t now_us);
    // When the live frame stamped pts_us was captured (<= now_us).
    int64_t live_us(int64_t pts_us, int64_t now_us);
    int anchors() const { return anchors_; }

  private:
    void anchor(int64_t pts_us, int64_t now_us);

    bool anchored_ = false;
    int64_t base_pts_us_ = 0, base_mono_us_ = 0;
    int64_t last_pts_us_ = 0;
    int anchors_ = 0;
};

}  // namespace robotd::media
