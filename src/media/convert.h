// The conversion step between capture and encoder: pictures to YUV420P at the stream's size
// (swscale), samples to S16 at the stream's rate/channels (swresample), and a V4L2 M2M probe.
#pragma once

extern "C" {
#include <libavutil/buffer.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libavutil/samplefmt.h>
}

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"

struct SwsContext;
struct SwrContext;

namespace robotd::media {

// av_strerror as a std::string (av_err2str is a C compound literal, unusable in C++).
std::string av_error_string(int err);

// Reference-counted frame buffers from a pool, so the capture hot path does not allocate
// once it runs: a buffer returns to the pool when the last reference (ours or the encoder's)
// goes. Resizing replaces the pool; buffers still held elsewhere stay valid.
class FramePool {
  public:
    // `frame` is unreffed, then holds a YUV420P width x height picture (uninitialised).
    bool get_video(AVFrame* frame, int width, int height, std::string* error);
    // `frame` is unreffed, then holds room for nb_samples S16 interleaved samples.
    bool get_audio(AVFrame* frame, int nb_samples, int sample_rate, int channels,
                   std::string* error);

  private:
    struct PoolDeleter {
        void operator()(AVBufferPool* p) const { av_buffer_pool_uninit(&p); }
    };
    AVBufferRef* buffer(size_t size, std::string* error);

    std::unique_ptr<AVBufferPool, PoolDeleter> pool_;
    size_t size_ = 0;
};

// Any picture (format, size, range) to YUV420P (limited range) at the target size.
class VideoConverter {
  public:
    VideoConverter(int width, int height);
    ~VideoConverter();
    VideoConverter(const VideoConverter&) = delete;
    VideoConverter& operator=(const VideoConverter&) = delete;

    int width() const { return width_; }
    int height() const { return height_; }
    // A decoded frame: referenced as is when it already is YUV420P at the target size.
    bool convert(AVFrame* in, AVFrame* out, std::string* error);
    // A picture in memory we do not own (a V4L2 buffer about to be requeued): copied or
    // converted into a pooled frame. full_range: JPEG-style 0..255 luma.
    bool convert(const uint8_t* const data[4], const int linesize[4], AVPixelFormat format,
                 int width, int height, bool full_range, AVFrame* out, std::string* error);

  private:
    struct SwsDeleter {
        void operator()(SwsContext* c) const;
    };
    int width_, height_;
    FramePool pool_;
    std::unique_ptr<SwsContext, SwsDeleter> sws_;
    // What sws_ was built for; a change rebuilds it.
    AVPixelFormat in_format_ = AV_PIX_FMT_NONE;
    int in_width_ = 0, in_height_ = 0;
    bool in_full_range_ = false;
};

// Any samples (format, rate, layout) to S16 interleaved at the target rate/channels.
class AudioConverter {
  public:
    AudioConverter(int sample_rate, int channels);
    ~AudioConverter();
    AudioConverter(const AudioConverter&) = delete;
    AudioConverter& operator=(const AudioConverter&) = delete;

    int sample_rate() const { return rate_; }
    int channels() const { return channels_; }
    bool is_target(AVSampleFormat format, int sample_rate, int channels) const {
        return format == AV_SAMPLE_FMT_S16 && sample_rate == rate_ && channels == channels_;
    }
    // Resamples `in` into a pooled frame; out->nb_samples may be 0 while the resampler's
    // filter fills. *out_start_us: the capture time of out's first sample, given in_start_us
    // for in's first sample (the resampler delays samples by its filter length).
    bool convert(const AVFrame* in, int64_t in_start_us, AVFrame* out, int64_t* out_start_us,
                 std::string* error);
    // Same, for S16 interleaved samples in memory.
    bool convert(const uint8_t* s16, int nb_samples, int in_rate, int in_channels,
                 int64_t in_start_us, AVFrame* out, int64_t* out_start_us, std::string* error);

  private:
    struct SwrDeleter {
        void operator()(SwrContext* c) const;
    };
    bool convert_planes(const uint8_t* const* data, int nb_samples, AVSampleFormat format,
                        int in_rate, const AVChannelLayout& layout, int64_t in_start_us,
                        AVFrame* out, int64_t* out_start_us, std::string* error);

    int rate_, channels_;
    FramePool pool_;
    std::unique_ptr<SwrContext, SwrDeleter> swr_;
    AVSampleFormat in_format_ = AV_SAMPLE_FMT_NONE;
    int in_rate_ = 0;
    AVChannelLayout in_layout_{};
};

// --- V4L2 memory-to-memory devices (ISP scalers, codecs) ---

struct V4l2Format {
    uint32_t fourcc = 0;
    bool compressed = false;
};

struct M2mDevice {
    std::string path, driver, card;
    bool mplane = false;
    std::vector<V4l2Format> takes;     // its OUTPUT queue: what we would write to it
    std::vector<V4l2Format> produces;  // its CAPTURE queue: what we would read back
    bool can_convert = false;          // raw in, raw out: colour conversion / scaling
    bool can_encode = false;           // raw in, compressed out
    bool can_decode = false;           // compressed in, raw out (e.g. MJPEG cameras)
};

struct M2mProbe {
    std::vector<M2mDevice> devices;
};

// "YUYV", "MJPG", ... (non-printable bytes as '.').
std::string fourcc_string(uint32_t fourcc);
// Sets can_convert/can_encode/can_decode from the two format lists.
void classify_m2m(M2mDevice* device);
// One line: path, driver, roles and formats.
std::string describe_m2m(const M2mDevice& device);
// Scans dev_dir/video* for M2M devices and logs what each could do (the V4L2 camera source
// then picks a converter among them: pick_m2m_device).
M2mProbe probe_m2m(Logger& log, const std::string& dev_dir = "/dev");

}  // namespace robotd::media
