// Owning handles for the libav objects robotd's media code holds: each deleter is the
// matching free, so every path out of a function releases what it opened.
#pragma once

#include <memory>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/frame.h>
}

namespace robotd::media {

struct AvFrameFree {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct AvPacketFree {
    void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct AvCodecContextFree {
    void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
// An output (muxer) context; inputs are closed with avformat_close_input instead.
struct AvFormatContextFree {
    void operator()(AVFormatContext* f) const { avformat_free_context(f); }
};
struct AvInputFree {
    void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct AvioContextFree {
    void operator()(AVIOContext* io) const {
        if (io == nullptr) return;
        av_freep(&io->buffer);  // not freed by avio_context_free; libav may have replaced it
        avio_context_free(&io);
    }
};
struct AvAudioFifoFree {
    void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};
using AvFramePtr = std::unique_ptr<AVFrame, AvFrameFree>;
using AvPacketPtr = std::unique_ptr<AVPacket, AvPacketFree>;
using AvCodecContextPtr = std::unique_ptr<AVCodecContext, AvCodecContextFree>;
using AvFormatContextPtr = std::unique_ptr<AVFormatContext, AvFormatContextFree>;
using AvInputPtr = std::unique_ptr<AVFormatContext, AvInputFree>;
using AvioContextPtr = std::unique_ptr<AVIOContext, AvioContextFree>;
using AvAudioFifoPtr = std::unique_ptr<AVAudioFifo, AvAudioFifoFree>;

}  // namespace robotd::media
