// Native V4L2 capture: format negotiation, mmap buffers, poll() with an eventfd for
// interrupt(), newest-frame dequeueing, conversion to YUV420P, and camera controls.
#include "media/v4l2_source.h"

#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
}

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/clock.h"
#include "core/unique_fd.h"
#include "media/av_handles.h"
#include "media/convert.h"
#include "media/interrupt.h"
#include "media/m2m_converter.h"
#include "media/v4l2_util.h"

namespace robotd::media {

namespace {

constexpr const char* kTag = "v4l2";
constexpr unsigned kBuffers = 4;
// A camera that sends nothing for this long is treated as gone; the stream thread reopens it.
constexpr int kFrameTimeoutMs = 5000;
constexpr int64_t kLogEveryUs = 10000000;

struct PixFormat {
    uint32_t fourcc;
    AVPixelFormat av;  // AV_PIX_FMT_NONE: compressed, decoded with mjpeg
};
constexpr PixFormat kFormats[] = {
    {V4L2_PIX_FMT_YUV420, AV_PIX_FMT_YUV420P},  {V4L2_PIX_FMT_YUYV, AV_PIX_FMT_YUYV422},
    {V4L2_PIX_FMT_NV12, AV_PIX_FMT_NV12},       {V4L2_PIX_FMT_UYVY, AV_PIX_FMT_UYVY422},
    {V4L2_PIX_FMT_RGB24, AV_PIX_FMT_RGB24},     {V4L2_PIX_FMT_BGR24, AV_PIX_FMT_BGR24},
    {V4L2_PIX_FMT_RGB565, AV_PIX_FMT_RGB565LE}, {V4L2_PIX_FMT_MJPEG, AV_PIX_FMT_NONE},
    {V4L2_PIX_FMT_JPEG, AV_PIX_FMT_NONE},
};

AVPixelFormat av_format_of(uint32_t fourcc) {
    for (const auto& f : kFormats)
        if (f.fourcc == fourcc) return f.av;
    return AV_PIX_FMT_NONE;
}

std::string errno_text(int err) {
    return std::strerror(err);
}

class V4l2Source final : public Source {
  public:
    V4l2Source(Logger& log, std::string path, int width, int height, VideoOptions options)
        : log_(log),
          path_(std::move(path)),
          options_(std::move(options)),
          converter_(width, height) {}
    ~V4l2Source() override {
        if (streaming_) {
            int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            xioctl(fd_.get(), VIDIOC_STREAMOFF, &type);
        }
        // Then buffers_ is unmapped and fd_ closed (members go in reverse order), which
        // releases the driver's buffers.
    }

    bool open(int fps, std::string* error);
    std::string describe() const override { return description_; }
    bool read(AVFrame* frame, int64_t* capture_us, std::string* error) override;
    void interrupt() override { interrupt_.fire(); }
    bool set_control(const std::string& name, int value_percent, std::string* error) override;
    uint64_t overruns() const override { return overruns_.load(); }

  private:
    bool fail(std::string* error, std::string text) {
        *error = std::move(text);
        return false;
    }
    bool negotiate_format(std::string* error);
    // The fixed sizes the camera offers in `fourcc`; empty: it takes any size (or says nothing).
    std::vector<FrameSize> discrete_sizes(uint32_t fourcc);
    void set_frame_rate(int fps);
    bool start_streaming(std::string* error);
    bool queue(uint32_t index, std::string* error);
    // 1: *buf is the newest filled buffer (older ones went back to the driver); 0: none
    // ready; -1: error.
    int dequeue_newest(v4l2_buffer* buf, std::string* error);
    void note_sequence(uint32_t sequence);
    bool convert(const v4l2_buffer& buf, AVFrame* out, bool* skip, std::string* error);
    // A raw picture in memory (a camera or converter buffer) to a pooled YUV420P frame.
    bool convert_raw(const uint8_t* data, size_t used, AVPixelFormat format, int width, int height,
                     uint32_t bytesperline, AVFrame* out, bool* skip, std::string* error);
    // Hands conversion to a V4L2 M2M device when [media] m2m allows and one fits.
    void setup_m2m();
    int64_t capture_time(const v4l2_buffer& buf) const;

    Logger& log_;
    const std::string path_;
    const VideoOptions options_;
    std::string description_;
    UniqueFd fd_;
    Interrupt interrupt_;
    std::vector<Mapping> buffers_;
    bool streaming_ = false;

    uint32_t fourcc_ = 0;
    AVPixelFormat av_format_ = AV_PIX_FMT_NONE;
    int cam_width_ = 0, cam_height_ = 0;
    uint32_t bytesperline_ = 0;
    VideoConverter converter_;
    std::unique_ptr<M2mConverter> m2m_;
    AvCodecContextPtr mjpeg_;
    AvPacketPtr packet_;
    AvFramePtr decoded_;

    std::atomic<uint64_t> overruns_{0};
    bool have_sequence_ = false;
    uint32_t last_sequence_ = 0;
    int64_t last_drop_log_us_ = INT64_MIN / 2;
    int64_t last_skip_log_us_ = INT64_MIN / 2;
    std::string queue_error_;  // a buffer we could not hand back: the stream is broken
};

bool V4l2Source::open(int fps, std::string* error) {
    // Non-blocking, so DQBUF answers EAGAIN instead of sleeping where interrupt() cannot
    // reach; we wait in poll() instead, on the camera and the eventfd together.
    fd_.reset(::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd_.valid()) return fail(error, "cannot open camera " + path_ + ": " + errno_text(errno));
    if (!interrupt_.open(error)) return false;

    v4l2_capability cap{};
    if (xioctl(fd_.get(), VIDIOC_QUERYCAP, &cap) < 0) {
        const int err = errno;
        if (err == ENOTTY || err == EINVAL) return fail(error, path_ + " is not a V4L2 device");
        return fail(error, path_ + ": VIDIOC_QUERYCAP: " + errno_text(err));
    }
    // device_caps describe this node; capabilities the whole physical device.
    const uint32_t caps =
        (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    const std::string card = reinterpret_cast<const char*>(cap.card);
    const std::string driver = reinterpret_cast<const char*>(cap.driver);
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
        if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE)
            return fail(error, path_ + " (" + card + ") is a multi-planar capture device, " +
                                   "which is not supported");
        return fail(error, path_ + " (" + card + ") is not a video capture device");
    }
    if (!(caps & V4L2_CAP_STREAMING))
        return fail(error, path_ + " (" + card + ") cannot stream (no V4L2_CAP_STREAMING)");

    if (!negotiate_format(error)) return false;
    set_frame_rate(fps);

    if (av_format_ == AV_PIX_FMT_NONE) {
        const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
        if (!codec) return fail(error, "libavcodec has no mjpeg decoder");
        mjpeg_.reset(avcodec_alloc_context3(codec));
        packet_.reset(av_packet_alloc());
        decoded_.reset(av_frame_alloc());
        if (!mjpeg_ || !packet_ || !decoded_) return fail(error, "out of memory");
        // One frame in, one frame out: frame threads would only add latency.
        mjpeg_->thread_count = 1;
        const int err = avcodec_open2(mjpeg_.get(), codec, nullptr);
        if (err < 0) return fail(error, "cannot open the mjpeg decoder: " + av_error_string(err));
    }
    setup_m2m();
    if (!start_streaming(error)) return false;

    description_ = path_ + " (" + driver + ": " + card + ", " + fourcc_string(fourcc_) + " " +
                   std::to_string(cam_width_) + "x" + std::to_string(cam_height_) + " -> " +
                   (m2m_ ? "M2M " + m2m_->describe() + " -> " : std::string()) + "yuv420p " +
                   std::to_string(converter_.width()) + "x" + std::to_string(converter_.height()) +
                   ", " + std::to_string(buffers_.size()) + " buffers)";
    LOGI(log_, kTag, "opened %s", description_.c_str());
    return true;
}

void V4l2Source::setup_m2m() {
    if (options_.m2m == "off") return;
    // Reported whether or not this camera needs one: the log tells what the board has.
    const M2mProbe probe = probe_m2m(log_);
    const bool already = fourcc_ == V4L2_PIX_FMT_YUV420 && cam_width_ == converter_.width() &&
                         cam_height_ == converter_.height();
    if (already || av_format_ == AV_PIX_FMT_NONE) return;
    M2mRequest request;
    request.in_fourcc = fourcc_;
    request.in_width = cam_width_;
    request.in_height = cam_height_;
    request.in_bytesperline = bytesperline_;
    request.out_width = converter_.width();
    request.out_height = converter_.height();
    // YUV420 needs nothing more; the packed ones a repack by swscale at the same size.
    request.out_fourccs = {V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUYV,
                           V4L2_PIX_FMT_UYVY};
    std::string why;
    const int pick = pick_m2m_device(probe.devices, request, options_.m2m, &why);
    // Asked for by path: not getting it is worth a warning; "auto" finding none is normal.
    const bool asked = options_.m2m != "auto";
    if (pick < 0) {
        if (asked)
            LOGW(log_, kTag, "%s: [media] m2m %s cannot convert for it (%s); using swscale",
                 path_.c_str(), options_.m2m.c_str(), why.c_str());
        else
            LOGI(log_, kTag, "%s: no V4L2 M2M converter for %s (%s); using swscale", path_.c_str(),
                 fourcc_string(fourcc_).c_str(), why.c_str());
        return;
    }
    std::string error;
    m2m_ = M2mConverter::open(probe.devices[size_t(pick)].path, request, &error);
    if (!m2m_) {
        LOGW(log_, kTag, "%s: V4L2 M2M converter not used (%s); using swscale", path_.c_str(),
             error.c_str());
        return;
    }
    LOGI(log_, kTag, "%s: converting on %s", path_.c_str(), m2m_->describe().c_str());
}

bool V4l2Source::negotiate_format(std::string* error) {
    std::vector<uint32_t> offered;
    for (uint32_t i = 0; i < 256; ++i) {  // bounded: a buggy driver must not hang us
        v4l2_fmtdesc desc{};
        desc.index = i;
        desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (xioctl(fd_.get(), VIDIOC_ENUM_FMT, &desc) < 0) break;  // EINVAL: end of list
        offered.push_back(desc.pixelformat);
    }
    std::string offered_text;
    for (uint32_t f : offered) offered_text += (offered_text.empty() ? "" : ",") + fourcc_string(f);

    const int want_w = converter_.width(), want_h = converter_.height();
    auto request = [&](uint32_t fourcc) {
        v4l2_format fmt{};
        fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        fmt.fmt.pix.width = uint32_t(want_w);
        fmt.fmt.pix.height = uint32_t(want_h);
        fmt.fmt.pix.pixelformat = fourcc;
        fmt.fmt.pix.field = V4L2_FIELD_NONE;
        return fmt;
    };

    // Ask the driver what each usable format would give at our size, without changing
    // anything (TRY_FMT); drivers adjust the size to what they can do.
    std::vector<V4l2Offer> offers;
    for (uint32_t fourcc : v4l2_format_preference()) {
        if (std::find(offered.begin(), offered.end(), fourcc) == offered.end()) continue;
        if (!options_.camera_format.empty() && fourcc_string(fourcc) != options_.camera_format)
            continue;
        // An FFmpeg built without the mjpeg decoder cannot take (M)JPEG.
        if (av_format_of(fourcc) == AV_PIX_FMT_NONE && !avcodec_find_decoder(AV_CODEC_ID_MJPEG))
            continue;
        v4l2_format fmt = request(fourcc);
        if (xioctl(fd_.get(), VIDIOC_TRY_FMT, &fmt) < 0) {
            // TRY_FMT is optional for drivers (and adjusts rather than fails when it exists):
            // fall back to the preference order; S_FMT below has the last word.
            offers.push_back({fourcc, want_w, want_h});
            continue;
        }
        if (fmt.fmt.pix.pixelformat != fourcc) continue;
        offers.push_back({fourcc, int(fmt.fmt.pix.width), int(fmt.fmt.pix.height)});
    }
    const int pick = pick_v4l2_offer(offers, want_w, want_h);
    if (pick < 0) {
        std::string taken;
        for (uint32_t f : v4l2_format_preference())
            taken += (taken.empty() ? "" : ", ") + fourcc_string(f);
        const std::string formats = " (it has " + (offered_text.empty() ? "none" : offered_text) +
                                    "; we take " + taken + ")";
        if (!options_.camera_format.empty())
            return fail(error, path_ + " does not give [media] camera_format " +
                                   options_.camera_format + formats);
        return fail(error, path_ + " offers no format we can convert" + formats);
    }

    v4l2_format fmt = request(offers[size_t(pick)].fourcc);
    // A camera with fixed sizes (most webcams) answers a size it lacks with its nearest one,
    // often of another shape (320x180 for 320x240): ask for a better one ourselves.
    const std::vector<FrameSize> sizes = discrete_sizes(offers[size_t(pick)].fourcc);
    const bool have_ours = std::any_of(sizes.begin(), sizes.end(), [&](const FrameSize& s) {
        return s.width == want_w && s.height == want_h;
    });
    if (!sizes.empty() && !have_ours) {
        const FrameSize s = pick_frame_size(sizes, want_w, want_h);
        fmt.fmt.pix.width = uint32_t(s.width);
        fmt.fmt.pix.height = uint32_t(s.height);
    }
    if (xioctl(fd_.get(), VIDIOC_S_FMT, &fmt) < 0) {
        const int err = errno;
        if (err == EBUSY) return fail(error, path_ + " is busy (another program streams it)");
        return fail(error, path_ + ": VIDIOC_S_FMT " + fourcc_string(offers[size_t(pick)].fourcc) +
                               ": " + errno_text(err));
    }
    const v4l2_pix_format& pix = fmt.fmt.pix;
    if (pix.pixelformat != offers[size_t(pick)].fourcc)
        return fail(error, path_ + ": the driver replaced " +
                               fourcc_string(offers[size_t(pick)].fourcc) + " with " +
                               fourcc_string(pix.pixelformat));
    switch (pix.field) {
        case V4L2_FIELD_ANY:
        case V4L2_FIELD_NONE:
        case V4L2_FIELD_INTERLACED:
        case V4L2_FIELD_INTERLACED_TB:
        case V4L2_FIELD_INTERLACED_BT:
            break;  // one whole picture per buffer
        default:
            return fail(error, path_ + ": field order " + std::to_string(pix.field) +
                                   " (one field per buffer) is not supported");
    }
    if (pix.width == 0 || pix.height == 0 || pix.width > 8192 || pix.height > 8192)
        return fail(error, path_ + ": the driver chose an unusable size " +
                               std::to_string(pix.width) + "x" + std::to_string(pix.height));
    fourcc_ = pix.pixelformat;
    av_format_ = av_format_of(fourcc_);
    cam_width_ = int(pix.width);
    cam_height_ = int(pix.height);
    bytesperline_ = pix.bytesperline;
    if (av_format_ != AV_PIX_FMT_NONE) {
        // The stride of the first plane; some drivers leave it 0 for "tightly packed".
        int lines[4] = {};
        av_image_fill_linesizes(lines, av_format_, cam_width_);
        if (bytesperline_ < uint32_t(lines[0])) bytesperline_ = uint32_t(lines[0]);
    }
    if (cam_width_ != want_w || cam_height_ != want_h)
        LOGI(log_, kTag, "%s: %dx%d asked, the camera gives %dx%d %s: scaled", path_.c_str(),
             want_w, want_h, cam_width_, cam_height_, fourcc_string(fourcc_).c_str());
    LOGD(log_, kTag, "%s offers %s; took %s", path_.c_str(), offered_text.c_str(),
         fourcc_string(fourcc_).c_str());
    return true;
}

std::vector<FrameSize> V4l2Source::discrete_sizes(uint32_t fourcc) {
    std::vector<FrameSize> sizes;
    for (uint32_t i = 0; i < 256; ++i) {  // bounded, as the format list
        v4l2_frmsizeenum e{};
        e.index = i;
        e.pixel_format = fourcc;
        if (xioctl(fd_.get(), VIDIOC_ENUM_FRAMESIZES, &e) < 0) break;
        if (e.type != V4L2_FRMSIZE_TYPE_DISCRETE) return {};  // any size: the driver adjusts
        sizes.push_back({int(e.discrete.width), int(e.discrete.height)});
    }
    return sizes;
}

void V4l2Source::set_frame_rate(int fps) {
    v4l2_streamparm parm{};
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd_.get(), VIDIOC_G_PARM, &parm) < 0 ||
        !(parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
        LOGD(log_, kTag, "%s: frame rate not settable; the camera's own rate is used",
             path_.c_str());
        return;
    }
    parm.parm.capture.timeperframe.numerator = 1;
    parm.parm.capture.timeperframe.denominator = uint32_t(fps);
    if (xioctl(fd_.get(), VIDIOC_S_PARM, &parm) < 0) {
        LOGW(log_, kTag, "%s: VIDIOC_S_PARM %d fps: %s", path_.c_str(), fps,
             errno_text(errno).c_str());
        return;
    }
    // The driver writes back the interval it chose.
    const v4l2_fract& t = parm.parm.capture.timeperframe;
    if (t.numerator && t.denominator && t.denominator != uint32_t(fps) * t.numerator)
        LOGI(log_, kTag, "%s: %d fps asked, the camera runs at %u/%u", path_.c_str(), fps,
             t.denominator, t.numerator);
}

bool V4l2Source::start_streaming(std::string* error) {
    v4l2_requestbuffers req{};
    req.count = kBuffers;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    if (xioctl(fd_.get(), VIDIOC_REQBUFS, &req) < 0) {
        const int err = errno;
        if (err == EINVAL) return fail(error, path_ + " does not support mmap streaming");
        if (err == EBUSY) return fail(error, path_ + " is busy (another program streams it)");
        return fail(error, path_ + ": VIDIOC_REQBUFS: " + errno_text(err));
    }
    // The driver may grant fewer (or more) than asked; one in the driver and one with us is
    // the least that streams.
    if (req.count < 2)
        return fail(
            error, path_ + ": the driver granted only " + std::to_string(req.count) + " buffer(s)");
    std::string map_error;
    if (!map_buffers(fd_.get(), V4L2_BUF_TYPE_VIDEO_CAPTURE, req.count, &buffers_, &map_error))
        return fail(error, path_ + ": " + map_error);
    for (uint32_t i = 0; i < buffers_.size(); ++i)
        if (!queue(i, error)) return false;
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd_.get(), VIDIOC_STREAMON, &type) < 0)
        return fail(error, path_ + ": VIDIOC_STREAMON: " + errno_text(errno));
    streaming_ = true;
    return true;
}

bool V4l2Source::queue(uint32_t index, std::string* error) {
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    buf.index = index;
    if (xioctl(fd_.get(), VIDIOC_QBUF, &buf) == 0) return true;
    const int err = errno;
    return fail(error, path_ + (err == ENODEV ? ": camera vanished (ENODEV)"
                                              : ": VIDIOC_QBUF: " + errno_text(err)));
}

void V4l2Source::note_sequence(uint32_t sequence) {
    // A gap in the driver's frame counter: frames it dropped for want of a queued buffer.
    if (have_sequence_ && sequence > last_sequence_ + 1) {
        overruns_ += sequence - last_sequence_ - 1;
        const int64_t now = mono_us();
        if (now - last_drop_log_us_ >= kLogEveryUs) {
            last_drop_log_us_ = now;
            LOGW(log_, kTag, "%s: the camera dropped frames (%llu so far)", path_.c_str(),
                 static_cast<unsigned long long>(overruns_.load()));
        }
    }
    have_sequence_ = true;
    last_sequence_ = sequence;
}

int V4l2Source::dequeue_newest(v4l2_buffer* out, std::string* error) {
    auto dequeue = [&](v4l2_buffer* buf) {
        *buf = v4l2_buffer{};
        buf->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        buf->memory = V4L2_MEMORY_MMAP;
        if (xioctl(fd_.get(), VIDIOC_DQBUF, buf) == 0) {
            note_sequence(buf->sequence);
            return 1;
        }
        const int err = errno;
        if (err == EAGAIN) return 0;
        if (err == ENODEV)
            *error = "camera " + path_ + " vanished (ENODEV)";
        else
            *error = path_ + ": VIDIOC_DQBUF: " + errno_text(err);
        return -1;
    };
    const int first = dequeue(out);
    if (first <= 0) return first;
    // Take only the newest frame: older ones that piled up while the encoder was busy go
    // straight back, so latency stays one frame, not a queue of them.
    for (;;) {
        v4l2_buffer next;
        const int r = dequeue(&next);
        if (r == 0) return 1;
        std::string queue_error;
        if (!queue(out->index, &queue_error)) {
            *error = queue_error;
            return -1;
        }
        if (r < 0) return -1;
        ++overruns_;  // a frame the encoder never saw
        *out = next;
    }
}

int64_t V4l2Source::capture_time(const v4l2_buffer& buf) const {
    const int64_t now = mono_us();
    if ((buf.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC) return now;
    // A monotonic buffer timestamp is CLOCK_MONOTONIC, mono_us()'s clock: when the driver
    // captured the frame. Trusted only when plausible.
    const int64_t ts = int64_t(buf.timestamp.tv_sec) * 1000000 + int64_t(buf.timestamp.tv_usec);
    return (ts <= now && now - ts < 2000000) ? ts : now;
}

bool V4l2Source::convert(const v4l2_buffer& buf, AVFrame* out, bool* skip, std::string* error) {
    *skip = false;
    const Mapping& map = buffers_[buf.index];
    const size_t used =
        buf.bytesused ? std::min<size_t>(buf.bytesused, map.length()) : map.length();
    if (av_format_ == AV_PIX_FMT_NONE) {
        packet_->data = map.data();
        packet_->size = int(used);
        // Not reference-counted: the decoder copies it (with padding) before we requeue.
        int err = avcodec_send_packet(mjpeg_.get(), packet_.get());
        if (err >= 0) err = avcodec_receive_frame(mjpeg_.get(), decoded_.get());
        packet_->data = nullptr;
        packet_->size = 0;
        if (err < 0) {
            *skip = true;  // a torn or corrupt JPEG costs this frame only
            *error = "undecodable MJPEG frame: " + av_error_string(err);
            return false;
        }
        const bool ok = converter_.convert(decoded_.get(), out, error);
        av_frame_unref(decoded_.get());
        return ok;
    }
    if (m2m_) {
        M2mPicture pic;
        std::string problem;
        if (!m2m_->process(map.data(), used, interrupt_.fd(), 1000, &pic, &problem)) {
            if (problem == "interrupted") {
                *error = problem;
                return false;
            }
            // The converter failed: swscale takes over from the next frame on.
            LOGW(log_, kTag, "%s: V4L2 M2M converter dropped (%s); using swscale", path_.c_str(),
                 problem.c_str());
            m2m_.reset();
            *skip = true;
            *error = "converter failed";
            return false;
        }
        const bool ok = convert_raw(pic.data, pic.size, av_format_of(pic.fourcc), pic.width,
                                    pic.height, pic.bytesperline, out, skip, error);
        m2m_->release();
        return ok;
    }
    return convert_raw(map.data(), used, av_format_, cam_width_, cam_height_, bytesperline_, out,
                       skip, error);
}

bool V4l2Source::convert_raw(const uint8_t* data, size_t used, AVPixelFormat format, int width,
                             int height, uint32_t bytesperline, AVFrame* out, bool* skip,
                             std::string* error) {
    if (format == AV_PIX_FMT_NONE) {
        *error = "a picture in a format we do not convert";
        return false;
    }
    // Plane strides follow the first plane's bytesperline in the V4L2 single-planar layouts
    // (YU12's chroma planes: half of it; NV12's chroma plane: all of it).
    int lines[4] = {};
    av_image_fill_linesizes(lines, format, width);
    const int base = lines[0];
    for (int& l : lines)
        if (l) l = int(int64_t(l) * std::max<int64_t>(bytesperline, base) / base);
    uint8_t* planes[4] = {};
    const int need =
        av_image_fill_pointers(planes, format, height, const_cast<uint8_t*>(data), lines);
    if (need < 0 || size_t(need) > used) {
        *skip = true;
        *error = "short frame (" + std::to_string(used) + " of " + std::to_string(need) + " bytes)";
        return false;
    }
    return converter_.convert(planes, lines, format, width, height, false, out, error);
}

bool V4l2Source::read(AVFrame* frame, int64_t* capture_us, std::string* error) {
    if (!queue_error_.empty()) return fail(error, queue_error_);
    const int64_t deadline = mono_us() + int64_t(kFrameTimeoutMs) * 1000;
    for (;;) {
        if (interrupt_.fired()) return fail(error, "interrupted");
        const int64_t left_ms = (deadline - mono_us()) / 1000;
        if (left_ms <= 0)
            return fail(error, "no frame from camera " + path_ + " in " +
                                   std::to_string(kFrameTimeoutMs / 1000) + " s");
        pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {interrupt_.fd(), POLLIN, 0}};
        const int n = poll(fds, 2, int(left_ms));
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(error, "poll: " + errno_text(errno));
        }
        if (fds[1].revents) return fail(error, "interrupted");
        if (n == 0) continue;  // the deadline check above reports it

        v4l2_buffer buf;
        const int got = dequeue_newest(&buf, error);
        if (got < 0) return false;
        if (got == 0) {
            // Readable yet nothing to dequeue: only an error condition explains that.
            if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                char events[16];
                snprintf(events, sizeof events, "%#x", unsigned(fds[0].revents));
                return fail(error,
                            "camera " + path_ + " stream error (poll revents " + events + ")");
            }
            continue;
        }
        std::string problem;
        bool skip = buf.flags & V4L2_BUF_FLAG_ERROR;
        if (skip) problem = "frame flagged as damaged by the driver";
        bool ok = !skip && convert(buf, frame, &skip, &problem);
        if (ok) *capture_us = capture_time(buf);
        // Give the buffer back whatever happened; our copy is in `frame`.
        if (!queue(buf.index, &queue_error_)) return fail(error, queue_error_);
        if (ok) return true;
        if (!skip) return fail(error, path_ + ": " + problem);
        const int64_t now = mono_us();
        if (now - last_skip_log_us_ >= kLogEveryUs) {
            last_skip_log_us_ = now;
            LOGW(log_, kTag, "%s: frame skipped: %s", path_.c_str(), problem.c_str());
        }
    }
}

bool V4l2Source::set_control(const std::string& name, int value_percent, std::string* error) {
    uint32_t id = 0;
    if (name == "brightness")
        id = V4L2_CID_BRIGHTNESS;
    else if (name == "contrast")
        id = V4L2_CID_CONTRAST;
    else if (name == "saturation")
        id = V4L2_CID_SATURATION;
    else
        return fail(error,
                    "unknown camera control '" + name + "' (brightness, contrast or saturation)");
    v4l2_queryctrl q{};
    q.id = id;
    if (xioctl(fd_.get(), VIDIOC_QUERYCTRL, &q) < 0)
        return fail(error, path_ + " has no " + name + " control");
    if (q.flags & (V4L2_CTRL_FLAG_DISABLED | V4L2_CTRL_FLAG_READ_ONLY))
        return fail(error, path_ + ": the " + name + " control is disabled or read-only");
    if (q.type != V4L2_CTRL_TYPE_INTEGER)
        return fail(error, path_ + ": the " + name + " control is not an integer");
    v4l2_control c{};
    c.id = id;
    c.value = v4l2_control_value(q.minimum, q.maximum, q.step, value_percent);
    if (xioctl(fd_.get(), VIDIOC_S_CTRL, &c) < 0)
        return fail(error, path_ + ": setting " + name + ": " + errno_text(errno));
    LOGI(log_, kTag, "%s: %s %d %% = %d (range %d..%d)", path_.c_str(), name.c_str(), value_percent,
         c.value, q.minimum, q.maximum);
    return true;
}

}  // namespace

std::vector<uint32_t> v4l2_format_preference() {
    std::vector<uint32_t> out;
    for (const auto& f : kFormats) out.push_back(f.fourcc);
    return out;
}

int pick_v4l2_offer(const std::vector<V4l2Offer>& offers, int width, int height) {
    for (size_t i = 0; i < offers.size(); ++i)
        if (offers[i].width == width && offers[i].height == height) return int(i);
    return offers.empty() ? -1 : 0;
}

FrameSize pick_frame_size(const std::vector<FrameSize>& sizes, int width, int height) {
    const FrameSize* covering = nullptr;
    const FrameSize* same_shape = nullptr;
    const FrameSize* largest = nullptr;
    auto area = [](const FrameSize& s) { return int64_t(s.width) * s.height; };
    for (const auto& s : sizes) {
        if (!largest || area(s) > area(*largest)) largest = &s;
        if (s.width < width || s.height < height) continue;
        if (!covering || area(s) < area(*covering)) covering = &s;
        // Same aspect ratio within 1 %: w/h == width/height, in integers.
        const int64_t lhs = int64_t(s.width) * height, rhs = int64_t(width) * s.height;
        if (std::llabs(lhs - rhs) * 100 <= rhs && (!same_shape || area(s) < area(*same_shape)))
            same_shape = &s;
    }
    if (same_shape) return *same_shape;
    if (covering) return *covering;
    return largest ? *largest : FrameSize{};
}

int32_t v4l2_control_value(int32_t minimum, int32_t maximum, int32_t step, int value_percent) {
    if (maximum <= minimum) return minimum;
    const int64_t pct = std::clamp(value_percent, 0, 100);
    const int64_t span = int64_t(maximum) - minimum;
    int64_t offset = (span * pct + 50) / 100;  // rounded to nearest
    if (step > 1) {
        offset = (offset + step / 2) / step * step;
        if (offset > span) offset -= step;  // the grid's last point inside the range
    }
    return int32_t(minimum + offset);
}

std::unique_ptr<Source> open_v4l2_source(const std::string& path, int width, int height, int fps,
                                         Logger& log, std::string* error,
                                         const VideoOptions& options) {
    auto source = std::make_unique<V4l2Source>(log, path, width, height, options);
    if (!source->open(fps, error)) return nullptr;
    return source;
}

}  // namespace robotd::media
