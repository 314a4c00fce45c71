// One media stream's thread: capture source -> encoder -> MPEG-TS mux -> ring, kept running
// through vanished devices and full rings, so the event loop only ever drains the ring.
#include "media/stream.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "media/encoder.h"
#include "media/source.h"

namespace robotd::media {

std::string capture_changes(const StreamSettings& a, const StreamSettings& b) {
    std::string out;
    const auto add = [&out](bool differs, const char* what) {
        if (!differs) return;
        if (!out.empty()) out += ", ";
        out += what;
    };
    add(a.kind != b.kind, "kind");
    add(a.device != b.device, "device");
    add(a.width != b.width || a.height != b.height, "size");
    add(a.fps != b.fps, "frame rate");
    add(a.gop != b.gop, "gop");
    add(a.bitrate_kbps != b.bitrate_kbps, "bitrate");
    add(a.sample_rate != b.sample_rate, "sample rate");
    add(a.channels != b.channels, "channels");
    add(a.ring_bytes != b.ring_bytes, "ring size");
    add(a.video_options.camera_format != b.video_options.camera_format, "camera format");
    add(a.video_options.m2m != b.video_options.m2m, "m2m");
    return out;
}

std::string check_bitrate(StreamKind kind, int kbps) {
    if (kind == StreamKind::Video) {
        if (kbps >= kVideoBitrateMinKbps && kbps <= kVideoBitrateMaxKbps) return "";
        return "video bitrate " + std::to_string(kbps) + " kbit/s is out of range (" +
               std::to_string(kVideoBitrateMinKbps) + ".." + std::to_string(kVideoBitrateMaxKbps) +
               ")";
    }
    static constexpr int kMp2[] = {32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384};
    if (std::find(std::begin(kMp2), std::end(kMp2), kbps) != std::end(kMp2)) return "";
    std::string list;
    for (int k : kMp2) list += (list.empty() ? "" : ", ") + std::to_string(k);
    return "audio bitrate " + std::to_string(kbps) + " kbit/s is not an MP2 rate (one of " + list +
           ")";
}

MediaStream::MediaStream(StreamSettings s, Logger& log, std::function<void()> wake,
                         StreamOptions options)
    : settings_(std::move(s)),
      log_(log),
      wake_(std::move(wake)),
      options_(std::move(options)),
      ring_(settings_.ring_bytes),
      controls_(settings_.controls),
      retry_(options_.retry),
      rng_(uint32_t(mono_us()) ^ (settings_.kind == StreamKind::Video ? 1 : 2)) {}

MediaStream::~MediaStream() {
    stop();
}

const char* MediaStream::tag() const {
    return settings_.kind == StreamKind::Video ? "video" : "audio";
}

void MediaStream::start() {
    if (thread_.joinable()) {
        if (!ended_) return;
        thread_.join();  // it has ended: instant
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = false;
        pending_ = CameraControls();  // every wanted value is applied at the first open
        pending_flag_ = false;
    }
    stopping_ = false;
    ended_ = false;
    retry_.reset();
    opened_once_ = false;
    outage_reported_ = false;
    thread_ = std::thread([this] {
        run();
        {
            // Under the lock, so wait_ended() cannot miss it.
            std::lock_guard<std::mutex> lock(mutex_);
            ended_ = true;
        }
        ended_cv_.notify_all();
        // Last: the loop may join this thread as soon as it sees ended_, and that join then
        // waits only for this call and the return.
        if (wake_) wake_();
    });
}

void MediaStream::request_stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        stopping_ = true;
        // Under the lock, so the thread cannot destroy the source meanwhile; a source
        // registered after this sees stopping_ before its first read.
        if (source_ != nullptr) source_->interrupt();
    }
    stop_cv_.notify_all();
}

bool MediaStream::reap() {
    if (!ended_) return false;
    if (thread_.joinable()) thread_.join();
    return true;
}

bool MediaStream::wait_ended(uint32_t ms) {
    {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!ended_cv_.wait_for(lock, std::chrono::milliseconds(ms),
                                [this] { return ended_.load(); }))
            return false;
    }
    return reap();
}

void MediaStream::stop() {
    request_stop();
    if (thread_.joinable()) thread_.join();
}

bool MediaStream::wait_for_stop(uint32_t ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_; });
}

uint32_t MediaStream::note_failure(const std::string& what) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const int64_t now = mono_us();
    const RetryPolicy::Step step = retry_.failed(now, unit(rng_));
    switch (step.report) {
        case RetryPolicy::Report::First:
            LOGW(log_, tag(), "%s (retrying with backoff)", what.c_str());
            outage_reported_ = true;
            break;
        case RetryPolicy::Report::Summary:
            LOGW(log_, tag(), "still failing after %s: %s", retry_.outage_text(now).c_str(),
                 what.c_str());
            outage_reported_ = true;
            break;
        case RetryPolicy::Report::Quiet:
            LOGD(log_, tag(), "%s (attempt %u, next in %u ms)", what.c_str(), step.failures,
                 step.delay_ms);
            break;
    }
    return step.delay_ms;
}

void MediaStream::note_healthy() {
    if (!outage_reported_) return;
    if (mono_us() - opened_us_ < int64_t(options_.retry.healthy_ms) * 1000) return;
    outage_reported_ = false;
    LOGI(log_, tag(), "%s is streaming again (it came back after %s)", settings_.device.c_str(),
         outage_text_.c_str());
}

std::unique_ptr<Source> MediaStream::open_source(std::string* error) {
    const StreamSettings& s = settings_;
    if (options_.open_source) return options_.open_source(s, log_, error);
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
    // The encoder and its mux outlive source restarts: the TS keeps its timestamps and
    // continuity counters, so the relay and viewers see one unbroken stream.
    std::unique_ptr<TsEncoder> encoder;

    while (!stopping_) {
        std::string error;
        std::unique_ptr<Source> source = open_source(&error);
        // A stop asked while the device was opening: close it without streaming.
        if (stopping_) break;
        if (!source) {
            ++stats_.source_errors;
            if (wait_for_stop(note_failure("cannot open " + settings_.device + ": " + error)))
                break;
            continue;
        }
        if (!encoder) {
            encoder = open_encoder(&error);
            if (!encoder) {
                source.reset();
                if (wait_for_stop(note_failure("cannot open the encoder: " + error))) break;
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
        if (!opened_once_) {
            LOGI(log_, tag(), "streaming %s as %s", source->describe().c_str(),
                 encoder->codec_name());
        } else {
            LOGD(log_, tag(), "reopened %s", source->describe().c_str());
        }
        opened_once_ = true;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            // A stop asked before this is seen by pump() before its first read.
            source_ = source.get();
        }
        // Every wanted value, before the first frame is read: a camera just plugged in (or
        // opened again) starts with the owner's settings.
        apply_controls(*source, true);
        const int64_t now = mono_us();
        if (retry_.succeeded(now)) outage_text_ = retry_.outage_text(now);
        opened_us_ = now;
        running_ = true;
        const PumpEnd end = pump(*source, *encoder, &error);
        running_ = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            source_ = nullptr;
        }
        source.reset();
        if (stopping_ || end == PumpEnd::Stopped) break;
        uint32_t delay = 0;
        if (end == PumpEnd::SourceFailed) {
            ++stats_.source_errors;
            ++stats_.restarts;
            delay = note_failure(settings_.device + " failed: " + error);
        } else {
            // The encoder failed: start it afresh (a new mux, new timestamps).
            encoder.reset();
            delay = note_failure("encoder failed: " + error);
        }
        if (wait_for_stop(delay)) break;
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
    bool open = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        controls_.set(name, percent);
        open = source_ != nullptr;
        // An open camera gets it before its next frame; one not open yet gets it from
        // controls_ when it opens (which also clears pending_, so it is written once).
        if (open) {
            pending_.set(name, percent);
            pending_flag_ = true;
        }
    }
    if (!open) {
        LOGI(log_, tag(), "%s %d %% will be applied when %s opens", name.c_str(), percent,
             settings_.device.c_str());
    }
    return true;
}

void MediaStream::apply_controls(Source& source, bool all) {
    std::vector<std::pair<std::string, int>> todo;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        todo = all ? controls_.values() : pending_.values();
        pending_ = CameraControls();
        pending_flag_ = false;
    }
    // Without the mutex: an ioctl may take seconds, and set_control() must not wait for it.
    for (const auto& [name, percent] : todo) {
        if (stopping_) return;  // the camera is about to close
        std::string error;
        ++stats_.controls;
        if (source.set_control(name, percent, &error)) {
            LOGI(log_, tag(), "%s %d %% applied to %s", name.c_str(), percent,
                 settings_.device.c_str());
        } else {
            LOGW(log_, tag(), "%s %d %% not applied: %s", name.c_str(), percent, error.c_str());
        }
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
        if (pending_flag_) apply_controls(source, false);
        note_healthy();
        int64_t capture_us = 0;
        if (!source.read(frame.get(), &capture_us, error)) {
            return stopping_ ? PumpEnd::Stopped : PumpEnd::SourceFailed;
        }
        if (keyframe_wanted_.exchange(false)) encoder.request_keyframe();
        encoder.set_silent(muted_.load());
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
