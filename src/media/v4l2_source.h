// Native V4L2 camera capture: mmap streaming in the cheapest format the camera offers at the
// stream's size (YUV420, YUYV, ..., MJPEG), converted to YUV420P; camera controls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "media/source.h"

namespace robotd::media {

// Opens a V4L2 capture device (a path such as /dev/video0 or /dev/v4l/by-id/...).
std::unique_ptr<Source> open_v4l2_source(const std::string& path, int width, int height, int fps,
                                         Logger& log, std::string* error,
                                         const VideoOptions& options = {});

// The pixel formats we can take, cheapest first: YUV420 needs one copy, the packed and
// semi-planar ones a swscale pass, (M)JPEG a decode and a swscale pass.
std::vector<uint32_t> v4l2_format_preference();

// What the driver answered when asked for a format at our size (VIDIOC_TRY_FMT).
struct V4l2Offer {
    uint32_t fourcc = 0;
    int width = 0, height = 0;
};
// Index of the offer to take: the first (cheapest) at exactly width x height, else the first;
// -1 when there is none. Scaling costs more than any format conversion, hence size first.
int pick_v4l2_offer(const std::vector<V4l2Offer>& offers, int width, int height);

struct FrameSize {
    int width = 0, height = 0;
};
// The size to ask of a camera that offers only these fixed sizes, none of them ours: the
// smallest that covers width x height in the same shape, else the smallest that covers it
// (scaling down keeps the whole picture), else the largest. {0, 0} when `sizes` is empty.
FrameSize pick_frame_size(const std::vector<FrameSize>& sizes, int width, int height);

// A control value for value_percent (clamped to 0..100) of [minimum, maximum], on the step grid.
int32_t v4l2_control_value(int32_t minimum, int32_t maximum, int32_t step, int value_percent);

}  // namespace robotd::media
