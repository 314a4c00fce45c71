// The conversion step between capture and encoder: swscale to YUV420P, swresample to S16, and
// the V4L2 M2M probe that reports hardware which could take that work over.
#include "media/convert.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include "core/unique_fd.h"

namespace robotd::media {

namespace {

// Linesize alignment of pooled pictures: what swscale's and the encoders' SIMD paths like.
constexpr int kAlign = 32;

void set_error(std::string* error, std::string text) {
    if (error) *error = std::move(text);
}

}  // namespace

std::string av_error_string(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(err, buf, sizeof buf);
    return buf;
}

// --- FramePool ---

AVBufferRef* FramePool::buffer(size_t size, std::string* error) {
    if (!pool_ || size > size_) {
        // Buffers of the old pool still referenced elsewhere stay valid: uninit only frees
        // the pool once they all came back.
        pool_.reset(av_buffer_pool_init(size, nullptr));
        size_ = pool_ ? size : 0;
    }
    AVBufferRef* ref = pool_ ? av_buffer_pool_get(pool_.get()) : nullptr;
    if (!ref) set_error(error, "out of memory for a frame buffer");
    return ref;
}

bool FramePool::get_video(AVFrame* frame, int width, int height, std::string* error) {
    av_frame_unref(frame);
    const int size = av_image_get_buffer_size(AV_PIX_FMT_YUV420P, width, height, kAlign);
    if (size <= 0) {
        set_error(error,
                  "bad picture size " + std::to_string(width) + "x" + std::to_string(height));
        return false;
    }
    AVBufferRef* ref = buffer(size_t(size), error);
    if (!ref) return false;
    frame->buf[0] = ref;
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = width;
    frame->height = height;
    av_image_fill_arrays(frame->data, frame->linesize, ref->data, AV_PIX_FMT_YUV420P, width, height,
                         kAlign);
    frame->extended_data = frame->data;
    return true;
}

bool FramePool::get_audio(AVFrame* frame, int nb_samples, int sample_rate, int channels,
                          std::string* error) {
    av_frame_unref(frame);
    const size_t bytes = size_t(nb_samples) * size_t(channels) * 2;
    // At least one byte, so an empty frame still carries a valid buffer.
    AVBufferRef* ref = buffer(std::max<size_t>(bytes, 1), error);
    if (!ref) return false;
    frame->buf[0] = ref;
    frame->format = AV_SAMPLE_FMT_S16;
    frame->nb_samples = nb_samples;
    frame->sample_rate = sample_rate;
    av_channel_layout_default(&frame->ch_layout, channels);
    frame->data[0] = ref->data;
    frame->linesize[0] = int(bytes);
    frame->extended_data = frame->data;
    return true;
}

// --- VideoConverter ---

void VideoConverter::SwsDeleter::operator()(SwsContext* c) const {
    sws_freeContext(c);
}

VideoConverter::VideoConverter(int width, int height) : width_(width), height_(height) {}
VideoConverter::~VideoConverter() = default;

namespace {

// swscale wants the deprecated "J" formats spelled as their plain twins plus a full range.
AVPixelFormat unjpeg(AVPixelFormat f, bool* full_range) {
    switch (f) {
        case AV_PIX_FMT_YUVJ420P:
            *full_range = true;
            return AV_PIX_FMT_YUV420P;
        case AV_PIX_FMT_YUVJ422P:
            *full_range = true;
            return AV_PIX_FMT_YUV422P;
        case AV_PIX_FMT_YUVJ444P:
            *full_range = true;
            return AV_PIX_FMT_YUV444P;
        case AV_PIX_FMT_YUVJ440P:
            *full_range = true;
            return AV_PIX_FMT_YUV440P;
        case AV_PIX_FMT_YUVJ411P:
            *full_range = true;
            return AV_PIX_FMT_YUV411P;
        default:
            return f;
    }
}

}  // namespace

bool VideoConverter::convert(AVFrame* in, AVFrame* out, std::string* error) {
    bool full = in->color_range == AVCOL_RANGE_JPEG;
    const AVPixelFormat f = unjpeg(AVPixelFormat(in->format), &full);
    if (f == AV_PIX_FMT_YUV420P && !full && in->width == width_ && in->height == height_) {
        av_frame_unref(out);
        if (av_frame_ref(out, in) == 0) return true;
        set_error(error, "out of memory");
        return false;
    }
    return convert(in->data, in->linesize, AVPixelFormat(in->format), in->width, in->height,
                   in->color_range == AVCOL_RANGE_JPEG, out, error);
}

bool VideoConverter::convert(const uint8_t* const data[4], const int linesize[4],
                             AVPixelFormat format, int width, int height, bool full_range,
                             AVFrame* out, std::string* error) {
    const AVPixelFormat f = unjpeg(format, &full_range);
    if (!pool_.get_video(out, width_, height_, error)) return false;
    if (f == AV_PIX_FMT_YUV420P && !full_range && width == width_ && height == height_) {
        // Already what the encoder takes: one copy, honouring the source's line strides.
        av_image_copy(out->data, out->linesize, const_cast<const uint8_t**>(data), linesize, f,
                      width, height);
        return true;
    }
    if (!sws_ || f != in_format_ || width != in_width_ || height != in_height_ ||
        full_range != in_full_range_) {
        // Bilinear: clearly better than fast-bilinear when downscaling, still cheap; a pure
        // format change at the same size takes swscale's unscaled fast paths anyway.
        sws_.reset(sws_getContext(width, height, f, width_, height_, AV_PIX_FMT_YUV420P,
                                  SWS_BILINEAR, nullptr, nullptr, nullptr));
        if (!sws_) {
            in_format_ = AV_PIX_FMT_NONE;
            const char* name = av_get_pix_fmt_name(f);
            set_error(error, std::string("swscale cannot convert ") + (name ? name : "?") + " " +
                                 std::to_string(width) + "x" + std::to_string(height) +
                                 " to yuv420p");
            return false;
        }
        const int* coefs = sws_getCoefficients(SWS_CS_DEFAULT);
        // MPEG-1 is limited range: a full-range (JPEG) source is squeezed, not clipped.
        sws_setColorspaceDetails(sws_.get(), coefs, full_range ? 1 : 0, coefs, 0, 0, 1 << 16,
                                 1 << 16);
        in_format_ = f;
        in_width_ = width;
        in_height_ = height;
        in_full_range_ = full_range;
    }
    const int rows = sws_scale(sws_.get(), data, linesize, 0, height, out->data, out->linesize);
    if (rows <= 0) {
        set_error(error, "swscale failed");
        return false;
    }
    return true;
}

// --- AudioConverter ---

void AudioConverter::SwrDeleter::operator()(SwrContext* c) const {
    swr_free(&c);
}

AudioConverter::AudioConverter(int sample_rate, int channels)
    : rate_(sample_rate), channels_(channels) {}

AudioConverter::~AudioConverter() {
    av_channel_layout_uninit(&in_layout_);
}

bool AudioConverter::convert(const AVFrame* in, int64_t in_start_us, AVFrame* out,
                             int64_t* out_start_us, std::string* error) {
    return convert_planes(in->extended_data, in->nb_samples, AVSampleFormat(in->format),
                          in->sample_rate, in->ch_layout, in_start_us, out, out_start_us, error);
}

bool AudioConverter::convert(const uint8_t* s16, int nb_samples, int in_rate, int in_channels,
                             int64_t in_start_us, AVFrame* out, int64_t* out_start_us,
                             std::string* error) {
    AVChannelLayout layout{};
    av_channel_layout_default(&layout, in_channels);
    const uint8_t* planes[1] = {s16};
    const bool ok = convert_planes(planes, nb_samples, AV_SAMPLE_FMT_S16, in_rate, layout,
                                   in_start_us, out, out_start_us, error);
    av_channel_layout_uninit(&layout);
    return ok;
}

bool AudioConverter::convert_planes(const uint8_t* const* data, int nb_samples,
                                    AVSampleFormat format, int in_rate,
                                    const AVChannelLayout& layout_in, int64_t in_start_us,
                                    AVFrame* out, int64_t* out_start_us, std::string* error) {
    // A decoder may only know the channel count; swresample needs a layout to mix from.
    AVChannelLayout layout{};
    if (layout_in.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&layout, layout_in.nb_channels);
    else if (av_channel_layout_copy(&layout, &layout_in) < 0) {
        set_error(error, "out of memory");
        return false;
    }
    if (!swr_ || format != in_format_ || in_rate != in_rate_ ||
        av_channel_layout_compare(&layout, &in_layout_) != 0) {
        swr_.reset();
        AVChannelLayout out_layout{};
        av_channel_layout_default(&out_layout, channels_);
        SwrContext* swr = nullptr;
        int err = swr_alloc_set_opts2(&swr, &out_layout, AV_SAMPLE_FMT_S16, rate_, &layout, format,
                                      in_rate, 0, nullptr);
        swr_.reset(swr);
        if (err >= 0) err = swr_init(swr_.get());
        av_channel_layout_uninit(&out_layout);
        if (err < 0) {
            swr_.reset();
            av_channel_layout_uninit(&layout);
            const char* name = av_get_sample_fmt_name(format);
            set_error(error, std::string("swresample cannot convert ") + (name ? name : "?") + " " +
                                 std::to_string(in_rate) + " Hz: " + av_error_string(err));
            return false;
        }
        in_format_ = format;
        in_rate_ = in_rate;
        av_channel_layout_uninit(&in_layout_);
        in_layout_ = layout;  // takes over what `layout` owned
        layout = AVChannelLayout{};
    }
    av_channel_layout_uninit(&layout);

    const int room = swr_get_out_samples(swr_.get(), nb_samples);
    if (room < 0 || !pool_.get_audio(out, room, rate_, channels_, error)) {
        if (room < 0) set_error(error, "swresample: " + av_error_string(room));
        return false;
    }
    const int n =
        swr_convert(swr_.get(), out->data, room, const_cast<const uint8_t**>(data), nb_samples);
    if (n < 0) {
        set_error(error, "swresample: " + av_error_string(n));
        return false;
    }
    out->nb_samples = n;
    out->linesize[0] = n * channels_ * 2;
    // The next input sample (right after this chunk) comes out `delay` later than the next
    // output sample, so this output chunk ends at that sample's time minus the delay.
    const int64_t in_end_us = in_start_us + int64_t(nb_samples) * 1000000 / in_rate;
    const int64_t delay_us = swr_get_delay(swr_.get(), 1000000);
    *out_start_us = in_end_us - delay_us - int64_t(n) * 1000000 / rate_;
    return true;
}

// --- V4L2 M2M probe ---

std::string fourcc_string(uint32_t fourcc) {
    std::string s;
    for (int i = 0; i < 4; ++i) {
        const char c = char((fourcc >> (8 * i)) & 0xff);
        s += (c >= 0x20 && c < 0x7f) ? c : '.';
    }
    // Big-endian variants carry bit 31.
    if (fourcc & (1u << 31)) s += "-BE";
    return s;
}

void classify_m2m(M2mDevice* d) {
    auto any = [](const std::vector<V4l2Format>& v, bool compressed) {
        return std::any_of(v.begin(), v.end(),
                           [&](const V4l2Format& f) { return f.compressed == compressed; });
    };
    d->can_convert = any(d->takes, false) && any(d->produces, false);
    d->can_encode = any(d->takes, false) && any(d->produces, true);
    d->can_decode = any(d->takes, true) && any(d->produces, false);
}

std::string describe_m2m(const M2mDevice& d) {
    auto list = [](const std::vector<V4l2Format>& v) {
        std::string s;
        for (const auto& f : v) s += (s.empty() ? "" : ",") + fourcc_string(f.fourcc);
        return s.empty() ? std::string("-") : s;
    };
    std::string roles;
    if (d.can_convert) roles += " convert/scale";
    if (d.can_encode) roles += " encode";
    if (d.can_decode) roles += " decode";
    if (roles.empty()) roles = " none";
    return d.path + " (" + d.driver + ": " + d.card + (d.mplane ? ", mplane" : "") + "): roles" +
           roles + "; takes " + list(d.takes) + " -> produces " + list(d.produces);
}

namespace {

std::vector<V4l2Format> enum_formats(int fd, uint32_t type) {
    std::vector<V4l2Format> out;
    for (uint32_t i = 0; i < 256; ++i) {
        v4l2_fmtdesc desc{};
        desc.index = i;
        desc.type = type;
        if (ioctl(fd, VIDIOC_ENUM_FMT, &desc) < 0) break;  // EINVAL ends the list
        out.push_back({desc.pixelformat, (desc.flags & V4L2_FMT_FLAG_COMPRESSED) != 0});
    }
    return out;
}

bool is_video_node(const char* name) {
    if (std::strncmp(name, "video", 5) != 0 || !name[5]) return false;
    for (const char* p = name + 5; *p; ++p)
        if (*p < '0' || *p > '9') return false;
    return true;
}

}  // namespace

M2mProbe probe_m2m(Logger& log, const std::string& dev_dir) {
    M2mProbe probe;
    std::vector<std::string> nodes;
    if (DIR* dir = opendir(dev_dir.c_str())) {
        while (dirent* e = readdir(dir))
            if (is_video_node(e->d_name)) nodes.push_back(dev_dir + "/" + e->d_name);
        closedir(dir);
    }
    std::sort(nodes.begin(), nodes.end());
    for (const auto& path : nodes) {
        // Non-blocking: a busy or sleeping device must not hold up start-up.
        UniqueFd fd(open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
        if (!fd.valid()) {
            LOGD(log, "media", "M2M probe: %s: %s", path.c_str(), strerror(errno));
            continue;
        }
        v4l2_capability cap{};
        if (ioctl(fd.get(), VIDIOC_QUERYCAP, &cap) < 0) continue;
        const uint32_t caps =
            (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
        const bool single = caps & V4L2_CAP_VIDEO_M2M;
        const bool multi = caps & V4L2_CAP_VIDEO_M2M_MPLANE;
        if (!single && !multi) continue;
        M2mDevice d;
        d.path = path;
        d.driver = reinterpret_cast<const char*>(cap.driver);
        d.card = reinterpret_cast<const char*>(cap.card);
        d.mplane = !single;
        d.takes = enum_formats(
            fd.get(), single ? V4L2_BUF_TYPE_VIDEO_OUTPUT : V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
        d.produces = enum_formats(
            fd.get(), single ? V4L2_BUF_TYPE_VIDEO_CAPTURE : V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
        classify_m2m(&d);
        probe.devices.push_back(std::move(d));
    }
    if (probe.devices.empty())
        LOGI(log, "media", "V4L2 M2M: no memory-to-memory device in %s", dev_dir.c_str());
    for (const auto& d : probe.devices) LOGI(log, "media", "V4L2 M2M: %s", describe_m2m(d).c_str());
    return probe;
}

}  // namespace robotd::media
