// A V4L2 memory-to-memory converter/scaler (a board's ISP): camera pictures go in, and come
// out at the stream's size in YUV420 (or a format swscale repacks without scaling).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/unique_fd.h"
#include "media/convert.h"
#include "media/v4l2_util.h"

namespace robotd::media {

// A picture the converter produced: valid until M2mConverter::release().
struct M2mPicture {
    const uint8_t* data = nullptr;
    size_t size = 0;
    uint32_t fourcc = 0;
    int width = 0, height = 0;
    uint32_t bytesperline = 0;
};

// What we ask of a device, and the raw formats we can take back (cheapest first).
struct M2mRequest {
    uint32_t in_fourcc = 0;
    int in_width = 0, in_height = 0;
    uint32_t in_bytesperline = 0;
    int out_width = 0, out_height = 0;
    std::vector<uint32_t> out_fourccs;
};

// The device to use for `request`, from a probe: `which` is "auto" (the first single-planar
// device that takes in_fourcc and produces one of out_fourccs, the earliest of those first) or
// a path (that device, if it can). -1: none; *why says what was missing.
int pick_m2m_device(const std::vector<M2mDevice>& devices, const M2mRequest& request,
                    const std::string& which, std::string* why);

class M2mConverter {
  public:
    // Opens the device at `path` and sets up both queues for `request`; nullptr with *error.
    static std::unique_ptr<M2mConverter> open(const std::string& path, const M2mRequest& request,
                                              std::string* error);
    M2mConverter() = default;  // use open()
    ~M2mConverter();
    M2mConverter(const M2mConverter&) = delete;
    M2mConverter& operator=(const M2mConverter&) = delete;

    // "/dev/video1 (vim2m): RGB3 640x480 -> YUYV 320x240"
    std::string describe() const { return description_; }
    // Converts `size` bytes of one picture, waiting up to timeout_ms for the device (and
    // returning early, false with *error "interrupted", when interrupt_fd becomes readable).
    // The result stays valid until release(); call it before the next process().
    bool process(const uint8_t* data, size_t size, int interrupt_fd, int timeout_ms,
                 M2mPicture* out, std::string* error);
    void release();

  private:
    bool setup(const std::string& path, const M2mRequest& request, std::string* error);
    void take_back_inputs();  // dequeues the OUTPUT buffers the device is done with

    std::string path_, description_;
    UniqueFd fd_;
    bool streaming_ = false;
    std::vector<Mapping> in_, out_;  // the OUTPUT and CAPTURE buffers, mapped
    uint32_t in_bytesperline_ = 0, src_bytesperline_ = 0;
    int in_height_ = 0;
    M2mPicture result_;
    int held_ = -1;              // the capture buffer behind result_, until release()
    std::vector<bool> in_busy_;  // OUTPUT buffers queued to the device
};

}  // namespace robotd::media
