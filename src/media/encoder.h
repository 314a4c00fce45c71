// Encoding and MPEG-TS muxing into memory: MPEG-1 video or MP2 audio frames in, each encoded
// frame's transport-stream bytes out, ready to be pushed into a ring as one record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/frame.h>
}

#include "core/ring.h"
#include "media/av_handles.h"

namespace robotd::media {

struct VideoEncoderSettings {
    int width = 640, height = 480;
    int fps = 25;  // must be an MPEG-1 table rate: 24, 25, 30, 50 or 60
    int gop = 25;  // frames between I-frames: a new viewer's join delay
    int bitrate_kbps = 350;
};

struct AudioEncoderSettings {
    int sample_rate = 44100;  // 32000, 44100 or 48000 (MPEG-1 layer II)
    int channels = 1;         // 1 or 2
    int bitrate_kbps = 32;
};

// The transport stream's PIDs. The video and audio uploads are merged by the relay into one
// stream for jsmpeg, which tells streams apart by PID, so the two muxes must not share any.
struct TsPids {
    int pmt = 0x1000;        // mpegts_pmt_start_pid
    int elementary = 0x100;  // mpegts_start_pid
};
inline constexpr TsPids kVideoPids{0x1000, 0x100};  // mpegts's defaults
inline constexpr TsPids kAudioPids{0x1001, 0x101};

// One encoded frame's TS bytes. `data` is valid only during the callback.
using RecordSink = std::function<void(const uint8_t* data, size_t len, const RecordMeta& meta)>;

// An encoder and its own one-stream mpegts mux writing into a staging buffer. Not
// thread-safe: one stream thread owns it. Its own buffers (staging string, audio FIFO and
// frame, packet) are allocated once and reused; they grow only to the largest frame seen.
class TsEncoder {
  public:
    // mpeg1video, YUV420P, no B-frames; the PAT/PMT are in header() when this returns.
    static std::unique_ptr<TsEncoder> open_video(const VideoEncoderSettings& s, std::string* error);
    // mp2fixed (no floating point: cheap on FPU-less boards), else mp2; S16 interleaved.
    static std::unique_ptr<TsEncoder> open_audio(const AudioEncoderSettings& s, std::string* error);

  private:
    struct Key {  // lets make_unique reach the constructor, and only the factories
        explicit Key() = default;
    };

  public:
    explicit TsEncoder(Key) {}
    ~TsEncoder();
    TsEncoder(const TsEncoder&) = delete;
    TsEncoder& operator=(const TsEncoder&) = delete;

    // The bytes the mux wrote when it opened (PAT, PMT): send them before the first record.
    const std::string& header() const { return header_; }

    // Encodes one captured frame (video: YUV420P at the opened size; audio: S16 interleaved at
    // the opened rate and channels, any number of samples) and calls `sink` once per encoded
    // frame, in order, with its TS bytes: video one per input frame, audio one per 1152
    // samples (so zero, one or more per call). The frame's pts and picture type are
    // overwritten; it is unreferenced on return, so the caller can hand it to a source again.
    // false on a libav error or a frame of the wrong shape (error set).
    bool encode(AVFrame* frame, int64_t capture_us, const RecordSink& sink, std::string* error);

    // The next video frame is encoded as an I-frame (with a sequence header, so a viewer can
    // start there). No effect on audio, where every frame stands alone.
    void request_keyframe() { keyframe_requested_ = true; }

    // Audio: while on, every frame handed to the codec is digital silence (the samples the
    // FIFO gives out, this encoder's own buffer, are zeroed just before encoding), so the
    // stream, its timestamps and the viewers' audio clock go on while the microphone says
    // nothing. No effect on video.
    void set_silent(bool on) { silent_ = on; }

    bool is_video() const { return video_; }
    const char* codec_name() const;
    int frame_size() const;  // audio: samples per encoded frame (1152 for MP2)

  private:
    bool open_mux(const TsPids& pids, std::string* error);
    bool encode_video(AVFrame* frame, int64_t capture_us, const RecordSink& sink,
                      std::string* error);
    bool encode_audio(AVFrame* frame, int64_t capture_us, const RecordSink& sink,
                      std::string* error);
    // Sends `frame` (nullptr: none) to the codec and muxes every packet it returns.
    bool send_and_mux(AVFrame* frame, const RecordSink& sink, std::string* error);
    void remember_capture(int64_t pts, int64_t capture_us);
    int64_t capture_for(int64_t pts) const;

    bool video_ = true;
    bool keyframe_requested_ = false;
    bool silent_ = false;
    int64_t next_pts_ = 0;  // video: frame index; audio: sample index

    // Capture times of the last few frames sent to the codec, found again by pts, so a codec
    // with delay still gets each packet its own capture time.
    static constexpr size_t kCaptureSlots = 16;
    struct CaptureSlot {
        int64_t pts = -1;
        int64_t capture_us = 0;
    };
    CaptureSlot captures_[kCaptureSlots];
    size_t capture_next_ = 0;

    // Audio: capture time of the sample at the FIFO's front, and of the last frame encoded.
    int64_t fifo_front_us_ = 0;
    int64_t last_audio_us_ = INT64_MIN / 2;

    // Declaration order is destruction order reversed: the mux goes before its AVIO, the AVIO
    // before the staging string its callback writes to.
    std::string staging_;
    std::string header_;
    AvCodecContextPtr codec_;
    AvAudioFifoPtr fifo_;
    AvFramePtr audio_frame_;  // FIFO output, allocated once
    AvPacketPtr packet_;
    AvioContextPtr avio_;
    AvFormatContextPtr mux_;
    AVStream* mux_stream_ = nullptr;  // owned by mux_
};

}  // namespace robotd::media
