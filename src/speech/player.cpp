#include "speech/player.h"

#include <alsa/asoundlib.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/text.h"

namespace robotd::speech {

namespace {

struct PcmCloser {
    void operator()(snd_pcm_t* p) const { snd_pcm_close(p); }
};
struct HwParamsFree {
    void operator()(snd_pcm_hw_params_t* p) const { snd_pcm_hw_params_free(p); }
};

bool all_digits(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "N" or "N,M" as plughw:N,M; "" when it is not that.
std::string card_device(const std::string& s) {
    const auto comma = s.find(',');
    if (comma == std::string::npos) return all_digits(s) ? "plughw:" + s + ",0" : "";
    if (all_digits(s.substr(0, comma)) && all_digits(s.substr(comma + 1))) return "plughw:" + s;
    return "";
}

constexpr unsigned kPeriodUs = 50000;   // a write wakes the thread every 50 ms
constexpr unsigned kBufferUs = 250000;  // what a stop throws away at most
constexpr unsigned kTailMs = 60;        // silence after the speech: the device's FIFO plays out

}  // namespace

std::string speaker_pcm(const std::string& device_in, const std::string& num_in,
                        std::string* error) {
    const std::string device(trim(device_in)), num(trim(num_in));
    if (!device.empty()) {
        if (device.find(':') != std::string::npos) return device;
        static const char* const kPcmNames[] = {"default", "sysdefault", "pulse", "pipewire",
                                                "jack",    "dmix",       "plug",  "null"};
        for (const char* name : kPcmNames)
            if (device == name) return device;
        const std::string numbered = card_device(device);
        if (!numbered.empty()) return numbered;
        return "plughw:CARD=" + device;
    }
    if (num.empty()) return "default";
    const std::string numbered = card_device(num);
    if (numbered.empty())
        *error = "[tts] speaker_num '" + num + "': expected a card number N or N,M";
    return numbered;
}

void scale_volume(std::vector<uint8_t>* pcm, const WavFormat& format, int percent) {
    percent = std::clamp(percent, 0, 100);
    if (percent == 100) return;
    if (format.bits == 8) {
        for (uint8_t& s : *pcm) s = uint8_t(128 + (int(s) - 128) * percent / 100);
        return;
    }
    for (size_t i = 0; i + 1 < pcm->size(); i += 2) {
        const int16_t s = int16_t(uint16_t((*pcm)[i] | (*pcm)[i + 1] << 8));
        const uint16_t out = uint16_t(int16_t(int32_t(s) * percent / 100));
        (*pcm)[i] = uint8_t(out);
        (*pcm)[i + 1] = uint8_t(out >> 8);
    }
}

Player::Player(std::function<void()> wake) : s_(std::make_shared<Shared>()) {
    s_->wake = std::move(wake);
    s_->wake_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (s_->wake_fd.valid()) thread_ = std::thread([s = s_] { run(s); });
}

Player::~Player() {
    {
        std::lock_guard<std::mutex> lock(s_->mutex);
        s_->quit = true;
    }
    stop();
    s_->cv.notify_all();
    if (!thread_.joinable()) return;
    std::unique_lock<std::mutex> lock(s_->mutex);
    const bool ended = s_->cv.wait_for(lock, std::chrono::milliseconds(kJoinLimitMs),
                                       [this] { return s_->ended; });
    s_->wake = nullptr;  // the owner's loop may be gone next
    lock.unlock();
    if (ended)
        thread_.join();
    else
        thread_.detach();  // stuck inside alsa-lib: it ends on its own, on Shared alone
}

bool Player::play(std::string pcm, Wav wav, int percent) {
    Job job;
    job.pcm = std::move(pcm);
    job.wav = std::move(wav);
    job.percent = percent;
    return start(std::move(job));
}

bool Player::play_file(std::string pcm, std::unique_ptr<TempWav> file, const std::string& program,
                       size_t max_bytes, int percent) {
    Job job;
    job.pcm = std::move(pcm);
    job.percent = percent;
    job.file = std::move(file);
    job.program = program;
    job.max_bytes = max_bytes;
    return start(std::move(job));
}

bool Player::start(Job job) {
    {
        std::lock_guard<std::mutex> lock(s_->mutex);
        if (!ok() || s_->running || s_->result || s_->quit) return false;
        drain_wake_fd();  // a stop() that came after the last playback had ended
        s_->stop = false;
        s_->job = std::move(job);
        s_->running = true;
    }
    s_->cv.notify_all();
    return true;
}

void Player::stop() {
    s_->stop = true;
    const uint64_t one = 1;
    if (s_->wake_fd.valid() && write(s_->wake_fd.get(), &one, sizeof one) < 0) {
    }
}

bool Player::busy() const {
    std::lock_guard<std::mutex> lock(s_->mutex);
    return s_->running || s_->result.has_value();
}

std::optional<PlayResult> Player::take_result() {
    std::lock_guard<std::mutex> lock(s_->mutex);
    std::optional<PlayResult> r = std::move(s_->result);
    s_->result.reset();
    return r;
}

void Player::drain_wake_fd() {
    uint64_t n;
    while (read(s_->wake_fd.get(), &n, sizeof n) > 0) {
    }
}

void Player::run(const std::shared_ptr<Shared>& s) {
    for (;;) {
        Job job;
        {
            std::unique_lock<std::mutex> lock(s->mutex);
            s->cv.wait(lock, [&] { return s->quit || s->job.has_value(); });
            if (s->quit) {
                s->ended = true;
                s->cv.notify_all();
                return;
            }
            job = std::move(*s->job);
            s->job.reset();
        }
        PlayResult r = play_job(*s, job);
        std::lock_guard<std::mutex> lock(s->mutex);
        s->result = std::move(r);
        s->running = false;
        // Under the mutex: the destructor clears it under the same mutex.
        if (s->wake) s->wake();
    }
}

bool Player::wait_device(Shared& s, snd_pcm_t* pcm, int ms, int* err) {
    pollfd fds[8];
    fds[0] = {s.wake_fd.get(), POLLIN, 0};
    int n = pcm ? snd_pcm_poll_descriptors(pcm, fds + 1, 7) : 0;
    if (n < 0) n = 0;
    *err = 0;
    if (poll(fds, nfds_t(n + 1), ms) < 0 && errno != EINTR) *err = -errno;
    return !s.stop.load();
}

PlayResult Player::play_job(Shared& s, Job& job) {
    PlayResult r;
    if (job.file) {
        std::string error;
        const bool read = read_wav_file(job.file->path(), job.max_bytes, &job.wav, &error);
        job.file.reset();  // the file and its directory go here, off the loop
        if (!read || job.wav.pcm.empty()) {
            r.bad_file = true;
            r.error = read ? job.program + " made no sound" : job.program + ": " + error;
            return r;
        }
    }
    const WavFormat f = job.wav.format;
    const size_t frame = f.frame_bytes();
    auto fail = [&r](std::string why) {
        r.error = std::move(why);
        return r;
    };
    if (frame == 0 || f.rate == 0) return fail("no sound to play");
    scale_volume(&job.wav.pcm, f, job.percent);
    // Silence after the speech, so the last syllable is not cut by the end of the stream.
    job.wav.pcm.resize(job.wav.pcm.size() + size_t(f.rate) * kTailMs / 1000 * frame,
                       f.bits == 8 ? 128 : 0);

    // Non-blocking: every wait is our poll() with the stop eventfd, so a stop is prompt and a
    // device that stops answering can never hold the thread for good.
    snd_pcm_t* raw = nullptr;
    int err = snd_pcm_open(&raw, job.pcm.c_str(), SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (err < 0) {
        r.open_failed = true;
        if (err == -EBUSY)
            return fail("the speaker " + job.pcm + " is busy (another program has it)");
        return fail("cannot open the speaker " + job.pcm + ": " + snd_strerror(err));
    }
    std::unique_ptr<snd_pcm_t, PcmCloser> pcm(raw);
    snd_pcm_hw_params_t* hw_raw = nullptr;
    if (snd_pcm_hw_params_malloc(&hw_raw) < 0) return fail("out of memory");
    std::unique_ptr<snd_pcm_hw_params_t, HwParamsFree> hw(hw_raw);
    auto check = [&](int e, const char* what) {
        if (e >= 0) return true;
        r.open_failed = true;
        r.error = "the speaker " + job.pcm + ": " + what + ": " + snd_strerror(e);
        return false;
    };
    unsigned rate = f.rate, period_us = kPeriodUs, buffer_us = kBufferUs;
    // The WAV's own format: a plug device converts what the hardware cannot take.
    if (!check(snd_pcm_hw_params_any(pcm.get(), hw.get()), "no configuration") ||
        !check(snd_pcm_hw_params_set_access(pcm.get(), hw.get(), SND_PCM_ACCESS_RW_INTERLEAVED),
               "interleaved access") ||
        !check(snd_pcm_hw_params_set_format(
                   pcm.get(), hw.get(), f.bits == 8 ? SND_PCM_FORMAT_U8 : SND_PCM_FORMAT_S16_LE),
               f.bits == 8 ? "8-bit samples (try a plughw: device)"
                           : "16-bit samples (try a plughw: device)") ||
        !check(snd_pcm_hw_params_set_channels(pcm.get(), hw.get(), f.channels),
               f.channels == 1 ? "mono (try a plughw: device)" : "stereo (try a plughw: device)") ||
        !check(snd_pcm_hw_params_set_rate_near(pcm.get(), hw.get(), &rate, nullptr), "sample rate"))
        return r;
    snd_pcm_hw_params_set_buffer_time_near(pcm.get(), hw.get(), &buffer_us, nullptr);
    snd_pcm_hw_params_set_period_time_near(pcm.get(), hw.get(), &period_us, nullptr);
    if (!check(snd_pcm_hw_params(pcm.get(), hw.get()), "hw params")) return r;
    snd_pcm_uframes_t buffer = 0;
    snd_pcm_hw_params_get_buffer_size(hw.get(), &buffer);

    const uint8_t* data = job.wav.pcm.data();
    const snd_pcm_uframes_t total = job.wav.pcm.size() / frame;
    snd_pcm_uframes_t done = 0;
    int64_t progress_us = mono_us();
    auto stopped = [&] {
        snd_pcm_drop(pcm.get());
        r.stopped = true;
        r.seconds = double(done) / f.rate;
        return r;
    };
    while (done < total) {
        if (s.stop) return stopped();
        const snd_pcm_sframes_t n = snd_pcm_writei(pcm.get(), data + done * frame, total - done);
        if (n > 0) {
            done += snd_pcm_uframes_t(n);
            progress_us = mono_us();
            continue;
        }
        if (n == -EAGAIN || n == 0) {
            if (mono_us() - progress_us > int64_t(kStallMs) * 1000)
                return fail("the speaker " + job.pcm + " stopped taking sound");
            if (!wait_device(s, pcm.get(), 100, &err)) return stopped();
            continue;
        }
        // An underrun (the thread was late) or a suspend: carry on where it was.
        if (snd_pcm_recover(pcm.get(), int(n), 1) < 0)
            return fail("the speaker " + job.pcm + ": " + snd_strerror(int(n)));
    }
    r.seconds = double(done) / f.rate;
    // Drain without snd_pcm_drain (which would block where a stop cannot reach): a device
    // that runs plays until its buffer is empty; one that has not started yet (less than its
    // start threshold was written) is started.
    if (snd_pcm_state(pcm.get()) == SND_PCM_STATE_PREPARED) snd_pcm_start(pcm.get());
    const int64_t deadline = mono_us() + int64_t(buffer) * 1000000 / rate + 1000000;
    while (snd_pcm_state(pcm.get()) == SND_PCM_STATE_RUNNING) {
        const snd_pcm_sframes_t avail = snd_pcm_avail(pcm.get());
        if (avail < 0 || snd_pcm_uframes_t(avail) >= buffer) break;
        if (mono_us() > deadline) break;
        if (!wait_device(s, nullptr, 20, &err)) return stopped();
    }
    snd_pcm_drop(pcm.get());
    r.ok = true;
    return r;
}

}  // namespace robotd::speech
