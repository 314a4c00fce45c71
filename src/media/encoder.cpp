// Encoding and MPEG-TS muxing into memory: MPEG-1 video or MP2 audio frames in, each encoded
// frame's transport-stream bytes out, ready to be pushed into a ring as one record.
#include "media/encoder.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/samplefmt.h>
}

#include <algorithm>
#include <cstring>

namespace robotd::media {

namespace {

// Seven TS packets: small, so each flush hands over the bytes in few callbacks.
constexpr int kAvioBytes = 188 * 7;
// Enough for a typical I-frame at a few hundred kbit/s; the string grows if one is larger.
constexpr size_t kStagingReserve = 64 * 1024;

// libavformat 61 (FFmpeg 7) made the write callback's buffer const.
#if LIBAVFORMAT_VERSION_MAJOR < 61
using AvioWriteBuffer = uint8_t*;
#else
using AvioWriteBuffer = const uint8_t*;
#endif

int append_to_staging(void* opaque, AvioWriteBuffer buf, int size) {
    static_cast<std::string*>(opaque)->append(reinterpret_cast<const char*>(buf), size_t(size));
    return size;
}

// libav's message for an error code (av_err2str is a C-only macro).
std::string libav_message(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

bool fail(std::string* error, const std::string& what, int code) {
    *error = what + ": " + libav_message(code);
    return false;
}

bool is_mpeg1_rate(int fps) {
    return fps == 24 || fps == 25 || fps == 30 || fps == 50 || fps == 60;
}

}  // namespace

TsEncoder::~TsEncoder() = default;

std::unique_ptr<TsEncoder> TsEncoder::open_video(const VideoEncoderSettings& s,
                                                 std::string* error) {
    if (!is_mpeg1_rate(s.fps)) {
        *error = "video fps " + std::to_string(s.fps) + " is not an MPEG-1 rate (24/25/30/50/60)";
        return nullptr;
    }
    if (s.width < 16 || s.height < 16 || s.width % 2 || s.height % 2 || s.width > 4095 ||
        s.height > 4095) {
        *error = "video size " + std::to_string(s.width) + "x" + std::to_string(s.height) +
                 " not encodable as MPEG-1";
        return nullptr;
    }
    const AVCodec* codec = avcodec_find_encoder_by_name("mpeg1video");
    if (codec == nullptr) {
        *error = "libavcodec has no mpeg1video encoder";
        return nullptr;
    }
    auto enc = std::make_unique<TsEncoder>(Key{});
    enc->video_ = true;
    enc->codec_.reset(avcodec_alloc_context3(codec));
    if (!enc->codec_) {
        *error = "out of memory";
        return nullptr;
    }
    AVCodecContext* c = enc->codec_.get();
    c->width = s.width;
    c->height = s.height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = AVRational{1, s.fps};
    c->framerate = AVRational{s.fps, 1};
    c->bit_rate = int64_t(s.bitrate_kbps) * 1000;
    c->gop_size = s.gop > 0 ? s.gop : 25;
    c->max_b_frames = 0;  // jsmpeg skips B-frames, and they add a frame of latency
    // Without B-frames nothing needs reordering, yet mpegvideo holds each frame back one
    // frame time unless told low delay; MPEG-1 cannot signal that, hence "unofficial". The
    // elementary stream is bit-identical, only 40 ms sooner.
    c->flags |= AV_CODEC_FLAG_LOW_DELAY;
    c->strict_std_compliance = FF_COMPLIANCE_UNOFFICIAL;
    c->thread_count = 1;  // one core per stream; the others are for audio and the loop
    if (int rc = avcodec_open2(c, codec, nullptr); rc < 0) {
        fail(error, "mpeg1video open", rc);
        return nullptr;
    }
    enc->packet_.reset(av_packet_alloc());
    if (!enc->packet_) {
        *error = "out of memory";
        return nullptr;
    }
    if (!enc->open_mux(kVideoPids, error)) return nullptr;
    return enc;
}

std::unique_ptr<TsEncoder> TsEncoder::open_audio(const AudioEncoderSettings& s,
                                                 std::string* error) {
    if (s.sample_rate != 32000 && s.sample_rate != 44100 && s.sample_rate != 48000) {
        *error = "audio rate " + std::to_string(s.sample_rate) + " is not 32000/44100/48000";
        return nullptr;
    }
    if (s.channels != 1 && s.channels != 2) {
        *error = "audio channels must be 1 or 2";
        return nullptr;
    }
    const AVCodec* codec = avcodec_find_encoder_by_name("mp2fixed");
    if (codec == nullptr) codec = avcodec_find_encoder_by_name("mp2");
    if (codec == nullptr) {
        *error = "libavcodec has no mp2 encoder";
        return nullptr;
    }
    auto enc = std::make_unique<TsEncoder>(Key{});
    enc->video_ = false;
    enc->codec_.reset(avcodec_alloc_context3(codec));
    if (!enc->codec_) {
        *error = "out of memory";
        return nullptr;
    }
    AVCodecContext* c = enc->codec_.get();
    c->sample_fmt = AV_SAMPLE_FMT_S16;
    c->sample_rate = s.sample_rate;
    av_channel_layout_default(&c->ch_layout, s.channels);
    c->bit_rate = int64_t(s.bitrate_kbps) * 1000;
    c->time_base = AVRational{1, s.sample_rate};
    if (int rc = avcodec_open2(c, codec, nullptr); rc < 0) {
        fail(error, std::string(codec->name) + " open", rc);
        return nullptr;
    }
    if (c->frame_size <= 0) {
        *error = "mp2 encoder reports no frame size";
        return nullptr;
    }
    // Room for a few codec frames; it grows once if a source delivers larger periods.
    enc->fifo_.reset(av_audio_fifo_alloc(c->sample_fmt, s.channels, 4 * c->frame_size));
    enc->audio_frame_.reset(av_frame_alloc());
    enc->packet_.reset(av_packet_alloc());
    if (!enc->fifo_ || !enc->audio_frame_ || !enc->packet_) {
        *error = "out of memory";
        return nullptr;
    }
    AVFrame* f = enc->audio_frame_.get();
    f->format = c->sample_fmt;
    f->sample_rate = c->sample_rate;
    f->nb_samples = c->frame_size;
    if (int rc = av_channel_layout_copy(&f->ch_layout, &c->ch_layout); rc < 0) {
        fail(error, "audio frame layout", rc);
        return nullptr;
    }
    if (int rc = av_frame_get_buffer(f, 0); rc < 0) {
        fail(error, "audio frame buffer", rc);
        return nullptr;
    }
    if (!enc->open_mux(kAudioPids, error)) return nullptr;
    return enc;
}

bool TsEncoder::open_mux(const TsPids& pids, std::string* error) {
    staging_.reserve(kStagingReserve);
    AVFormatContext* raw = nullptr;
    if (int rc = avformat_alloc_output_context2(&raw, nullptr, "mpegts", nullptr); rc < 0) {
        return fail(error, "mpegts muxer", rc);
    }
    mux_.reset(raw);

    auto* buffer = static_cast<uint8_t*>(av_malloc(kAvioBytes));
    if (buffer == nullptr) {
        *error = "out of memory";
        return false;
    }
    avio_.reset(
        avio_alloc_context(buffer, kAvioBytes, 1, &staging_, nullptr, &append_to_staging, nullptr));
    if (!avio_) {
        av_free(buffer);
        *error = "out of memory";
        return false;
    }
    mux_->pb = avio_.get();
    // -muxdelay 0.001: PES timestamps barely ahead of the PCR, so the viewer plays at once;
    // -flush_packets 1: every packet reaches the staging buffer before write returns.
    mux_->max_delay = 1000;
    mux_->flags |= AVFMT_FLAG_FLUSH_PACKETS;

    mux_stream_ = avformat_new_stream(mux_.get(), nullptr);
    if (mux_stream_ == nullptr) {
        *error = "out of memory";
        return false;
    }
    if (int rc = avcodec_parameters_from_context(mux_stream_->codecpar, codec_.get()); rc < 0) {
        return fail(error, "mux stream parameters", rc);
    }
    mux_stream_->time_base = codec_->time_base;

    AVDictionary* opts = nullptr;
    av_dict_set_int(&opts, "mpegts_pmt_start_pid", pids.pmt, 0);
    av_dict_set_int(&opts, "mpegts_start_pid", pids.elementary, 0);
    const int rc = avformat_write_header(mux_.get(), &opts);
    const bool unused = av_dict_count(opts) != 0;
    av_dict_free(&opts);
    if (rc < 0) return fail(error, "mpegts header", rc);
    if (unused) {
        *error = "mpegts muxer ignored the PID options";
        return false;
    }
    avio_flush(avio_.get());
    header_ = staging_;
    staging_.clear();
    return true;
}

const char* TsEncoder::codec_name() const {
    return codec_->codec->name;
}

int TsEncoder::frame_size() const {
    return codec_->frame_size;
}

void TsEncoder::remember_capture(int64_t pts, int64_t capture_us) {
    captures_[capture_next_] = CaptureSlot{pts, capture_us};
    capture_next_ = (capture_next_ + 1) % kCaptureSlots;
}

int64_t TsEncoder::capture_for(int64_t pts) const {
    int64_t latest = 0;
    for (const CaptureSlot& slot : captures_) {
        if (slot.pts == pts) return slot.capture_us;
        latest = std::max(latest, slot.capture_us);
    }
    return latest;  // a codec that invents timestamps: the newest capture is the best guess
}

bool TsEncoder::encode(AVFrame* frame, int64_t capture_us, const RecordSink& sink,
                       std::string* error) {
    const bool ok = video_ ? encode_video(frame, capture_us, sink, error)
                           : encode_audio(frame, capture_us, sink, error);
    av_frame_unref(frame);
    return ok;
}

bool TsEncoder::encode_video(AVFrame* frame, int64_t capture_us, const RecordSink& sink,
                             std::string* error) {
    const AVCodecContext* c = codec_.get();
    if (frame->format != AV_PIX_FMT_YUV420P || frame->width != c->width ||
        frame->height != c->height) {
        *error = "video frame is not YUV420P " + std::to_string(c->width) + "x" +
                 std::to_string(c->height);
        return false;
    }
    frame->pts = next_pts_++;
    // A decoder or filter upstream may have tagged the frame (raw video comes out as "I"),
    // and the encoder obeys the tag: clear it unless we want an I-frame.
    frame->pict_type = keyframe_requested_ ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    keyframe_requested_ = false;
    remember_capture(frame->pts, capture_us);
    return send_and_mux(frame, sink, error);
}

bool TsEncoder::encode_audio(AVFrame* frame, int64_t capture_us, const RecordSink& sink,
                             std::string* error) {
    const AVCodecContext* c = codec_.get();
    const int channels = c->ch_layout.nb_channels;
    if (frame->format != AV_SAMPLE_FMT_S16 || frame->sample_rate != c->sample_rate ||
        (frame->ch_layout.nb_channels != 0 && frame->ch_layout.nb_channels != channels)) {
        *error = "audio frame is not S16 " + std::to_string(c->sample_rate) + " Hz " +
                 std::to_string(channels) + " ch";
        return false;
    }
    // The FIFO's front sample was captured as long before this frame as the samples already
    // queued last; re-anchoring on every frame keeps capture times from drifting.
    const int queued = av_audio_fifo_size(fifo_.get());
    fifo_front_us_ = capture_us - int64_t(queued) * 1000000 / c->sample_rate;
    const int written =
        av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(frame->data), frame->nb_samples);
    if (written < frame->nb_samples) {
        return fail(error, "audio fifo", written < 0 ? written : AVERROR(ENOMEM));
    }

    AVFrame* out = audio_frame_.get();
    while (av_audio_fifo_size(fifo_.get()) >= c->frame_size) {
        // The codec has finished with the previous frame, so this does not copy.
        if (int rc = av_frame_make_writable(out); rc < 0) return fail(error, "audio frame", rc);
        if (av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(out->data), c->frame_size) !=
            c->frame_size) {
            *error = "audio fifo read short";
            return false;
        }
        out->nb_samples = c->frame_size;
        // Zeroed here, at the codec's input, rather than in the captured frame: this buffer
        // is the encoder's own (a source's frame may share its buffer), and samples queued
        // before a mute are silenced too.
        if (silent_) {
            av_samples_set_silence(out->data, 0, c->frame_size, channels, c->sample_fmt);
        }
        out->pts = next_pts_;
        next_pts_ += c->frame_size;
        // Estimates from jittery capture stamps may step back a little; records keep order.
        last_audio_us_ = std::max(fifo_front_us_, last_audio_us_ + 1);
        remember_capture(out->pts, last_audio_us_);
        fifo_front_us_ += int64_t(c->frame_size) * 1000000 / c->sample_rate;
        if (!send_and_mux(out, sink, error)) return false;
    }
    return true;
}

bool TsEncoder::send_and_mux(AVFrame* frame, const RecordSink& sink, std::string* error) {
    if (int rc = avcodec_send_frame(codec_.get(), frame); rc < 0) {
        return fail(error, "encode", rc);
    }
    AVPacket* pkt = packet_.get();
    for (;;) {
        int rc = avcodec_receive_packet(codec_.get(), pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return true;
        if (rc < 0) return fail(error, "encode", rc);

        RecordMeta meta;
        meta.capture_us = capture_for(pkt->pts);
        // Every MP2 frame decodes on its own; a video packet only from an I-frame.
        meta.keyframe = !video_ || (pkt->flags & AV_PKT_FLAG_KEY) != 0;
        pkt->stream_index = mux_stream_->index;
        av_packet_rescale_ts(pkt, codec_->time_base, mux_stream_->time_base);
        rc = av_write_frame(mux_.get(), pkt);
        av_packet_unref(pkt);
        if (rc < 0) return fail(error, "mpegts write", rc);
        // mpegts holds small audio packets back to merge them into one PES; a flush writes
        // this one now, so its bytes leave with its own record instead of the next one's.
        if (!video_ && (rc = av_write_frame(mux_.get(), nullptr)) < 0) {
            return fail(error, "mpegts flush", rc);
        }
        avio_flush(avio_.get());
        if (!staging_.empty()) {
            sink(reinterpret_cast<const uint8_t*>(staging_.data()), staging_.size(), meta);
            staging_.clear();  // keeps the capacity: no allocation next time
        }
    }
}

}  // namespace robotd::media
