#include "speech/speech.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/json.h"
#include "core/text.h"

namespace robotd::speech {

namespace {

constexpr const char* kTag = "tts";
constexpr int64_t kDropLogEveryUs = 10 * 1000000;  // overflow lines at most this often
constexpr uint32_t kKillGraceMs = 500;             // SIGTERM to SIGKILL for a hung engine

}  // namespace

SpeechSettings speech_settings(const Config& config) {
    SpeechSettings s;
    parse_engine_type(config.tts.type, &s.engine.type);
    s.engine.command = config.tts.command;
    s.engine.espeak_male = config.espeak.male;
    s.engine.espeak_voice = config.espeak.voice_number;
    s.engine.pico_voice = config.pico.voice;
    s.speaker_device = config.tts.speaker_device;
    s.speaker_num = config.tts.speaker_num;
    s.volume = config.tts.tts_volume;
    s.max_length = config.tts.max_length;
    s.timeout_s = config.tts.timeout;
    s.queue = config.tts.queue;
    return s;
}

std::string cut_utf8(const std::string& text, size_t max_chars, bool* cut) {
    size_t chars = 0;
    size_t follow = 0;  // continuation bytes the last lead byte still takes
    for (size_t i = 0; i < text.size(); ++i) {
        const uint8_t b = uint8_t(text[i]);
        // A continuation byte (10xxxxxx) belongs to the character its lead byte started; a
        // stray one (invalid UTF-8) counts as a character of its own, so nothing escapes
        // the limit.
        if ((b & 0xC0) == 0x80 && follow > 0) {
            --follow;
            continue;
        }
        if (chars == max_chars) {
            *cut = true;
            return text.substr(0, i);
        }
        ++chars;
        follow = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
    }
    *cut = false;
    return text;
}

Speech::Speech(Loop& loop, const SpeechSettings& settings)
    : loop_(loop),
      log_(loop.log()),
      watch_(
          loop, [this] { readable(); }, WritableWatch::Want::Readable),
      timeout_(loop, [this] { timed_out(); }),
      // Nothing is retried on a timer: the next message tries the speaker again. The policy
      // only says which failures to log.
      speaker_retry_(RetryRules{1000, 60000, 0}),
      rng_(uint32_t(mono_us())),
      player_([ctx = loop.context()] { lws_cancel_service(ctx); }) {
    wake_id_ = loop_.add_wake([this] { woken(); });
    apply(settings, true);
}

Speech::~Speech() {
    loop_.remove_wake(wake_id_);
    abort_making();
    player_.stop();
}

void Speech::apply(const SpeechSettings& s, bool first) {
    const bool engine_changed = first || s.engine.type != settings_.engine.type ||
                                s.engine.command != settings_.engine.command;
    if (first || s.volume != settings_.volume) volume_ = std::clamp(s.volume, 0, 100);
    settings_ = s;
    std::string error;
    std::string pcm = speaker_pcm(s.speaker_device, s.speaker_num, &error);
    if (pcm.empty()) {
        LOGE(log_, kTag, "%s; using the default speaker", error.c_str());
        pcm = "default";
    }
    if (pcm != pcm_) speaker_retry_.reset();
    pcm_ = pcm;
    const bool was = engine_.speaks();
    if (!engine_.resolve(s.engine, program_in_path, &error)) {
        LOGE(log_, kTag, "%s; speech is off", error.c_str());
    } else if (engine_changed || !was) {
        if (engine_.speaks())
            LOGI(log_, kTag, "speech by %s on %s, volume %d %%", engine_.program().c_str(),
                 pcm_.c_str(), volume_);
        else if (!first)
            LOGI(log_, kTag, "speech is off ([tts] type none)");
    }
    // A shorter queue keeps the newest messages.
    while (queue_.size() > size_t(std::max(1, s.queue))) {
        queue_.pop_front();
        ++stats_.dropped;
        note_dropped();
    }
    if (!engine_.speaks()) silence();  // speech is off: as on mute
}

void Speech::reconfigure(const SpeechSettings& settings) {
    apply(settings, false);
}

void Speech::say(const std::string& text, const std::string& who) {
    if (muted_ || !engine_.speaks()) return;
    if (trim(text).empty()) return;
    if (queue_.size() >= size_t(std::max(1, settings_.queue))) {
        queue_.pop_front();
        ++stats_.dropped;
        note_dropped();
    }
    queue_.push_back({text, who});
    next();
}

void Speech::note_dropped() {
    ++drops_unlogged_;
    const int64_t now = mono_us();
    if (drop_logged_us_ != 0 && now - drop_logged_us_ < kDropLogEveryUs) return;
    LOGW(log_, kTag,
         "speech queue full (%d messages): dropped the oldest waiting message (%llu since the "
         "last such line)",
         settings_.queue, static_cast<unsigned long long>(drops_unlogged_));
    drops_unlogged_ = 0;
    drop_logged_us_ = now;
}

void Speech::mute(bool muted) {
    if (muted == muted_) return;
    muted_ = muted;
    LOGI(log_, kTag, "speech %s", muted ? "muted" : "unmuted");
    if (muted) silence();
}

void Speech::silence() {
    queue_.clear();
    if (stage_ == Stage::Making) {
        abort_making();
    } else if (stage_ == Stage::Playing) {
        player_.stop();  // the result comes through woken()
    }
}

void Speech::volume(int percent) {
    volume_ = std::clamp(percent, 0, 100);
}

void Speech::next() {
    if (stage_ != Stage::Idle || queue_.empty() || muted_ || !engine_.speaks()) return;
    Message m = std::move(queue_.front());
    queue_.pop_front();
    bool cut = false;
    const std::string text = cut_utf8(m.text, size_t(std::max(1, settings_.max_length)), &cut);
    if (cut) ++stats_.cut;
    who_ = m.who;

    std::string error;
    if (engine_.needs_file()) {
        file_ = std::make_unique<TempWav>(&error);
        if (file_->path().empty()) {
            file_.reset();
            return made_failed(error);
        }
    }
    const EngineRun run = engine_.run(text, file_ ? file_->path() : std::string());
    parser_ = WavParser();
    out_bytes_ = 0;
    exited_ = false;
    out_done_ = !run.wav_file.empty();
    child_ = std::make_unique<Child>(loop_);
    child_->on_exit([this](int status) { engine_exited(status); });
    if (!child_->start(run.argv, Child::Pipes{run.text_on_stdin, run.wav_file.empty()}, &error)) {
        child_.reset();
        file_.reset();
        return made_failed(error);
    }
    stage_ = Stage::Making;
    if (run.text_on_stdin) {
        // At most 5000 characters: far less than a pipe holds, so one write takes it all.
        const std::string line = text + "\n";
        const ssize_t n = write(child_->stdin_fd(), line.data(), line.size());
        child_->close_stdin();
        if (n != ssize_t(line.size())) {
            const std::string why = n < 0 ? strerror(errno) : "a short write";
            abort_making();
            return made_failed("cannot hand the text to " + engine_.program() + ": " + why);
        }
    }
    if (!out_done_ && !watch_.arm(child_->stdout_fd())) {
        abort_making();
        return made_failed("cannot watch the output of " + engine_.program());
    }
    timeout_.start_ms(uint32_t(std::max(1, settings_.timeout_s)) * 1000);
}

void Speech::readable() {
    if (stage_ != Stage::Making || !child_) return;
    uint8_t buf[16384];
    for (;;) {
        const ssize_t n = read(child_->stdout_fd(), buf, sizeof buf);
        if (n > 0) {
            out_bytes_ += size_t(n);
            if (out_bytes_ > kMaxWavBytes) {
                abort_making();
                return made_failed(engine_.program() + " wrote more than " +
                                   std::to_string(kMaxWavBytes >> 20) + " MiB; stopped it");
            }
            if (!parser_.feed(buf, size_t(n))) {
                const std::string why = engine_.program() + ": " + parser_.error();
                abort_making();
                return made_failed(why);
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (!watch_.arm(child_->stdout_fd())) {
                abort_making();
                return made_failed("cannot watch the output of " + engine_.program());
            }
            return;
        }
        break;  // EOF (or an error, which ends the output just the same)
    }
    watch_.release();
    out_done_ = true;
    maybe_made();
}

void Speech::engine_exited(int status) {
    exited_ = true;
    exit_status_ = status;
    maybe_made();
}

void Speech::maybe_made() {
    if (stage_ != Stage::Making || !exited_ || !out_done_) return;
    timeout_.cancel();
    const int status = exit_status_;
    child_.reset();
    std::unique_ptr<TempWav> file = std::move(file_);
    stage_ = Stage::Idle;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return made_failed(engine_.program() + " " + describe_exit(status));
    if (file) {
        // A file-only engine wrote a finished file: the player thread reads it (blocking I/O,
        // maybe on an SD card) and reports a file that is no WAV like a failed playback.
        if (!player_.play_file(pcm_, std::move(file), engine_.program(), kMaxWavBytes, volume_))
            return made_failed("the player is busy");
        stage_ = Stage::Playing;
        return;
    }
    if (!parser_.finish()) return made_failed(engine_.program() + ": " + parser_.error());
    Wav wav = parser_.take();
    if (wav.pcm.empty()) return made_failed(engine_.program() + " made no sound");
    LOGD(log_, kTag, "%s made %.1f s of speech for %s", engine_.program().c_str(), wav.seconds(),
         who_.c_str());
    if (!player_.play(pcm_, std::move(wav), volume_)) return made_failed("the player is busy");
    stage_ = Stage::Playing;
}

void Speech::timed_out() {
    if (stage_ != Stage::Making) return;
    ++stats_.killed;
    LOGW(log_, kTag, "%s did not finish within %d s; killed it, on to the next message",
         engine_.program().c_str(), settings_.timeout_s);
    abort_making();
    next();
}

void Speech::abort_making() {
    stage_ = Stage::Idle;
    timeout_.cancel();
    watch_.release();
    if (child_) {
        child_->stop(kKillGraceMs);
        child_.reset();  // the loop's reaper finishes it
    }
    file_.reset();
}

void Speech::made_failed(const std::string& why) {
    ++stats_.failed;
    LOGE(log_, kTag, "message from %s not spoken: %s", who_.empty() ? "?" : who_.c_str(),
         why.c_str());
    next();
}

void Speech::woken() {
    std::optional<PlayResult> r = player_.take_result();
    if (!r) return;
    stage_ = Stage::Idle;
    if (r->bad_file) return made_failed(r->error);  // the engine's fault, not the speaker's
    const int64_t now = mono_us();
    if (r->open_failed) {
        ++stats_.failed;
        const RetryPolicy::Step step =
            speaker_retry_.failed(now, std::uniform_real_distribution<double>(0, 1)(rng_));
        if (step.report == RetryPolicy::Report::First)
            LOGE(log_, kTag, "%s; messages are dropped until it works", r->error.c_str());
        else if (step.report == RetryPolicy::Report::Summary)
            LOGW(log_, kTag, "%s: still failing after %s", r->error.c_str(),
                 speaker_retry_.outage_text(now).c_str());
        else
            LOGD(log_, kTag, "%s", r->error.c_str());
    } else {
        if (speaker_retry_.succeeded(now))
            LOGI(log_, kTag, "the speaker %s works again (%s)", pcm_.c_str(),
                 speaker_retry_.outage_text(now).c_str());
        if (r->ok) {
            ++stats_.spoken;
        } else if (!r->stopped) {
            ++stats_.failed;
            LOGE(log_, kTag, "%s", r->error.c_str());
        }
    }
    next();
}

}  // namespace robotd::speech
