#include "robot/media.h"

#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/retry.h"
#include "robot/lookups.h"

namespace robotd {

namespace {

const char* tag(media::StreamKind kind) {
    return kind == media::StreamKind::Video ? "video" : "audio";
}

const char* bitrate_key(media::StreamKind kind) {
    return kind == media::StreamKind::Video ? "[ffmpeg] video_bitrate" : "[ffmpeg] audio_bitrate";
}

int config_kbps(const Config& c, media::StreamKind kind) {
    return kind == media::StreamKind::Video ? c.ffmpeg.video_bitrate : c.ffmpeg.audio_bitrate;
}

}  // namespace

Media::Media(Loop& loop, const Config& config, Discovery& discovery, MediaOptions options)
    : Media(loop, config,
            MediaRelay{[&discovery]() -> const Endpoints& { return discovery.endpoints(); },
                       [&discovery](LookupId id) { discovery.refresh(id); }},
            std::move(options)) {}

Media::Media(Loop& loop, const Config& config, MediaRelay relay, MediaOptions options)
    : loop_(loop),
      log_(loop.log()),
      config_(config),
      relay_(std::move(relay)),
      options_(std::move(options)),
      width_(config.camera.x_res),
      height_(config.camera.y_res),
      config_width_(width_),
      config_height_(height_) {
    // Every record pushed and every thread's end wake the loop: drain the rings, join the
    // threads that have ended, and start what waited for them.
    wake_id_ = loop_.add_wake([this] {
        for (Stream* s : {&video_, &audio_}) {
            if (reap(*s)) update(*s);
            if (s->upload) s->upload->pump();
        }
    });
    video_.wanted = video_allowed();
    audio_.wanted = audio_allowed();
    for (Stream* s : {&video_, &audio_}) s->config_kbps = config_kbps(config_, s->kind);
}

Media::~Media() {
    loop_.remove_wake(wake_id_);
    for (Stream* s : {&video_, &audio_}) {
        s->wanted = false;
        retire(*s);
    }
    // One deadline for both: each normally ends within a frame.
    const int64_t deadline = mono_us() + int64_t(options_.exit_wait_ms) * 1000;
    bool stuck = false;
    for (Stream* s : {&video_, &audio_}) {
        if (!s->retiring) continue;
        const int64_t left_ms = std::max<int64_t>(0, (deadline - mono_us()) / 1000);
        if (s->retiring->wait_ended(uint32_t(left_ms))) {
            reap(*s);
            continue;
        }
        LOGE(log_, tag(s->kind),
             "the capture thread is still inside %s %s after it was asked to stop (the device "
             "stopped answering?); exiting without waiting for it",
             s->retiring->settings().device.c_str(),
             describe_duration(int64_t(options_.exit_wait_ms) * 1000).c_str());
        stuck = true;
    }
    // Neither waited for (robotd's exit would hang on the kernel) nor left behind (the thread
    // uses the Logger and the loop's context, destroyed after this): see media.h.
    if (stuck) _exit(EX_IOERR);
}

media::StreamSettings Media::settings_for(media::StreamKind kind) const {
    media::StreamSettings s;
    s.kind = kind;
    s.ring_bytes = static_cast<size_t>(config_.media.ring_kib) * 1024;
    s.bitrate_kbps = (kind == media::StreamKind::Video ? video_ : audio_)
                         .kbps_override.value_or(config_kbps(config_, kind));
    if (kind == media::StreamKind::Video) {
        s.device = config_.camera.camera_device;
        s.width = width_;
        s.height = height_;
        s.gop = config_.media.gop;
        s.controls = controls_;
        s.video_options = {config_.media.camera_format, config_.media.m2m};
    } else {
        // The reference's mic_num ("1,0") names an ALSA card,device when mic_device is empty.
        s.device = config_.camera.mic_device.empty() ? "hw:" + config_.camera.mic_num
                                                     : config_.camera.mic_device;
        s.sample_rate = config_.ffmpeg.audio_sample_rate;
        s.channels = config_.ffmpeg.audio_channels;
    }
    return s;
}

std::optional<Url> Media::upload_url(const Stream& s) const {
    const Endpoints& e = relay_.endpoints();
    const auto& port = s.kind == media::StreamKind::Video ? e.video_port : e.audio_port;
    if (!e.relay_host || !port) return std::nullopt;
    // The audio URL carries a fixed 640/480, as the reference client's did.
    const int w = s.kind == media::StreamKind::Video ? width_ : 640;
    const int h = s.kind == media::StreamKind::Video ? height_ : 480;
    return Url{config_.misc.discovered_scheme, *e.relay_host, *port,
               "/" + path_segment(config_.robot.stream_key) + "/" + std::to_string(w) + "/" +
                   std::to_string(h)};
}

void Media::retire(Stream& s) {
    if (s.upload) {
        s.upload->close();
        s.upload.reset();
    }
    if (!s.encoder) return;
    s.encoder->request_stop();
    // Nothing retires yet: a start waits until the previous thread is reaped.
    s.retiring = std::move(s.encoder);
    reap(s);  // one that had ended already (it never got going) goes at once
}

bool Media::reap(Stream& s) {
    if (!s.retiring || !s.retiring->reap()) return false;
    const auto& st = s.retiring->stats();
    LOGI(log_, tag(s.kind),
         "encoder stopped: %llu frames, %llu dropped (ring full), %llu source errors",
         static_cast<unsigned long long>(st.frames.load()),
         static_cast<unsigned long long>(st.dropped.load()),
         static_cast<unsigned long long>(st.source_errors.load()));
    s.retiring.reset();  // joined already: instant
    return true;
}

void Media::update(Stream& s) {
    if (!s.wanted) {
        s.start_waits = false;
        retire(s);
        return;
    }
    const auto url = upload_url(s);
    if (!url) return;  // discovery has not found the relay yet
    if (s.encoder) {
        if (s.upload->url().str() != url->str()) s.upload->open(*url);
        return;
    }
    if (s.retiring) {
        // The old thread may still hold the device (inside a slow open, say): opening it
        // again now could fail, or take the device from under it.
        if (!s.start_waits) {
            LOGI(log_, tag(s.kind), "start waits for the previous capture thread to let go of %s",
                 s.retiring->settings().device.c_str());
        }
        s.start_waits = true;
        return;
    }
    s.start_waits = false;
    start(s, *url);
}

void Media::start(Stream& s, const Url& url) {
    media::StreamOptions options;
    options.open_source = options_.open_source;
    s.encoder = std::make_unique<media::MediaStream>(
        settings_for(s.kind), log_, [ctx = loop_.context()] { lws_cancel_service(ctx); },
        std::move(options));
    if (s.kind == media::StreamKind::Audio) s.encoder->set_muted(mic_muted_);
    media::MediaStream* enc = s.encoder.get();
    s.upload = std::make_unique<Upload>(loop_, tag(s.kind), enc->ring(),
                                        [enc] { enc->request_keyframe(); });
    s.upload->on_failing([this, kind = s.kind](int failures) {
        if (failures % 3) return;
        // The relay may have moved: look its host and this stream's port up again.
        relay_.refresh(LookupId::RelayHost);
        relay_.refresh(kind == media::StreamKind::Video ? LookupId::VideoPort
                                                        : LookupId::AudioPort);
    });
    s.encoder->start();
    s.upload->open(url);
    LOGI(log_, tag(s.kind), "started: %s", s.encoder->settings().device.c_str());
}

void Media::resolved(LookupId id) {
    if (id == LookupId::RelayHost || id == LookupId::VideoPort) update(video_);
    if (id == LookupId::RelayHost || id == LookupId::AudioPort) update(audio_);
}

void Media::set_video(bool on) {
    video_on_ = on;
    video_.wanted = video_allowed();
    update(video_);
}

void Media::apply_settings(const RobotSettings& s) {
    const int w = s.xres.value_or(width_), h = s.yres.value_or(height_);
    if ((w != width_ || h != height_) && w % 2 == 0 && h % 2 == 0) {
        LOGI(log_, "video", "size %dx%d -> %dx%d: restarting capture and encoder", width_, height_,
             w, h);
        width_ = w;
        height_ = h;
        retire(video_);
        update(video_);
    }
    mic_enabled_ = s.mic_enabled.value_or(true);
    const bool audio = audio_allowed();
    if (audio != audio_.wanted) {
        LOGI(log_, "audio", "%s (mic_enabled=%s)", audio ? "on" : "off",
             mic_enabled_ ? "true" : "false");
        audio_.wanted = audio;
        update(audio_);
    }
}

void Media::tls_changed() {
    for (Stream* s : {&video_, &audio_})
        if (s->upload && s->upload->url().tls()) s->upload->open(s->upload->url());
}

bool Media::reconfigure() {
    if (config_.camera.x_res != config_width_ || config_.camera.y_res != config_height_) {
        // The file's size changed: it replaces the current one (which the server's robot
        // settings may have set; their next change replaces it again).
        config_width_ = width_ = config_.camera.x_res;
        config_height_ = height_ = config_.camera.y_res;
    }
    for (Stream* s : {&video_, &audio_}) {
        // The file's bitrate changed: it replaces the owner's (as the file's size replaces
        // the server's); an unchanged one leaves the owner's standing.
        const int file = config_kbps(config_, s->kind);
        if (file == s->config_kbps) continue;
        if (s->kbps_override) {
            LOGI(log_, tag(s->kind), "%s changed to %d kbit/s: it replaces the owner's %d kbit/s",
                 bitrate_key(s->kind), file, *s->kbps_override);
            s->kbps_override.reset();
        }
        s->config_kbps = file;
    }
    video_.wanted = video_allowed();
    audio_.wanted = audio_allowed();
    bool changed = false;
    for (Stream* s : {&video_, &audio_}) {
        const bool had = s->encoder != nullptr;
        const std::string old_url = s->upload ? s->upload->url().str() : "";
        if (s->encoder && s->wanted) {
            const media::StreamSettings wanted = settings_for(s->kind);
            const std::string what = media::capture_changes(s->encoder->settings(), wanted);
            if (!what.empty()) {
                LOGI(log_, tag(s->kind), "config changed (%s): restarting capture and encoder",
                     what.c_str());
                retire(*s);
                // Said here: an old thread that ended at once is already replaced by update(),
                // so had/has below would not show the restart.
                changed = true;
            }
        }
        update(*s);
        const bool has = s->encoder != nullptr;
        if (had != has || (has && s->upload->url().str() != old_url)) changed = true;
    }
    return changed;
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
        video_.encoder->set_control(name, percent);  // the stream's thread logs the outcome
        return;
    }
    LOGI(log_, "video", "%s %d %% kept for when video starts (%s)", name.c_str(), percent,
         !video_.wanted       ? "video is off"
         : video_.start_waits ? "the previous capture thread is still ending"
                              : "the relay is not known yet");
}

std::string Media::off_reason(const Stream& s) const {
    if (s.kind == media::StreamKind::Video) {
        return config_.camera.no_camera ? "there is no camera ([camera] no_camera = true)"
                                        : "video is off (VIDOFF or .video stop)";
    }
    if (config_.camera.no_mic) return "there is no microphone ([camera] no_mic = true)";
    if (!mic_enabled_) return "the site's robot settings say mic_enabled=false";
    return "audio is off (.audio stop)";
}

void Media::set_audio(bool on) {
    audio_on_ = on;
    audio_.wanted = audio_allowed();
    if (on && !audio_.wanted) {
        LOGI(log_, "audio", "start asked, but %s: audio stays off", off_reason(audio_).c_str());
    } else if (!on && audio_.encoder) {
        LOGI(log_, "audio", "stopping (.audio stop)");
    }
    update(audio_);
}

void Media::restart(media::StreamKind kind) {
    Stream& s = stream_of(kind);
    if (!s.wanted) {
        LOGI(log_, tag(kind), "restart not done: %s, and it stays off", off_reason(s).c_str());
        return;
    }
    if (!s.encoder) {
        // Nothing runs to restart: it starts by itself once it can.
        LOGI(log_, tag(kind), "restart not needed: not started yet (%s)",
             s.start_waits ? "the previous capture thread is still ending"
                           : "the relay is not known yet");
        return;
    }
    LOGI(log_, tag(kind), "restarting capture, encoder and upload (.%s restart)", tag(kind));
    retire(s);
    update(s);
}

bool Media::set_bitrate(media::StreamKind kind, int kbps) {
    const std::string why = media::check_bitrate(kind, kbps);
    if (!why.empty()) {
        LOGW(log_, tag(kind), ".%s bitrate refused: %s; the bitrate stays as it was", tag(kind),
             why.c_str());
        return false;
    }
    Stream& s = stream_of(kind);
    s.kbps_override = kbps;
    if (!s.encoder) {
        LOGI(log_, tag(kind), "bitrate %d kbit/s kept for when %s starts (%s)", kbps, tag(kind),
             !s.wanted       ? off_reason(s).c_str()
             : s.start_waits ? "the previous capture thread is still ending"
                             : "the relay is not known yet");
        return true;
    }
    const int running = s.encoder->settings().bitrate_kbps;
    if (running == kbps) {
        LOGI(log_, tag(kind), "bitrate is %d kbit/s already", kbps);
        return true;
    }
    LOGI(log_, tag(kind),
         "bitrate %d -> %d kbit/s (the owner's, over %s until robotd exits): restarting capture "
         "and encoder",
         running, kbps, bitrate_key(kind));
    retire(s);
    update(s);
    return true;
}

void Media::set_mic_muted(bool muted) {
    if (muted == mic_muted_) {
        LOGI(log_, "audio", "microphone %s already", muted ? "muted" : "unmuted");
        return;
    }
    mic_muted_ = muted;
    if (audio_.encoder) audio_.encoder->set_muted(muted);
    if (muted) {
        LOGI(log_, "audio", "microphone muted: the audio stream carries silence until .mic unmute");
    } else {
        LOGI(log_, "audio", "microphone unmuted: the audio stream carries its sound again");
    }
}

const media::MediaStream* Media::stream(media::StreamKind kind) const {
    return kind == media::StreamKind::Video ? video_.encoder.get() : audio_.encoder.get();
}

std::string Media::status() const {
    std::vector<const char*> streaming, starting, off;
    for (const Stream* s : {&video_, &audio_}) {
        const char* name = s->kind == media::StreamKind::Video ? "video" : "audio";
        if (!s->wanted)
            off.push_back(name);
        else if (s->encoder && s->encoder->running() && s->upload && s->upload->streaming())
            streaming.push_back(name);
        else
            starting.push_back(name);
    }
    std::string out;
    for (auto [names, what] : {std::pair{&streaming, " streaming"},
                               std::pair{&starting, " starting"}, std::pair{&off, " off"}}) {
        if (names->empty()) continue;
        if (!out.empty()) out += "; ";
        out += names->size() == 2 ? std::string("video and audio") : std::string((*names)[0]);
        out += what;
    }
    return out;
}

bool Media::video_running() const {
    return video_.encoder && video_.encoder->running();
}

int Media::threads() const {
    int n = 0;
    for (const Stream* s : {&video_, &audio_})
        n += (s->encoder != nullptr) + (s->retiring != nullptr);
    return n;
}

}  // namespace robotd
