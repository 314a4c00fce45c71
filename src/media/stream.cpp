// One media stream's thread: capture source -> encoder -> MPEG-TS mux -> ring, kept running
// through vanished devices and full rings, so the event loop only ever drains the ring.
#include "media/stream.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "core/clock.h"
#include "core/retry.h"
#include "media/encoder.h"
#include "media/source.h"

namespace robotd::media {

namespace {

// A source that ran this long is retried soon; one that fails right after every open (a
// flapping USB camera) keeps backing off, and so keeps the log quiet.
constexpr RetryRules kRetry{1000, 30000, 10000};

}  // namespace

MediaStream::MediaStream(StreamSettings s, Logger& log, std::function<void()> wake)
    : settings_(std::move(s)),
      log_(log),
      wake_(std::move(wake)),
      ring_(settings_.ring_bytes),
      controls_(settings_.controls) {}

MediaStream::~MediaStream() {
    stop();
}

const char* MediaStream::tag() const {
    return settings_.kind == StreamKind::Video ? "video" : "audio";
}

void MediaStream::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = false;
    }
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void MediaStream::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        stopping_ = true;
        // Under the lock, so the thread cannot destroy the source meanwhile; a source
        // registered after this sees stopping_ before its first read.
        if (source_ != nullptr) source_->interrupt();
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool MediaStream::wait_for_stop(uint32_t ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_; });
}

void MediaStream::note_failure(const std::string& what) {
    if (what != last_failure_) {
        LOGW(log_, tag(), "%s (retrying with backoff)", what.c_str());
        last_failure_ = what;
    } else {
        LOGD(log_, tag(), "%s (again)", what.c_str());
    }
}

std::unique_ptr<Source> MediaStream::open_source(std::string* error) {
    const StreamSettings& s = settings_;
    if (s.kind == StreamKind::Video) {
        return open_video_source(s.device, s.width, s.height, s.fps, log_, error, s.video_options);
    }
    return open_audio_source(s.device, s.sample_rate, s.channels, log_, error);
}

std::unique_ptr<TsEncoder> MediaStream::open_encoder(std::string* error) {
    const StreamSettings& s = settings_;
    if (s.kind == StreamKind::Video) {
        return TsEncoder::open_video(
            VideoEncoderSettings{s.width, s.height, s.fps, s.gop, s.bitrate_kbps}, error);
    }
    return TsEncoder::open_audio(AudioEncoderSettings{s.sample_rate, s.channels, s.bitrate_kbps},
                                 error);
}

void MediaStream::run() {
    RetryPolicy retry(kRetry);
    std::minstd_rand rng(uint32_t(mono_us()) ^ (settings_.kind == StreamKind::Video ? 1 : 2));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto backoff = [&] { return retry.failed(mono_us(), unit(rng)).delay_ms; };
    // The encoder and its mux outlive source restarts: the TS keeps its timestamps and
    // continuity counters, so the relay and viewers see one unbroken stream.
    std::unique_ptr<TsEncoder> encoder;

    while (!stopping_) {
        std::string error;
        std::unique_ptr<Source> source = open_source(&error);
        if (!source) {
            ++stats_.source_errors;
            note_failure("cannot open " + settings_.device + ": " + error);
            if (wait_for_stop(backoff())) break;
            continue;
        }
        if (!encoder) {
            encoder = open_encoder(&error);
            if (!encoder) {
                note_failure("cannot open the encoder: " + error);
                source.reset();
                if (wait_for_stop(backoff())) break;
                continue;
            }
            // With FFmpeg 5.1 mpegts writes PAT/PMT with the first packet, so this is empty
            // there; another version may write them at open.
            const std::string& header = encoder->header();
            if (!header.empty()) {
                deliver(*encoder, reinterpret_cast<const uint8_t*>(header.data()), header.size(),
                        RecordMeta{mono_us(), true});
            }
        } else {
            encoder->request_keyframe();  // a new source starts a new picture
        }
        LOGI(log_, tag(), "streaming %s as %s", source->describe().c_str(), encoder->codec_name());
        {
            std::lock_guard<std::mutex> lock(mutex_);
            source_ = source.get();
            // Under the lock, so a set_control() racing this open either lands in controls_
            // first (applied here) or finds source_ (applies it itself): the newest value
            // always ends up on the camera, before its first frame is read.
            for (const auto& [name, percent] : controls_.values())
                apply_control(*source, name, percent);
        }
        last_failure_.clear();
        running_ = true;
        retry.succeeded(mono_us());
        const PumpEnd end = pump(*source, *encoder, &error);
        running_ = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            source_ = nullptr;
        }
        source.reset();
        if (stopping_ || end == PumpEnd::Stopped) break;
        if (end == PumpEnd::SourceFailed) {
            ++stats_.source_errors;
            ++stats_.restarts;
            note_failure(settings_.device + " failed: " + error);
        } else {
            // The encoder failed: start it afresh (a new mux, new timestamps).
            encoder.reset();
            note_failure("encoder failed: " + error);
        }
        if (wait_for_stop(backoff())) break;
    }
    running_ = false;
}

bool MediaStream::set_control(const std::string& name, int percent) {
    const std::string why = settings_.kind != StreamKind::Video
                                ? "the audio stream has no camera controls"
                                : check_camera_control(name, percent);
    if (!why.empty()) {
        LOGW(log_, tag(), "camera control rejected: %s", why.c_str());
        return false;
    }
    // The stream thread holds mutex_ only briefly and never across read(), so this waits for
    // at most another control being set, not for a frame.
    std::lock_guard<std::mutex> lock(mutex_);
    controls_.set(name, percent);
    if (source_ != nullptr) {
        apply_control(*source_, name, percent);
    } else {
        LOGI(log_, tag(), "%s %d %% will be applied when %s opens", name.c_str(), percent,
             settings_.device.c_str());
    }
    return true;
}

void MediaStream::apply_control(Source& source, const std::string& name, int percent) {
    std::string error;
    if (source.set_control(name, percent, &error)) {
        LOGI(log_, tag(), "%s %d %% applied to %s", name.c_str(), percent,
             settings_.device.c_str());
    } else {
        LOGW(log_, tag(), "%s %d %% not applied: %s", name.c_str(), percent, error.c_str());
    }
}

MediaStream::PumpEnd MediaStream::pump(Source& source, TsEncoder& encoder, std::string* error) {
    AvFramePtr frame(av_frame_alloc());
    if (!frame) {
        *error = "out of memory";
        return PumpEnd::EncoderFailed;
    }
    const RecordSink sink = [this, &encoder](const uint8_t* data, size_t len,
                                             const RecordMeta& meta) {
        deliver(encoder, data, len, meta);
    };
    while (!stopping_) {
        int64_t capture_us = 0;
        if (!source.read(frame.get(), &capture_us, error)) {
            return stopping_ ? PumpEnd::Stopped : PumpEnd::SourceFailed;
        }
        if (keyframe_wanted_.exchange(false)) encoder.request_keyframe();
        if (!encoder.encode(frame.get(), capture_us, sink, error)) return PumpEnd::EncoderFailed;
    }
    return PumpEnd::Stopped;
}

void MediaStream::deliver(TsEncoder& encoder, const uint8_t* data, size_t len,
                          const RecordMeta& meta) {
    const bool video = settings_.kind == StreamKind::Video;
    if (video && meta.keyframe) keyframe_bytes_ = len;
    // Ask for the keyframe that ends a drop episode only once it can fit: forcing I-frames
    // into a ring that stays full would spend bits and CPU on frames that are dropped too.
    const auto request_when_room = [&] {
        const size_t need = std::max(keyframe_bytes_, len) + 2 * PacketRing::kHeaderBytes;
        if (!keyframe_requested_ && ring_.capacity() - ring_.used_bytes() >= need) {
            encoder.request_keyframe();
            keyframe_requested_ = true;
        }
    };

    if (video && dropping_ && !meta.keyframe) {
        ++stats_.dropped;
        ++episode_drops_;
        request_when_room();
        return;
    }
    if (ring_.push(data, len, meta)) {
        if (dropping_ || episode_drops_ != 0) {
            LOGI(log_, tag(), "ring drained: %llu frames dropped",
                 (unsigned long long)episode_drops_);
        }
        dropping_ = false;
        keyframe_requested_ = false;
        episode_drops_ = 0;
        ++stats_.frames;
        stats_.bytes += len;
        if (wake_) wake_();
        return;
    }
    ++stats_.dropped;
    if (episode_drops_++ == 0) {
        LOGW(log_, tag(),
             "ring full (%zu of %zu bytes used, a %zu-byte frame waiting): dropping frames "
             "until the upload catches up",
             ring_.used_bytes(), ring_.capacity(), len);
    }
    if (video) {
        dropping_ = true;
        keyframe_requested_ = false;  // this one (if it was the keyframe) did not make it
        request_when_room();
    }
}

}  // namespace robotd::media
