// Native ALSA capture: hw params negotiation, non-blocking reads woken by poll() on the PCM's
// descriptors plus an eventfd for interrupt(), overrun and suspend recovery, card names.
#include "media/alsa_source.h"

#include <alsa/asoundlib.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/clock.h"
#include "core/text.h"
#include "core/unique_fd.h"
#include "media/av_handles.h"
#include "media/convert.h"
#include "media/interrupt.h"

namespace robotd::media {

namespace {

constexpr const char* kTag = "alsa";
constexpr unsigned kPeriodUs = 20000;  // 20 ms a read: small against the 40 ms video frame
constexpr unsigned kPeriods = 4;       // 80 ms of slack before the hardware overruns
// A microphone that delivers nothing for this long is treated as gone.
constexpr int kNoDataTimeoutMs = 5000;
constexpr int64_t kLogEveryUs = 10000000;

struct PcmCloser {
    void operator()(snd_pcm_t* p) const { snd_pcm_close(p); }
};
struct HwParamsFree {
    void operator()(snd_pcm_hw_params_t* p) const { snd_pcm_hw_params_free(p); }
};
struct SwParamsFree {
    void operator()(snd_pcm_sw_params_t* p) const { snd_pcm_sw_params_free(p); }
};
struct CtlCloser {
    void operator()(snd_ctl_t* c) const { snd_ctl_close(c); }
};
struct CardInfoFree {
    void operator()(snd_ctl_card_info_t* i) const { snd_ctl_card_info_free(i); }
};

// A string alsa-lib allocated for us, copied and freed.
std::string take_c_string(char* s) {
    const std::unique_ptr<char, decltype(&std::free)> own(s, &std::free);
    return s ? std::string(s) : std::string();
}

bool all_digits(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Card by id or name; -1 none, -2 ambiguous (*candidates lists them).
int find_card(const std::string& want, const std::vector<AlsaCard>& cards,
              std::string* candidates) {
    const std::string w = lower(want);
    for (size_t i = 0; i < cards.size(); ++i)
        if (cards[i].id == want) return int(i);
    for (size_t i = 0; i < cards.size(); ++i)
        if (lower(cards[i].id) == w || lower(cards[i].name) == w) return int(i);
    // A part of the name: short words would match too much.
    if (w.size() < 3) return -1;
    int found = -1;
    for (size_t i = 0; i < cards.size(); ++i) {
        if (lower(cards[i].name).find(w) == std::string::npos &&
            lower(cards[i].longname).find(w) == std::string::npos)
            continue;
        *candidates += (candidates->empty() ? "" : ", ") + cards[i].id + " (" + cards[i].name + ")";
        found = found == -1 ? int(i) : -2;
    }
    return found;
}

class AlsaSource final : public Source {
  public:
    AlsaSource(Logger& log, std::string pcm, int rate, int channels)
        : log_(log), pcm_name_(std::move(pcm)), converter_(rate, channels) {}

    bool open(std::string* error);
    std::string describe() const override { return description_; }
    bool read(AVFrame* frame, int64_t* capture_us, std::string* error) override;
    void interrupt() override { interrupt_.fire(); }
    uint64_t overruns() const override { return overruns_.load(); }

  private:
    bool fail(std::string* error, std::string text) {
        *error = std::move(text);
        return false;
    }
    // Waits for data (or the interrupt) up to timeout_ms; false with *error on failure.
    bool wait(int timeout_ms, std::string* error);
    // Brings the PCM back after an error code from a read or a poll; false: give up.
    bool recover(int err, std::string* error);
    // Sleeps, unless interrupted (false).
    bool nap(int ms) {
        pollfd fd{interrupt_.fd(), POLLIN, 0};
        return poll(&fd, 1, ms) == 0;
    }

    Logger& log_;
    const std::string pcm_name_;
    std::string description_;
    std::unique_ptr<snd_pcm_t, PcmCloser> pcm_;
    Interrupt interrupt_;
    std::vector<pollfd> fds_;  // the PCM's, then the eventfd
    unsigned hw_rate_ = 0, hw_channels_ = 0;
    snd_pcm_uframes_t period_ = 0;
    bool started_ = false;
    AudioConverter converter_;
    FramePool pool_;
    AvFramePtr scratch_;  // device-format samples to convert

    std::atomic<uint64_t> overruns_{0};
    int64_t last_overrun_log_us_ = INT64_MIN / 2;
};

bool AlsaSource::open(std::string* error) {
    if (!interrupt_.open(error)) return false;
    scratch_.reset(av_frame_alloc());
    if (!scratch_) return fail(error, "out of memory");

    // Non-blocking: a read never sleeps inside alsa-lib, where interrupt() could not reach it
    // (closing the PCM from another thread under a blocked read is a use-after-free; toggling
    // snd_pcm_nonblock from another thread is not thread-safe). We sleep in poll() instead,
    // on the PCM's descriptors and our eventfd together. It also makes a busy device fail
    // the open at once instead of waiting for it.
    snd_pcm_t* raw = nullptr;
    int err = snd_pcm_open(&raw, pcm_name_.c_str(), SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
    if (err < 0) {
        if (err == -EBUSY)
            return fail(error, "ALSA capture " + pcm_name_ + " is busy (another program has it)");
        return fail(error, "cannot open ALSA capture " + pcm_name_ + ": " + snd_strerror(err));
    }
    pcm_.reset(raw);
    snd_pcm_t* pcm = pcm_.get();

    snd_pcm_hw_params_t* hw_raw = nullptr;
    if (snd_pcm_hw_params_malloc(&hw_raw) < 0) return fail(error, "out of memory");
    std::unique_ptr<snd_pcm_hw_params_t, HwParamsFree> hw(hw_raw);
    auto check = [&](int e, const char* what) {
        if (e >= 0) return true;
        *error = "ALSA capture " + pcm_name_ + ": " + what + ": " + snd_strerror(e);
        return false;
    };
    if (!check(snd_pcm_hw_params_any(pcm, hw.get()), "no configuration")) return false;
    if (!check(snd_pcm_hw_params_set_access(pcm, hw.get(), SND_PCM_ACCESS_RW_INTERLEAVED),
               "interleaved access"))
        return false;
    if (snd_pcm_hw_params_set_format(pcm, hw.get(), SND_PCM_FORMAT_S16_LE) < 0)
        return fail(error, "ALSA capture " + pcm_name_ +
                               " does not give 16-bit samples (S16_LE); try plughw:" +
                               (pcm_name_.rfind("hw:", 0) == 0 ? pcm_name_.substr(3) : "...") +
                               ", which converts");
    // Our resampler (swresample) is better than alsa-lib's default linear one: let a plug
    // device hand over its native rate rather than convert it.
    snd_pcm_hw_params_set_rate_resample(pcm, hw.get(), 0);
    unsigned channels = unsigned(converter_.channels());
    if (!check(snd_pcm_hw_params_set_channels_near(pcm, hw.get(), &channels), "channels"))
        return false;
    unsigned rate = unsigned(converter_.sample_rate());
    if (!check(snd_pcm_hw_params_set_rate_near(pcm, hw.get(), &rate, nullptr), "sample rate"))
        return false;
    // Period and buffer are wishes: a plugin that cannot meet them keeps its own, which we
    // read back below.
    unsigned period_us = kPeriodUs;
    if (snd_pcm_hw_params_set_period_time_near(pcm, hw.get(), &period_us, nullptr) < 0)
        LOGD(log_, kTag, "%s: keeps its own period", pcm_name_.c_str());
    snd_pcm_uframes_t period = 0, buffer = 0;
    if (snd_pcm_hw_params_get_period_size(hw.get(), &period, nullptr) >= 0) {
        buffer = period * kPeriods;
        if (snd_pcm_hw_params_set_buffer_size_near(pcm, hw.get(), &buffer) < 0)
            LOGD(log_, kTag, "%s: keeps its own buffer size", pcm_name_.c_str());
    }
    // Installs the configuration and prepares the PCM.
    if (!check(snd_pcm_hw_params(pcm, hw.get()), "hw params")) return false;
    snd_pcm_hw_params_get_rate(hw.get(), &hw_rate_, nullptr);
    snd_pcm_hw_params_get_channels(hw.get(), &hw_channels_);
    snd_pcm_hw_params_get_period_size(hw.get(), &period_, nullptr);
    snd_pcm_hw_params_get_buffer_size(hw.get(), &buffer);
    if (hw_rate_ == 0 || hw_channels_ == 0 || period_ == 0)
        return fail(error, "ALSA capture " + pcm_name_ + ": unusable configuration");

    // Wake poll() once a whole period is there, not per sample.
    snd_pcm_sw_params_t* sw_raw = nullptr;
    if (snd_pcm_sw_params_malloc(&sw_raw) < 0) return fail(error, "out of memory");
    std::unique_ptr<snd_pcm_sw_params_t, SwParamsFree> sw(sw_raw);
    if (!check(snd_pcm_sw_params_current(pcm, sw.get()), "sw params") ||
        !check(snd_pcm_sw_params_set_avail_min(pcm, sw.get(), period_), "avail_min") ||
        !check(snd_pcm_sw_params(pcm, sw.get()), "sw params"))
        return false;

    const int count = snd_pcm_poll_descriptors_count(pcm);
    if (count <= 0) return fail(error, "ALSA capture " + pcm_name_ + ": no poll descriptors");
    fds_.resize(size_t(count) + 1);
    if (!check(snd_pcm_poll_descriptors(pcm, fds_.data(), unsigned(count)), "poll descriptors"))
        return false;
    fds_.back() = {interrupt_.fd(), POLLIN, 0};

    description_ = "ALSA " + pcm_name_ + " (s16 " + std::to_string(hw_rate_) + " Hz " +
                   std::to_string(hw_channels_) + " ch, period " + std::to_string(period_) +
                   ", buffer " + std::to_string(buffer) + " frames";
    if (!converter_.is_target(AV_SAMPLE_FMT_S16, int(hw_rate_), int(hw_channels_)))
        description_ += " -> s16 " + std::to_string(converter_.sample_rate()) + " Hz " +
                        std::to_string(converter_.channels()) + " ch";
    description_ += ")";
    LOGI(log_, kTag, "opened %s", description_.c_str());
    return true;
}

bool AlsaSource::recover(int err, std::string* error) {
    snd_pcm_t* pcm = pcm_.get();
    if (err == -EPIPE) {
        // Overrun: nobody read in time and the hardware wrote over unread samples.
        ++overruns_;
        const int64_t now = mono_us();
        if (now - last_overrun_log_us_ >= kLogEveryUs) {
            last_overrun_log_us_ = now;
            LOGW(log_, kTag, "%s: overrun, samples lost (%llu so far)", pcm_name_.c_str(),
                 static_cast<unsigned long long>(overruns_.load()));
        }
        err = snd_pcm_prepare(pcm);
        if (err >= 0) err = snd_pcm_start(pcm);
        if (err < 0) return fail(error, pcm_name_ + ": after an overrun: " + snd_strerror(err));
        return true;
    }
    if (err == -ESTRPIPE) {
        // The system suspended: resume where the hardware can, else start over.
        LOGI(log_, kTag, "%s: resuming after a suspend", pcm_name_.c_str());
        while ((err = snd_pcm_resume(pcm)) == -EAGAIN)
            if (!nap(100)) return fail(error, "interrupted");
        if (err < 0) {
            err = snd_pcm_prepare(pcm);
            if (err >= 0) err = snd_pcm_start(pcm);
        }
        if (err < 0) return fail(error, pcm_name_ + ": after a suspend: " + snd_strerror(err));
        return true;
    }
    if (err == -ENODEV) return fail(error, "microphone " + pcm_name_ + " vanished (ENODEV)");
    return fail(error, pcm_name_ + ": capture failed: " + snd_strerror(err));
}

bool AlsaSource::wait(int timeout_ms, std::string* error) {
    const unsigned count = unsigned(fds_.size() - 1);
    // Some plugins rewrite their descriptors' events: fetch them afresh for every poll.
    snd_pcm_poll_descriptors(pcm_.get(), fds_.data(), count);
    for (auto& fd : fds_) fd.revents = 0;
    const int n = poll(fds_.data(), fds_.size(), timeout_ms);
    if (n < 0) return errno == EINTR || fail(error, std::string("poll: ") + std::strerror(errno));
    if (fds_.back().revents) return fail(error, "interrupted");
    if (n == 0) return true;  // the caller's deadline decides
    unsigned short revents = 0;
    snd_pcm_poll_descriptors_revents(pcm_.get(), fds_.data(), count, &revents);
    if (!(revents & POLLERR)) return true;
    // An error state: recover here, as a read might just answer EAGAIN and spin.
    switch (snd_pcm_state(pcm_.get())) {
        case SND_PCM_STATE_XRUN:
            return recover(-EPIPE, error);
        case SND_PCM_STATE_SUSPENDED:
            return recover(-ESTRPIPE, error);
        case SND_PCM_STATE_DISCONNECTED:
            return recover(-ENODEV, error);
        case SND_PCM_STATE_PREPARED: {
            const int err = snd_pcm_start(pcm_.get());
            return err >= 0 || recover(err, error);
        }
        default:
            return nap(10) || fail(error, "interrupted");
    }
}

bool AlsaSource::read(AVFrame* frame, int64_t* capture_us, std::string* error) {
    if (interrupt_.fired()) return fail(error, "interrupted");
    if (!started_) {
        // Started at the first read, not at open: until someone reads, the hardware would
        // only overrun.
        const int err = snd_pcm_start(pcm_.get());
        if (err < 0) return fail(error, pcm_name_ + ": cannot start: " + snd_strerror(err));
        started_ = true;
    }
    const bool direct = converter_.is_target(AV_SAMPLE_FMT_S16, int(hw_rate_), int(hw_channels_));
    AVFrame* dst = direct ? frame : scratch_.get();
    if (!pool_.get_audio(dst, int(period_), int(hw_rate_), int(hw_channels_), error)) return false;
    const int64_t deadline = mono_us() + int64_t(kNoDataTimeoutMs) * 1000;
    for (;;) {
        if (interrupt_.fired()) return fail(error, "interrupted");
        const snd_pcm_sframes_t n = snd_pcm_readi(pcm_.get(), dst->data[0], period_);
        if (n > 0) {
            // The first sample of this chunk was digitised (delay + n) frames ago: delay
            // counts what is still waiting behind it.
            const int64_t now = mono_us();
            snd_pcm_sframes_t delay = 0;
            if (snd_pcm_delay(pcm_.get(), &delay) < 0 || delay < 0) delay = 0;
            const int64_t start = now - (int64_t(delay) + n) * 1000000 / hw_rate_;
            dst->nb_samples = int(n);
            dst->linesize[0] = int(n * hw_channels_ * 2);
            if (direct) {
                *capture_us = start;
                return true;
            }
            if (!converter_.convert(dst->data[0], int(n), int(hw_rate_), int(hw_channels_), start,
                                    frame, capture_us, error))
                return false;
            if (frame->nb_samples > 0) return true;
            continue;  // the resampler is still filling
        }
        if (n == -EAGAIN || n == 0) {
            const int64_t left_ms = (deadline - mono_us()) / 1000;
            if (left_ms <= 0)
                return fail(error, "no audio from " + pcm_name_ + " in " +
                                       std::to_string(kNoDataTimeoutMs / 1000) + " s");
            if (!wait(int(left_ms), error)) return false;
            continue;
        }
        if (!recover(int(n), error)) return false;
    }
}

}  // namespace

std::vector<AlsaCard> list_alsa_cards() {
    std::vector<AlsaCard> cards;
    int index = -1;
    while (snd_card_next(&index) >= 0 && index >= 0) {
        AlsaCard card;
        card.index = index;
        char* text = nullptr;
        if (snd_card_get_name(index, &text) >= 0) card.name = take_c_string(text);
        text = nullptr;
        if (snd_card_get_longname(index, &text) >= 0) card.longname = take_c_string(text);
        // The id lives in the card's control interface.
        snd_ctl_t* ctl_raw = nullptr;
        const std::string hw = "hw:" + std::to_string(index);
        if (snd_ctl_open(&ctl_raw, hw.c_str(), 0) >= 0) {
            std::unique_ptr<snd_ctl_t, CtlCloser> ctl(ctl_raw);
            snd_ctl_card_info_t* info_raw = nullptr;
            if (snd_ctl_card_info_malloc(&info_raw) >= 0) {
                std::unique_ptr<snd_ctl_card_info_t, CardInfoFree> info(info_raw);
                if (snd_ctl_card_info(ctl.get(), info.get()) >= 0)
                    card.id = snd_ctl_card_info_get_id(info.get());
            }
        }
        if (card.id.empty()) card.id = std::to_string(index);
        cards.push_back(std::move(card));
    }
    return cards;
}

std::string alsa_pcm_name(const std::string& device_in, const std::vector<AlsaCard>& cards,
                          std::string* error) {
    const std::string device(trim(device_in));
    if (device.empty()) {
        *error = "no microphone device (mic_device and mic_num are empty)";
        return "";
    }
    // The reference's mic_num form.
    const auto comma = device.find(',');
    if (all_digits(device)) return "hw:" + device + ",0";
    if (comma != std::string::npos && all_digits(device.substr(0, comma)) &&
        all_digits(device.substr(comma + 1)))
        return "hw:" + device;
    if (device.find(':') != std::string::npos) return device;
    static const char* const kPcmNames[] = {"default", "sysdefault", "pulse",  "pipewire",
                                            "jack",    "dmix",       "dsnoop", "plug",
                                            "hw",      "plughw",     "null"};
    for (const char* name : kPcmNames)
        if (device == name) return device;

    std::string candidates;
    int card = find_card(device, cards, &candidates);
    std::string dev = "0";
    const auto last_comma = device.rfind(',');
    if (card == -1 && last_comma != std::string::npos &&
        all_digits(device.substr(last_comma + 1))) {
        // "USB Audio,1": device 1 of that card.
        candidates.clear();
        card = find_card(std::string(trim(device.substr(0, last_comma))), cards, &candidates);
        dev = device.substr(last_comma + 1);
    }
    if (card == -2) {
        *error = "microphone '" + device + "' matches several sound cards: " + candidates +
                 "; name one by its id";
        return "";
    }
    if (card >= 0) return "hw:CARD=" + cards[size_t(card)].id + ",DEV=" + dev;
    return device;  // perhaps a PCM defined in asound.conf; the open will tell
}

std::unique_ptr<Source> open_alsa_source(const std::string& pcm, int sample_rate, int channels,
                                         Logger& log, std::string* error) {
    auto source = std::make_unique<AlsaSource>(log, pcm, sample_rate, channels);
    if (!source->open(error)) return nullptr;
    return source;
}

}  // namespace robotd::media
