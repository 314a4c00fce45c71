// The playback thread through real ALSA on its `null` device (which discards): a playback is
// reported to the loop through its wake, a stop ends it, a device that cannot open says so;
// the speaker's PCM name and the software volume.
#include "speech/player.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/unique_fd.h"
#include "loop_harness.h"
#include "speech_test_util.h"
#include "temp_dir.h"

using namespace robotd;
using namespace robotd::speech;

TEST(SpeechSpeaker, DeviceWinsOverNumberAndNamesBecomePlugDevices) {
    std::string error;
    EXPECT_EQ(speaker_pcm("plughw:1,0", "3,0", &error), "plughw:1,0");
    EXPECT_EQ(speaker_pcm("hw:CARD=Device,DEV=0", "", &error), "hw:CARD=Device,DEV=0");
    EXPECT_EQ(speaker_pcm("null", "3", &error), "null");
    EXPECT_EQ(speaker_pcm("default", "", &error), "default");
    EXPECT_EQ(speaker_pcm("Device", "", &error), "plughw:CARD=Device");
    EXPECT_EQ(speaker_pcm("2,1", "", &error), "plughw:2,1");
    EXPECT_EQ(speaker_pcm("", "3", &error), "plughw:3,0");
    EXPECT_EQ(speaker_pcm(" ", "1,0", &error), "plughw:1,0");
    EXPECT_EQ(speaker_pcm("", "", &error), "default");
    EXPECT_TRUE(error.empty()) << error;
    EXPECT_EQ(speaker_pcm("", "card", &error), "");
    EXPECT_NE(error.find("speaker_num 'card'"), std::string::npos) << error;
}

TEST(SpeechVolume, SamplesAreScaledInSoftware) {
    WavFormat s16{8000, 1, 16};
    // 1000, -1000, 32767, -32768
    std::vector<uint8_t> pcm = {0xE8, 0x03, 0x18, 0xFC, 0xFF, 0x7F, 0x00, 0x80};
    auto full = pcm;
    scale_volume(&full, s16, 100);
    EXPECT_EQ(full, pcm);
    scale_volume(&pcm, s16, 50);
    auto at = [&](size_t i) { return int16_t(uint16_t(pcm[2 * i] | pcm[2 * i + 1] << 8)); };
    EXPECT_EQ(at(0), 500);
    EXPECT_EQ(at(1), -500);
    EXPECT_EQ(at(2), 16383);
    EXPECT_EQ(at(3), -16384);
    scale_volume(&pcm, s16, 0);
    EXPECT_EQ(pcm, std::vector<uint8_t>(8, 0));
    // 8-bit is unsigned around 128.
    std::vector<uint8_t> u8 = {128, 228, 28, 255, 0};
    scale_volume(&u8, WavFormat{8000, 1, 8}, 50);
    EXPECT_EQ(u8, (std::vector<uint8_t>{128, 178, 78, 191, 64}));
    std::vector<uint8_t> loud = {200};
    scale_volume(&loud, WavFormat{8000, 1, 8}, 250);  // clamped to 100 %
    EXPECT_EQ(loud, std::vector<uint8_t>{200});
}

class SpeechPlayer : public LoopTest {
  protected:
    void SetUp() override {
        LoopTest::SetUp();
        wake_id_ = loop_.add_wake([this] {
            if (auto r = player_->take_result()) results_.push_back(*r);
        });
        player_ = std::make_unique<Player>([ctx = loop_.context()] { lws_cancel_service(ctx); });
        ASSERT_TRUE(player_->ok());
    }
    void TearDown() override {
        player_.reset();
        loop_.remove_wake(wake_id_);
    }
    uint64_t wake_id_ = 0;
    std::unique_ptr<Player> player_;
    std::vector<PlayResult> results_;
};

TEST_F(SpeechPlayer, PlaysToTheNullDeviceAndTellsTheLoop) {
    ASSERT_TRUE(player_->play("null", tone_wav(0.3), 60));
    EXPECT_TRUE(player_->busy());
    EXPECT_FALSE(player_->play("null", tone_wav(0.3), 60)) << "one playback at a time";
    ASSERT_TRUE(run_until([&] { return !results_.empty(); }, 10000));
    EXPECT_TRUE(results_[0].ok) << results_[0].error;
    EXPECT_FALSE(results_[0].stopped);
    EXPECT_GE(results_[0].seconds, 0.3);
    EXPECT_FALSE(player_->busy());
    // Stereo 8-bit at another rate: the device is set up from each WAV.
    Wav w = tone_wav(0.1, 11025, 2);
    w.format.bits = 8;
    w.pcm.resize(w.pcm.size() / 2);
    ASSERT_TRUE(player_->play("null", w, 100));
    ASSERT_TRUE(run_until([&] { return results_.size() == 2; }, 10000));
    EXPECT_TRUE(results_[1].ok) << results_[1].error;
}

TEST_F(SpeechPlayer, AStopEndsALongPlaybackPromptly) {
    // Ten minutes of sound: only a stop can end this soon, however fast the device is.
    ASSERT_TRUE(player_->play("null", tone_wav(600, 8000), 100));
    const int64_t t0 = mono_us();
    player_->stop();
    ASSERT_TRUE(run_until([&] { return !results_.empty(); }, 20000));
    EXPECT_TRUE(results_[0].stopped || results_[0].ok) << results_[0].error;
    EXPECT_LT(mono_us() - t0, int64_t(20) * 1000000);
}

TEST_F(SpeechPlayer, ADeviceThatCannotOpenIsReported) {
    ASSERT_TRUE(player_->play("plughw:CARD=RobotdNoSuchCard", tone_wav(0.1), 100));
    ASSERT_TRUE(run_until([&] { return !results_.empty(); }, 10000));
    EXPECT_FALSE(results_[0].ok);
    EXPECT_TRUE(results_[0].open_failed);
    EXPECT_NE(results_[0].error.find("cannot open the speaker plughw:CARD=RobotdNoSuchCard"),
              std::string::npos)
        << results_[0].error;
    // The next one tries again.
    ASSERT_TRUE(player_->play("null", tone_wav(0.1), 100));
    ASSERT_TRUE(run_until([&] { return results_.size() == 2; }, 10000));
    EXPECT_TRUE(results_[1].ok) << results_[1].error;
}

TEST_F(SpeechPlayer, ASpeakerStuckInsideAlsaNeverHoldsTheOwner) {
    // ALSA's file plugin writing to a FIFO nobody reads: the open blocks inside alsa-lib, where
    // no stop reaches, as a wedged driver or sound server can. Destroying the player (robotd
    // stopping, on the loop) must not wait for it.
    TempDir dir("robotd-player");
    const std::string fifo = dir.file("stuck.fifo");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    ASSERT_TRUE(player_->play("file:FILE=" + fifo + ",FORMAT=raw", tone_wav(0.2), 100));
    run_for(300);  // the thread is inside ALSA's open by now (nothing to await from outside)
    std::promise<void> gone;
    auto done = gone.get_future();
    std::thread destroyer([&] {
        player_.reset();
        gone.set_value();
    });
    const bool in_time = done.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    // Release the stuck open (a reader comes), so the thread can end either way.
    UniqueFd reader(open(fifo.c_str(), O_RDONLY | O_CLOEXEC));
    char buf[4096];
    while (read(reader.get(), buf, sizeof buf) > 0) {
    }
    destroyer.join();
    EXPECT_TRUE(in_time) << "~Player waited for a thread stuck inside ALSA";
}
