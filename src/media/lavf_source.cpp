// Capture through libavformat/libavdevice: open the input, decode its one wanted stream,
// convert it to YUV420P or S16, and pace frames to their timestamps on the monotonic clock.
#include "media/lavf_source.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#ifdef ROBOTD_HAVE_AVDEVICE  // the boards' minimal FFmpeg has no libavdevice
#include <libavdevice/avdevice.h>
#endif
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <mutex>

#include "core/clock.h"
#include "media/av_handles.h"
#include "media/convert.h"

namespace robotd::media {

// --- Pacer ---

void Pacer::anchor(int64_t pts_us, int64_t now_us) {
    anchored_ = true;
    ++anchors_;
    base_pts_us_ = pts_us;
    base_mono_us_ = now_us;
}

int64_t Pacer::due_us(int64_t pts_us, int64_t now_us) {
    if (pts_us == INT64_MIN) return now_us;  // nothing to pace by: deliver as it comes
    if (anchored_) {
        const int64_t due = base_mono_us_ + (pts_us - base_pts_us_);
        if (due - now_us <= kMaxAheadUs && now_us - due <= kMaxLateUs) return due;
    }
    anchor(pts_us, now_us);
    return now_us;
}

int64_t Pacer::live_us(int64_t pts_us, int64_t now_us) {
    if (pts_us == INT64_MIN) return now_us;
    // Timestamps that go back, or leap ahead, belong to a new timeline.
    const bool jump = anchored_ && (pts_us < last_pts_us_ || pts_us - last_pts_us_ > kMaxAheadUs);
    last_pts_us_ = pts_us;
    if (!anchored_ || jump) {
        anchor(pts_us, now_us);
        return now_us;
    }
    const int64_t at = base_mono_us_ + (pts_us - base_pts_us_);
    if (at <= now_us) return at;
    // Arrived with less delay than any frame before: the better offset, same timeline.
    base_pts_us_ = pts_us;
    base_mono_us_ = now_us;
    return now_us;
}

// --- LavfSource ---

namespace {

constexpr const char* kTag = "media";
// Consecutive undecodable packets before the input counts as broken.
constexpr int kMaxDecodeErrors = 50;
// How long to wait before asking a non-blocking input again after EAGAIN.
constexpr int64_t kRetryUs = 10000;

// Owns the options handed to avformat_open_input (which leaves the unused ones in it).
struct Options {
    AVDictionary* dict = nullptr;
    ~Options() { av_dict_free(&dict); }
    void set(const char* key, const std::string& value) {
        av_dict_set(&dict, key, value.c_str(), 0);
    }
};

// Makes libavdevice's inputs (lavfi, v4l2, alsa, pulse) known to av_find_input_format.
void register_devices() {
#ifdef ROBOTD_HAVE_AVDEVICE
    avdevice_register_all();  // idempotent and cheap: no need to remember having called it
#endif
}

bool has_option(const AVInputFormat* format, const char* name) {
    if (!format->priv_class) return false;
    // A fake object: a pointer to the class is all av_opt_find needs to search its options.
    void* obj = const_cast<AVClass**>(&format->priv_class);
    return av_opt_find(obj, name, nullptr, 0, AV_OPT_SEARCH_FAKE_OBJ) != nullptr;
}

class LavfSource final : public Source {
  public:
    LavfSource(Logger& log, bool video) : log_(log), video_(video) {}

    bool open(const std::string& format, const std::string& url, int width, int height, int fps,
              int sample_rate, int channels, std::string* error);

    std::string describe() const override { return description_; }
    bool read(AVFrame* frame, int64_t* capture_us, std::string* error) override;
    void interrupt() override {
        {
            // Under the lock, so a read() about to wait cannot miss the wake-up.
            std::lock_guard<std::mutex> lock(mutex_);
            interrupted_ = true;
        }
        wake_.notify_all();
    }

  private:
    static int interrupt_cb(void* opaque) {
        return static_cast<LavfSource*>(opaque)->interrupted_.load() ? 1 : 0;
    }
    // Sleeps until due_us on the monotonic clock; false when interrupted.
    bool wait_until(int64_t due_us);
    bool fail(std::string* error, std::string text) {
        *error = std::move(text);
        return false;
    }
    // Turns the decoded frame into the caller's; false with *ready false: nothing yet.
    bool deliver(AVFrame* out, int64_t* capture_us, bool* ready, std::string* error);

    Logger& log_;
    const bool video_;
    std::string name_, description_;
    AvInputPtr input_;
    AvCodecContextPtr decoder_;
    AvPacketPtr packet_{av_packet_alloc()};
    AvFramePtr decoded_{av_frame_alloc()};
    int stream_ = -1;
    AVRational time_base_{1, 1};
    std::unique_ptr<VideoConverter> video_conv_;
    std::unique_ptr<AudioConverter> audio_conv_;
    Pacer pacer_;
    bool live_ = false;      // a real-time device: dated, never held back
    bool draining_ = false;  // the input ended: the decoder is being flushed
    int decode_errors_ = 0;

    std::atomic<bool> interrupted_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

bool LavfSource::open(const std::string& format, const std::string& url, int width, int height,
                      int fps, int sample_rate, int channels, std::string* error) {
    name_ = format + ":" + url;
    if (!packet_ || !decoded_) return fail(error, "out of memory");
    register_devices();
    const AVInputFormat* ifmt = av_find_input_format(format.c_str());
    if (!ifmt) return fail(error, "unknown libav input format '" + format + "'");

    // libavdevice's inputs deliver in real time by themselves, except lavfi, which makes
    // frames as fast as it is asked for them, like a file.
    live_ = ifmt->priv_class && AV_IS_INPUT_DEVICE(ifmt->priv_class->category) &&
            std::string(ifmt->name) != "lavfi";

    Options options;
    if (video_) {
        // Devices that take a size and rate (v4l2, x11grab, ...) are asked for ours; the
        // pixel format is left to the device (forcing one fails where it is missing) and
        // converted. lavfi takes everything from its graph description instead.
        if (has_option(ifmt, "video_size"))
            options.set("video_size", std::to_string(width) + "x" + std::to_string(height));
        if (has_option(ifmt, "framerate")) options.set("framerate", std::to_string(fps));
    } else {
        if (has_option(ifmt, "sample_rate"))
            options.set("sample_rate", std::to_string(sample_rate));
        if (has_option(ifmt, "channels")) options.set("channels", std::to_string(channels));
    }

    AVFormatContext* ctx = avformat_alloc_context();
    if (!ctx) return fail(error, "out of memory");
    ctx->interrupt_callback.callback = &LavfSource::interrupt_cb;
    ctx->interrupt_callback.opaque = this;
    // Devices (v4l2, alsa) would otherwise block in the kernel where interrupt() cannot
    // reach; non-blocking they answer EAGAIN and read() waits interruptibly instead.
    ctx->flags |= AVFMT_FLAG_NONBLOCK;
    int err = avformat_open_input(&ctx, url.c_str(), ifmt, &options.dict);
    if (err < 0) {  // ctx is freed by avformat_open_input on failure
        if (interrupted_) return fail(error, "interrupted");
        return fail(error,
                    "cannot open " + format + " input '" + url + "': " + av_error_string(err));
    }
    input_.reset(ctx);

    const AVMediaType type = video_ ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
    const char* kind = video_ ? "video" : "audio";
    int index = av_find_best_stream(ctx, type, -1, -1, nullptr, 0);
    AVCodecParameters* par = index >= 0 ? ctx->streams[index]->codecpar : nullptr;
    // Probing reads (and, for a device, waits for) frames: only when the header left out
    // what decoding needs. lavfi and v4l2 say it all in their header.
    if (!par || par->codec_id == AV_CODEC_ID_NONE ||
        (!video_ && (par->sample_rate <= 0 || par->ch_layout.nb_channels <= 0))) {
        err = avformat_find_stream_info(ctx, nullptr);
        if (err < 0) {
            if (interrupted_) return fail(error, "interrupted");
            return fail(error, name_ + ": cannot read stream info: " + av_error_string(err));
        }
        index = av_find_best_stream(ctx, type, -1, -1, nullptr, 0);
    }
    if (index < 0) return fail(error, name_ + ": no " + std::string(kind) + " stream");
    stream_ = index;
    for (unsigned i = 0; i < ctx->nb_streams; ++i)
        if (int(i) != stream_) ctx->streams[i]->discard = AVDISCARD_ALL;
    AVStream* st = ctx->streams[stream_];
    par = st->codecpar;
    time_base_ = st->time_base;

    const AVCodec* codec = avcodec_find_decoder(par->codec_id);
    if (!codec)
        return fail(error,
                    name_ + ": no decoder for " + std::string(avcodec_get_name(par->codec_id)));
    decoder_.reset(avcodec_alloc_context3(codec));
    if (!decoder_) return fail(error, "out of memory");
    err = avcodec_parameters_to_context(decoder_.get(), par);
    if (err < 0) return fail(error, name_ + ": " + av_error_string(err));
    decoder_->pkt_timebase = st->time_base;
    // Slice threads only: frame threads would hold frames back, which a live stream pays
    // for in latency.
    decoder_->thread_type = FF_THREAD_SLICE;
    decoder_->flags |= AV_CODEC_FLAG_LOW_DELAY;
    err = avcodec_open2(decoder_.get(), codec, nullptr);
    if (err < 0)
        return fail(error, name_ + ": cannot open the " + codec->name +
                               " decoder: " + av_error_string(err));

    std::string in;
    if (video_) {
        video_conv_ = std::make_unique<VideoConverter>(width, height);
        const char* pix = av_get_pix_fmt_name(AVPixelFormat(par->format));
        in = std::string(codec->name) + " " + (pix ? pix : "?") + " " + std::to_string(par->width) +
             "x" + std::to_string(par->height);
        description_ = name_ + " (" + in + " -> yuv420p " + std::to_string(width) + "x" +
                       std::to_string(height) + (live_ ? ", live" : ", paced") + ")";
    } else {
        audio_conv_ = std::make_unique<AudioConverter>(sample_rate, channels);
        in = std::string(codec->name) + " " + std::to_string(par->sample_rate) + " Hz " +
             std::to_string(par->ch_layout.nb_channels) + " ch";
        description_ = name_ + " (" + in + " -> s16 " + std::to_string(sample_rate) + " Hz " +
                       std::to_string(channels) + " ch" + (live_ ? ", live" : ", paced") + ")";
    }
    LOGI(log_, kTag, "opened %s", description_.c_str());
    return true;
}

bool LavfSource::wait_until(int64_t due_us) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (interrupted_) return false;
        const int64_t left = due_us - mono_us();
        if (left <= 0) return true;
        wake_.wait_for(lock, std::chrono::microseconds(left));
    }
}

bool LavfSource::deliver(AVFrame* out, int64_t* capture_us, bool* ready, std::string* error) {
    *ready = false;
    const int64_t ts = decoded_->best_effort_timestamp;
    const int64_t pts_us =
        ts == AV_NOPTS_VALUE ? INT64_MIN : av_rescale_q(ts, time_base_, AV_TIME_BASE_Q);
    const int64_t now = mono_us();
    const int64_t due = live_ ? pacer_.live_us(pts_us, now) : pacer_.due_us(pts_us, now);

    // Convert first, then wait: the wait absorbs the conversion time.
    int64_t start_us = due;
    if (video_) {
        if (!video_conv_->convert(decoded_.get(), out, error)) return false;
    } else if (audio_conv_->is_target(AVSampleFormat(decoded_->format), decoded_->sample_rate,
                                      decoded_->ch_layout.nb_channels)) {
        av_frame_unref(out);
        av_frame_move_ref(out, decoded_.get());
    } else {
        if (!audio_conv_->convert(decoded_.get(), due, out, &start_us, error)) return false;
        if (out->nb_samples == 0) return true;  // the resampler is still filling
    }
    av_frame_unref(decoded_.get());
    // The caller times frames by capture_us; the input's own pts would only mislead.
    out->pts = AV_NOPTS_VALUE;
    if (!live_ && !wait_until(due)) return fail(error, "interrupted");
    *capture_us = start_us;
    *ready = true;
    return true;
}

bool LavfSource::read(AVFrame* frame, int64_t* capture_us, std::string* error) {
    for (;;) {
        if (interrupted_) return fail(error, "interrupted");
        int err = avcodec_receive_frame(decoder_.get(), decoded_.get());
        if (err == 0) {
            bool ready = false;
            if (!deliver(frame, capture_us, &ready, error)) return false;
            if (ready) return true;
            continue;
        }
        if (err == AVERROR_EOF) return fail(error, name_ + ": end of stream");
        if (err != AVERROR(EAGAIN))
            return fail(error, name_ + ": decoding failed: " + av_error_string(err));
        if (draining_) return fail(error, name_ + ": end of stream");

        err = av_read_frame(input_.get(), packet_.get());
        if (err == AVERROR(EAGAIN)) {
            // A non-blocking device with nothing yet: ask again shortly.
            if (!wait_until(mono_us() + kRetryUs)) return fail(error, "interrupted");
            continue;
        }
        if (err == AVERROR_EOF) {
            draining_ = true;
            avcodec_send_packet(decoder_.get(), nullptr);
            continue;
        }
        if (err < 0) {
            if (interrupted_) return fail(error, "interrupted");
            return fail(error, name_ + ": read failed: " + av_error_string(err));
        }
        if (packet_->stream_index != stream_) {
            av_packet_unref(packet_.get());
            continue;
        }
        err = avcodec_send_packet(decoder_.get(), packet_.get());
        av_packet_unref(packet_.get());
        if (err < 0 && err != AVERROR(EAGAIN)) {
            // A damaged packet (a torn MJPEG frame) costs one frame, not the stream.
            if (++decode_errors_ >= kMaxDecodeErrors)
                return fail(error, name_ + ": undecodable input: " + av_error_string(err));
            LOGD(log_, kTag, "%s: packet dropped: %s", name_.c_str(), av_error_string(err).c_str());
            continue;
        }
        decode_errors_ = 0;
    }
}

std::unique_ptr<Source> open_lavf(bool video, const std::string& format, const std::string& url,
                                  int width, int height, int fps, int sample_rate, int channels,
                                  Logger& log, std::string* error) {
    auto source = std::make_unique<LavfSource>(log, video);
    if (!source->open(format, url, width, height, fps, sample_rate, channels, error))
        return nullptr;
    return source;
}

}  // namespace

bool is_lavf_input_format(const std::string& name) {
    register_devices();
    return !name.empty() && av_find_input_format(name.c_str()) != nullptr;
}

std::unique_ptr<Source> open_lavf_video(const std::string& format, const std::string& url,
                                        int width, int height, int fps, Logger& log,
                                        std::string* error) {
    return open_lavf(true, format, url, width, height, fps, 0, 0, log, error);
}

std::unique_ptr<Source> open_lavf_audio(const std::string& format, const std::string& url,
                                        int sample_rate, int channels, Logger& log,
                                        std::string* error) {
    return open_lavf(false, format, url, 0, 0, 0, sample_rate, channels, log, error);
}

}  // namespace robotd::media
