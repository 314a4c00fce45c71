// The TTS playback thread: opens the speaker's ALSA PCM only while speaking, plays one WAV at
// the software volume, drains, closes; the loop hands it sounds and is woken when one ends.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/unique_fd.h"
#include "speech/engine.h"
#include "speech/wav.h"

struct _snd_pcm;  // alsa-lib's snd_pcm_t, kept out of this header

namespace robotd::speech {

// The ALSA PCM for the speaker: `device` ([tts] speaker_device) wins when set: an ALSA name
// with a colon (plughw:1,0, hw:CARD=x) or a standard PCM (default, null, ...) as it is; "N"
// or "N,M" -> plughw:N,M; another word is a card's id or name -> plughw:CARD=<word>. Else
// `num` ([tts] speaker_num):
// "N" -> plughw:N,0, "N,M" -> plughw:N,M. Both empty: "default". "" with `error` when `num`
// is not a number.
std::string speaker_pcm(const std::string& device, const std::string& num, std::string* error);

// Scales PCM samples to `percent` (0..100) of their level, in place: robotd's own volume, for
// speakers without a mixer control. 8-bit samples are unsigned around 128.
void scale_volume(std::vector<uint8_t>* pcm, const WavFormat& format, int percent);

struct PlayResult {
    bool ok = false;
    bool stopped = false;      // cut short by stop()
    bool open_failed = false;  // the device could not be opened or set up (error says why)
    bool bad_file = false;     // play_file's file was no WAV: the speaker was not tried
    std::string error;         // one line
    double seconds = 0;        // of sound written
};

class Player {
  public:
    // Longest a device may keep a write from progressing before the playback is given up.
    static constexpr int kStallMs = 3000;
    // Longest the destructor waits for the thread: a stop ends a playback at once, unless the
    // thread is stuck inside alsa-lib (a wedged driver or sound server), where no stop
    // reaches; that thread is then left to end on its own, with nothing of the owner's.
    static constexpr int kJoinLimitMs = 2000;

    // `wake` runs on the player thread after each playback ends: the owner passes a function
    // that calls lws_cancel_service(), so the loop takes the result (see Loop::add_wake).
    // It is never called once the destructor has returned.
    explicit Player(std::function<void()> wake);
    // Stops what plays and joins the thread, waiting at most kJoinLimitMs.
    ~Player();
    Player(const Player&) = delete;
    Player& operator=(const Player&) = delete;

    // From the loop: starts playing `wav` on `pcm` at `percent` volume and returns at once.
    // False when a playback is still running or its result has not been taken.
    bool play(std::string pcm, Wav wav, int percent);
    // The same for a file-only engine's finished WAV: the thread reads it (at most
    // `max_bytes`; a file may sit on an SD card, so never on the loop), then removes it with
    // its directory. A file that is no WAV ends as a result whose error names `program`.
    bool play_file(std::string pcm, std::unique_ptr<TempWav> file, const std::string& program,
                   size_t max_bytes, int percent);
    // From the loop: ends the current playback promptly (snd_pcm_drop); its result still comes.
    void stop();
    // From the loop: a playback is running or its result waits.
    bool busy() const;
    // From the loop: the result of the playback that has ended, once.
    std::optional<PlayResult> take_result();
    // Whether the eventfd could be made; the thread runs only then.
    bool ok() const { return s_->wake_fd.valid(); }

  private:
    struct Job {
        std::string pcm;
        Wav wav;
        int percent = 100;
        std::unique_ptr<TempWav> file;  // when set, `wav` is read from it first
        std::string program;            // the engine that wrote `file`
        size_t max_bytes = 0;
    };
    bool start(Job job);
    // What the thread and its owner share. The thread holds it too, so a thread the
    // destructor gave up on still finds it.
    struct Shared {
        std::function<void()> wake;  // cleared, under the mutex, when the owner goes
        UniqueFd wake_fd;            // eventfd: stop() and the destructor interrupt a poll
        std::mutex mutex;
        std::condition_variable cv;
        std::optional<Job> job;
        std::optional<PlayResult> result;
        bool running = false;  // a job is being played
        bool quit = false;
        bool ended = false;  // the thread has returned
        std::atomic<bool> stop{false};
    };
    static void run(const std::shared_ptr<Shared>& s);
    static PlayResult play_job(Shared& s, Job& job);
    // Waits up to `ms` for the PCM's descriptors or the stop eventfd; false when stopping.
    static bool wait_device(Shared& s, ::_snd_pcm* pcm, int ms, int* err);
    void drain_wake_fd();

    const std::shared_ptr<Shared> s_;
    std::thread thread_;
};

}  // namespace robotd::speech
