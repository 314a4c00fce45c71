// Text-to-speech on the loop: a bounded queue of chat messages, one at a time through an
// engine child (killed when it hangs), its WAV played by the player thread; mute and volume.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>

#include "core/config.h"
#include "core/retry.h"
#include "net/child.h"
#include "net/loop.h"
#include "net/writable_watch.h"
#include "speech/engine.h"
#include "speech/player.h"
#include "speech/wav.h"

namespace robotd::speech {

struct SpeechSettings {
    EngineSettings engine;
    std::string speaker_device;  // [tts] speaker_device: wins when set
    std::string speaker_num;     // [tts] speaker_num
    int volume = 100;            // [tts] tts_volume, %
    int max_length = 300;        // [tts] max_length, characters
    int timeout_s = 10;          // [tts] timeout: an engine still running then is killed
    int queue = 8;               // [tts] queue: messages waiting at most
};

// The [tts], [espeak] and [pico] keys as speech settings.
SpeechSettings speech_settings(const Config& config);

struct SpeechStats {
    uint64_t spoken = 0;   // played to the end
    uint64_t dropped = 0;  // the oldest waiting message, dropped for a newer one (queue full)
    uint64_t cut = 0;      // longer than max_length
    uint64_t killed = 0;   // the engine ran past the timeout
    uint64_t failed = 0;   // the engine failed or wrote no usable WAV, or the speaker failed
};

// `text` cut to at most `max_chars` UTF-8 characters, never inside one; *cut says whether it
// was. A stray continuation byte (invalid UTF-8) counts as a character.
std::string cut_utf8(const std::string& text, size_t max_chars, bool* cut);

class Speech {
  public:
    // Engine output kept at most: minutes of speech; more is an engine gone wrong.
    static constexpr size_t kMaxWavBytes = 16 * 1024 * 1024;

    Speech(Loop& loop, const SpeechSettings& settings);
    // The engine is killed (handed to the loop's reaper), the player stopped and joined (its
    // waits are bounded, see Player).
    ~Speech();
    Speech(const Speech&) = delete;
    Speech& operator=(const Speech&) = delete;

    // The SpeechControl contract (src/robot/sessions.h), all on the loop.
    // Queues `text` (already filtered by chat) from `who`; a full queue drops its oldest.
    void say(const std::string& text, const std::string& who);
    // Muted: the queue is cleared, what is being made or played stops, nothing is spoken
    // until unmuted.
    void mute(bool muted);
    // 0..100 %, from the next message on.
    void volume(int percent);

    // SIGHUP: the [tts] keys again. An engine that cannot be found is one error line and TTS
    // off; tts_volume replaces the volume only when its value in the config changed (so a
    // `.tts vol` survives a reload that did not touch it).
    void reconfigure(const SpeechSettings& settings);

    bool enabled() const { return engine_.speaks(); }
    bool muted() const { return muted_; }
    int volume() const { return volume_; }
    const SpeechStats& stats() const { return stats_; }
    size_t waiting() const { return queue_.size(); }
    // Nothing waits, nothing is being made or played.
    bool idle() const { return queue_.empty() && stage_ == Stage::Idle; }
    // A message is being played (its sound is with the player thread).
    bool playing() const { return stage_ == Stage::Playing; }
    const std::string& speaker() const { return pcm_; }

  private:
    enum class Stage { Idle, Making, Playing };
    struct Message {
        std::string text;
        std::string who;
    };

    void apply(const SpeechSettings& settings, bool first);
    void next();      // starts the next message when idle
    void readable();  // engine stdout has data or EOF
    void engine_exited(int status);
    void maybe_made();  // the engine is done and its output read: play it
    void timed_out();
    void abort_making();  // kills the engine, forgets its output; idle again
    void silence();       // clears the queue, stops what is being made or played
    void made_failed(const std::string& why);
    void woken();  // the player may have finished
    void note_dropped();

    Loop& loop_;
    Logger& log_;
    SpeechSettings settings_;
    Engine engine_;
    std::string pcm_;  // the speaker's ALSA name
    int volume_ = 100;
    bool muted_ = false;
    SpeechStats stats_;

    std::deque<Message> queue_;
    Stage stage_ = Stage::Idle;
    // The message being made.
    std::string who_;
    std::unique_ptr<Child> child_;
    std::unique_ptr<TempWav> file_;
    WavParser parser_;
    size_t out_bytes_ = 0;
    bool exited_ = false;
    int exit_status_ = 0;
    bool out_done_ = false;  // stdout read to EOF (or no stdout pipe)
    WritableWatch watch_;
    Timer timeout_;

    RetryPolicy speaker_retry_;  // one line per speaker outage
    std::minstd_rand rng_;
    uint64_t drops_unlogged_ = 0;
    int64_t drop_logged_us_ = 0;

    uint64_t wake_id_ = 0;
    Player player_;  // last: its thread goes first
};

}  // namespace robotd::speech
