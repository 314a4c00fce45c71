#include "robot/media.h"

#include "robot/lookups.h"

namespace robotd {

Media::Media(Loop& loop, const Config& config, Discovery& discovery)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      discovery_(discovery),
      width_(config.camera.x_res),
      height_(config.camera.y_res) {
    wake_id_ = loop_.add_wake([this] {
        for (Stream* s : {&video_, &audio_})
            if (s->upload) s->upload->pump();
    });
    video_.wanted = !config_.camera.no_camera;
    audio_.wanted = !config_.camera.no_mic;
}

Media::~Media() {
    stop(video_);
    stop(audio_);
    loop_.remove_wake(wake_id_);
}

media::StreamSettings Media::settings_for(media::StreamKind kind) const {
    media::StreamSettings s;
    s.kind = kind;
    s.ring_bytes = static_cast<size_t>(config_.media.ring_kib) * 1024;
    if (kind == media::StreamKind::Video) {
        s.device = config_.camera.camera_device;
        s.width = width_;
        s.height = height_;
        s.gop = config_.media.gop;
        s.bitrate_kbps = config_.ffmpeg.video_bitrate;
        s.controls = controls_;
        s.video_options = {config_.media.camera_format, config_.media.m2m};
    } else {
        // The reference's mic_num ("1,0") names an ALSA card,device when mic_device is empty.
        s.device = config_.camera.mic_device.empty() ? "hw:" + config_.camera.mic_num
                                                     : config_.camera.mic_device;
        s.bitrate_kbps = config_.ffmpeg.audio_bitrate;
        s.sample_rate = config_.ffmpeg.audio_sample_rate;
        s.channels = config_.ffmpeg.audio_channels;
    }
    return s;
}

std::optional<Url> Media::upload_url(const Stream& s) const {
    const Endpoints& e = discovery_.endpoints();
    const auto& port = s.kind == media::StreamKind::Video ? e.video_port : e.audio_port;
    if (!e.relay_host || !port) return std::nullopt;
    // The audio URL carries a fixed 640/480, as the reference client's did.
    const int w = s.kind == media::StreamKind::Video ? width_ : 640;
    const int h = s.kind == media::StreamKind::Video ? height_ : 480;
    return Url{config_.misc.discovered_scheme, *e.relay_host, *port,
               "/" + path_segment(config_.robot.stream_key) + "/" + std::to_string(w) + "/" +
                   std::to_string(h)};
}

void Media::stop(Stream& s) {
    if (s.upload) {
        s.upload->close();
        s.upload.reset();
    }
    if (s.encoder) {
        const auto& st = s.encoder->stats();
        LOGI(log_, s.kind == media::StreamKind::Video ? "video" : "audio",
             "encoder stopped: %llu frames, %llu dropped (ring full), %llu source errors",
             static_cast<unsigned long long>(st.frames.load()),
             static_cast<unsigned long long>(st.dropped.load()),
             static_cast<unsigned long long>(st.source_errors.load()));
        s.encoder.reset();  // joins the thread
    }
}

void Media::update(Stream& s) {
    const char* name = s.kind == media::StreamKind::Video ? "video" : "audio";
    const auto url = upload_url(s);
    if (!s.wanted) {
        stop(s);
        return;
    }
    if (!url) return;  // discovery has not found the relay yet
    if (!s.encoder) {
        s.encoder = std::make_unique<media::MediaStream>(
            settings_for(s.kind), log_, [ctx = loop_.context()] { lws_cancel_service(ctx); });
        media::MediaStream* enc = s.encoder.get();
        s.upload =
            std::make_unique<Upload>(loop_, name, enc->ring(), [enc] { enc->request_keyframe(); });
        s.upload->on_failing([this, kind = s.kind](int failures) {
            if (failures % 3) return;
            // The relay may have moved: look its host and this stream's port up again.
            discovery_.refresh(LookupId::RelayHost);
            discovery_.refresh(kind == media::StreamKind::Video ? LookupId::VideoPort
                                                                : LookupId::AudioPort);
        });
        s.encoder->start();
        s.upload->open(*url);
        LOGI(log_, name, "started: %s", s.encoder->settings().device.c_str());
    } else if (s.upload->url().str() != url->str()) {
        s.upload->open(*url);
    }
}

void Media::resolved(LookupId id) {
    if (id == LookupId::RelayHost || id == LookupId::VideoPort) update(video_);
    if (id == LookupId::RelayHost || id == LookupId::AudioPort) update(audio_);
}

void Media::set_video(bool on) {
    video_.wanted = on && !config_.camera.no_camera;
    update(video_);
}

void Media::apply_settings(const RobotSettings& s) {
    const int w = s.xres.value_or(width_), h = s.yres.value_or(height_);
    if ((w != width_ || h != height_) && w % 2 == 0 && h % 2 == 0) {
        LOGI(log_, "video", "size %dx%d -> %dx%d: restarting capture and encoder", width_, height_,
             w, h);
        width_ = w;
        height_ = h;
        stop(video_);
        update(video_);
    }
    mic_enabled_ = s.mic_enabled.value_or(true);
    const bool audio = !config_.camera.no_mic && mic_enabled_;
    if (audio != audio_.wanted) {
        LOGI(log_, "audio", "%s (mic_enabled=%s)", audio ? "on" : "off",
             mic_enabled_ ? "true" : "false");
        audio_.wanted = audio;
        update(audio_);
    }
}

void Media::set_camera_control(const std::string& name, int percent) {
    const std::string why = media::check_camera_control(name, percent);
    if (!why.empty()) {
        LOGW(log_, "video", "camera control rejected: %s", why.c_str());
        return;
    }
    if (config_.camera.no_camera) {
        LOGI(log_, "video", "%s %d %% not applied: no camera ([camera] no_camera = true)",
             name.c_str(), percent);
        return;
    }
    controls_.set(name, percent);
    if (video_.encoder) {
        video_.encoder->set_control(name, percent);  // logs the outcome
        return;
    }
    LOGI(log_, "video", "%s %d %% kept for when video starts (%s)", name.c_str(), percent,
         video_.wanted ? "the relay is not known yet" : "video is off");
}

bool Media::video_running() const {
    return video_.encoder && video_.encoder->running();
}

}  // namespace robotd
