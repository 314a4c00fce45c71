// Media on a real event loop with a fake slow camera: a stop, a restart or a camera control
// never holds the loop (a loop timer fires while the camera holds the stream's thread), an
// ended thread is reaped, a restart waits for the old thread to let go of the device, a
// config re-read restarts only what changed, robotd's exit waits for the threads only so
// long, and the owner's .audio start|stop, .video/.audio restart and bitrate N and .mic
// mute|unmute act as asked (the microphone is lavfi's sine: a real source, no device needed).
#include "robot/media.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "fake_slow_camera.h"
#include "loop_harness.h"
#include "media/source.h"

namespace robotd {
namespace {

using media::FakeSlowCamera;
using media::StreamKind;

// A loopback port nobody listens on (bound, then closed): the uploads fail and retry, which
// is all these tests need of the relay.
int closed_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 9;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

class MediaTest : public LoopTest {
  protected:
    MediaTest() {
        config_.camera.camera_device = "/dev/fake-video";
        config_.camera.x_res = 160;
        config_.camera.y_res = 120;
        config_.camera.no_mic = true;
        config_.robot.stream_key = "key1";
        endpoints_.relay_host = "127.0.0.1";
        endpoints_.video_port = closed_port();
        endpoints_.audio_port = endpoints_.video_port;
    }

    std::unique_ptr<Media> make(uint32_t exit_wait_ms = 2000) {
        MediaOptions options;
        // Video from the fake camera; audio from the configured (lavfi) microphone.
        options.open_source = [video = camera_.opener()](const media::StreamSettings& s,
                                                         Logger& log, std::string* error) {
            if (s.kind == StreamKind::Video) return video(s, log, error);
            return media::open_audio_source(s.device, s.sample_rate, s.channels, log, error);
        };
        options.exit_wait_ms = exit_wait_ms;
        auto media = std::make_unique<Media>(
            loop_, config_,
            MediaRelay{[this]() -> const Endpoints& { return endpoints_; }, [](LookupId) {}},
            options);
        media->resolved(LookupId::RelayHost);  // as discovery does once it knows the relay
        return media;
    }

    // Arms a loop timer for 50 ms and services the loop until it fires; returns whether
    // `held` was true when it fired. A loop blocked by a join or an ioctl fires it only once
    // the camera has let go (the fake's hold limit), and then `held` is false.
    bool timer_fires_while(const std::function<bool()>& held) {
        bool fired = false, result = false;
        Timer timer(loop_, [&] {
            fired = true;
            result = held();
        });
        timer.start_ms(50);
        run_until([&] { return fired; }, 30000);
        return result;
    }

    // A microphone that is there: a 440 Hz sine, paced as a capture card would deliver it.
    void with_mic() {
        config_.camera.no_mic = false;
        config_.camera.mic_device = "lavfi:sine=frequency=440:sample_rate=44100";
        config_.ffmpeg.audio_sample_rate = 44100;
        config_.ffmpeg.audio_channels = 1;
    }
    static bool running(const Media& media, StreamKind kind) {
        return media.stream(kind) != nullptr && media.stream(kind)->running();
    }
    static int bitrate(const Media& media, StreamKind kind) {
        return media.stream(kind) != nullptr ? media.stream(kind)->settings().bitrate_kbps : -1;
    }

    FakeSlowCamera camera_;  // before every Media: outlives their threads
    Config config_;
    Endpoints endpoints_;
};

TEST_F(MediaTest, VideoOffDuringASlowOpenDoesNotHoldTheLoop) {
    camera_.hold_opens();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return camera_.inside_open(); }, 5000));
    media->set_video(false);  // VIDOFF while the thread is inside the device's open
    EXPECT_EQ(media->threads(), 1) << "asked to stop; not joined while it runs";
    EXPECT_TRUE(timer_fires_while([&] { return camera_.inside_open(); }));
    camera_.release();
    ASSERT_TRUE(run_until([&] { return media->threads() == 0; }, 5000))
        << "the thread reports its end and is reaped";
    EXPECT_EQ(camera_.opens(), 1);
    EXPECT_EQ(camera_.alive(), 0) << "the camera opened late is closed";
    EXPECT_FALSE(media->video_running());
}

TEST_F(MediaTest, VideoOnAgainWaitsForTheOldThreadToLetGoOfTheDevice) {
    camera_.hold_opens();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return camera_.inside_open(); }, 5000));
    testing::internal::CaptureStderr();
    media->set_video(false);
    media->set_video(true);
    EXPECT_TRUE(timer_fires_while([&] { return camera_.inside_open(); }));
    EXPECT_EQ(camera_.opens(), 1) << "no second open while the first holds the device";
    EXPECT_EQ(media->threads(), 1);
    EXPECT_FALSE(media->video_running());
    camera_.release();
    const bool running = run_until([&] { return media->video_running(); }, 5000);
    const std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(running) << log;
    EXPECT_EQ(camera_.opens(), 2);
    EXPECT_EQ(camera_.max_alive(), 1) << "never two opens of the device at once";
    EXPECT_EQ(media->threads(), 1);
    EXPECT_TRUE(contains(log,
                         "I video: start waits for the previous capture thread to let go of "
                         "/dev/fake-video"))
        << log;
    EXPECT_TRUE(contains(log, "I video: encoder stopped: 0 frames")) << log;
}

TEST_F(MediaTest, ANewSizeDuringASlowOpenRestartsOnceTheOldThreadHasEnded) {
    camera_.hold_opens();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return camera_.inside_open(); }, 5000));
    RobotSettings settings;
    settings.xres = 320;
    settings.yres = 240;
    media->apply_settings(settings);
    EXPECT_TRUE(timer_fires_while([&] { return camera_.inside_open(); }));
    EXPECT_EQ(camera_.opens(), 1);
    camera_.release();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    EXPECT_EQ(camera_.opens(), 2);
    EXPECT_EQ(camera_.max_alive(), 1);
    EXPECT_EQ(camera_.last_open_size(), std::make_pair(320, 240));
}

TEST_F(MediaTest, ACameraControlHeldByTheCameraDoesNotHoldTheLoop) {
    auto media = make();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    camera_.hold_controls();
    media->set_camera_control("brightness", 60);
    // Reached only if the call above returned while the write was still to come.
    ASSERT_TRUE(run_until([&] { return camera_.inside_control(); }, 5000));
    EXPECT_TRUE(timer_fires_while([&] { return camera_.inside_control(); }));
    // VIDOFF meanwhile does not wait for the write either.
    media->set_video(false);
    EXPECT_TRUE(timer_fires_while([&] { return camera_.inside_control(); }));
    camera_.release();
    ASSERT_TRUE(run_until([&] { return media->threads() == 0; }, 5000));
    ASSERT_EQ(camera_.controls().size(), 1u);
    EXPECT_EQ(camera_.controls()[0], std::make_pair(std::string("brightness"), 60));
    EXPECT_EQ(camera_.alive(), 0);
}

TEST_F(MediaTest, ReconfigureRestartsOnlyWhatChanged) {
    auto media = make();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));

    EXPECT_FALSE(media->reconfigure()) << "an unchanged config changes nothing";
    EXPECT_TRUE(media->video_running());
    EXPECT_EQ(media->threads(), 1);

    config_.robot.stream_key = "key2";  // the upload URL alone: the thread goes on
    EXPECT_TRUE(media->reconfigure());
    EXPECT_TRUE(media->video_running());
    EXPECT_EQ(media->threads(), 1);
    EXPECT_EQ(camera_.opens(), 1);

    config_.media.gop = 50;  // a capture setting: the stream restarts, once
    testing::internal::CaptureStderr();
    EXPECT_TRUE(media->reconfigure());
    const bool restarted =
        run_until([&] { return camera_.opens() == 2 && media->video_running(); }, 5000);
    std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(restarted) << log;
    EXPECT_TRUE(contains(log, "I video: config changed (gop): restarting capture and encoder"))
        << log;
    EXPECT_EQ(camera_.max_alive(), 1);
    EXPECT_FALSE(media->reconfigure());

    // VIDOFF stands across a re-read.
    media->set_video(false);
    ASSERT_TRUE(run_until([&] { return media->threads() == 0; }, 5000));
    EXPECT_FALSE(media->reconfigure());
    EXPECT_EQ(media->threads(), 0);
    media->set_video(true);
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));

    // no_camera stops video; clearing it starts it again.
    config_.camera.no_camera = true;
    EXPECT_TRUE(media->reconfigure());
    ASSERT_TRUE(run_until([&] { return media->threads() == 0; }, 5000));
    config_.camera.no_camera = false;
    EXPECT_TRUE(media->reconfigure());
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    EXPECT_EQ(camera_.opens(), 4);
    EXPECT_EQ(camera_.max_alive(), 1);
}

TEST_F(MediaTest, ExitWaitsForAThreadThatEndsInTime) {
    camera_.set_hold_limit_ms(300);  // an open that takes 300 ms
    camera_.hold_opens();
    auto media = make(5000);
    ASSERT_TRUE(run_until([&] { return camera_.inside_open(); }, 5000));
    media.reset();  // robotd's exit: waits, bounded, for the thread
    EXPECT_FALSE(camera_.inside_open());
    EXPECT_EQ(camera_.alive(), 0);
    EXPECT_EQ(camera_.opens(), 1);
}

TEST_F(MediaTest, ExitDoesNotWaitForeverForAThreadStuckInTheDevice) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");  // threads run: re-execute, not fork
    camera_.hold_opens();                            // held for 10 s: far past the 200 ms bound
    auto media = make(200);
    ASSERT_TRUE(run_until([&] { return camera_.inside_open(); }, 5000));
    EXPECT_EXIT(media.reset(), testing::ExitedWithCode(EX_IOERR),
                "E video: the capture thread is still inside /dev/fake-video 200 ms after it was "
                "asked to stop");
    camera_.release();  // this process's own thread goes on and is joined normally
}

}  // namespace
}  // namespace robotd

namespace robotd {
namespace {

TEST_F(MediaTest, AudioStopAndStartActLikeVidoffAndVidonAndStandAcrossReloadsAndSettings) {
    with_mic();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));

    testing::internal::CaptureStderr();
    media->set_audio(false);
    EXPECT_EQ(media->stream(StreamKind::Audio), nullptr);
    const bool stopped = run_until([&] { return media->threads() == 1; }, 5000);
    std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(stopped) << log;
    EXPECT_TRUE(contains(log, "I audio: stopping (.audio stop)")) << log;
    EXPECT_TRUE(contains(log, "I audio: encoder stopped")) << log;
    EXPECT_TRUE(media->video_running()) << "video goes on";

    // Neither a config re-read nor the server's settings start it again.
    EXPECT_FALSE(media->reconfigure());
    RobotSettings settings;
    settings.mic_enabled = true;
    media->apply_settings(settings);
    run_for(200);
    EXPECT_EQ(media->stream(StreamKind::Audio), nullptr);
    EXPECT_EQ(media->threads(), 1);

    // The site's mic_enabled=false holds a start off, and the log says so.
    settings.mic_enabled = false;
    media->apply_settings(settings);
    testing::internal::CaptureStderr();
    media->set_audio(true);
    log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log,
                         "I audio: start asked, but the site's robot settings say "
                         "mic_enabled=false: audio stays off"))
        << log;
    EXPECT_EQ(media->stream(StreamKind::Audio), nullptr);

    settings.mic_enabled = true;  // .audio start was asked: the site's yes now starts it
    media->apply_settings(settings);
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    EXPECT_EQ(media->threads(), 2);
}

TEST_F(MediaTest, RestartStartsANewThreadOnceTheOldOneEndedWithoutHoldingTheLoop) {
    auto media = make();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    camera_.hold_opens();
    testing::internal::CaptureStderr();
    media->restart(StreamKind::Video);
    // The old thread ends (its read is interrupted), is joined, and a new one opens the camera;
    // the loop runs meanwhile.
    ASSERT_TRUE(run_until([&] { return camera_.inside_open(); }, 5000));
    EXPECT_TRUE(timer_fires_while([&] { return camera_.inside_open(); }));
    EXPECT_EQ(camera_.opens(), 2);
    EXPECT_EQ(media->threads(), 1) << "the old thread was joined before the new one started";
    camera_.release();
    const bool running_again = run_until([&] { return media->video_running(); }, 5000);
    const std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(running_again) << log;
    EXPECT_EQ(camera_.max_alive(), 1) << "never two opens of the device at once";
    EXPECT_TRUE(contains(log, "I video: restarting capture, encoder and upload (.video restart)"))
        << log;
    EXPECT_TRUE(contains(log, "I video: encoder stopped")) << log;
    EXPECT_TRUE(contains(log, "I video: started: /dev/fake-video")) << log;
}

TEST_F(MediaTest, RestartWhileTheOldThreadHoldsTheDeviceWaitsForIt) {
    camera_.hold_opens();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return media->stream(StreamKind::Video) != nullptr; }, 5000));
    ASSERT_TRUE(run_until([&] { return camera_.inside_open(); }, 5000));
    media->restart(StreamKind::Video);  // a stream that is opening is restarted too
    EXPECT_TRUE(timer_fires_while([&] { return camera_.inside_open(); }));
    EXPECT_EQ(camera_.opens(), 1) << "no second open while the first holds the device";
    EXPECT_EQ(media->threads(), 1);
    camera_.release();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    EXPECT_EQ(camera_.opens(), 2);
    EXPECT_EQ(camera_.max_alive(), 1);
}

TEST_F(MediaTest, RestartOfAStreamThatIsOffLeavesItOff) {
    auto media = make();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    media->set_video(false);
    ASSERT_TRUE(run_until([&] { return media->threads() == 0; }, 5000));
    testing::internal::CaptureStderr();
    media->restart(StreamKind::Video);
    media->restart(StreamKind::Audio);  // no_mic in this fixture
    run_for(200);
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(media->threads(), 0);
    EXPECT_EQ(camera_.opens(), 1);
    EXPECT_TRUE(contains(log,
                         "I video: restart not done: video is off (VIDOFF or .video stop), and it "
                         "stays off"))
        << log;
    EXPECT_TRUE(contains(log,
                         "I audio: restart not done: there is no microphone ([camera] no_mic = "
                         "true), and it stays off"))
        << log;
}

TEST_F(MediaTest, AudioRestartGivesANewAudioThreadAndLeavesVideoAlone) {
    with_mic();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    testing::internal::CaptureStderr();
    media->restart(StreamKind::Audio);
    // A new stream running, and only two threads: the old audio one was joined.
    const bool again = run_until(
        [&] { return running(*media, StreamKind::Audio) && media->threads() == 2; }, 5000);
    const std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(again) << log;
    EXPECT_TRUE(contains(log, "I audio: restarting capture, encoder and upload (.audio restart)"))
        << log;
    EXPECT_TRUE(contains(log, "I audio: encoder stopped")) << log;
    EXPECT_EQ(camera_.opens(), 1) << "video was not restarted";
}

TEST_F(MediaTest, OwnersBitrateRestartsTheStreamAndStandsUntilTheFileChangesIt) {
    auto media = make();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    EXPECT_EQ(bitrate(*media, StreamKind::Video), 350);

    testing::internal::CaptureStderr();
    EXPECT_TRUE(media->set_bitrate(StreamKind::Video, 800));
    const bool restarted =
        run_until([&] { return camera_.opens() == 2 && media->video_running(); }, 5000);
    std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(restarted) << log;
    EXPECT_EQ(bitrate(*media, StreamKind::Video), 800);
    EXPECT_EQ(camera_.max_alive(), 1);
    EXPECT_TRUE(contains(log,
                         "I video: bitrate 350 -> 800 kbit/s (the owner's, over [ffmpeg] "
                         "video_bitrate until robotd exits): restarting capture and encoder"))
        << log;

    // The same again: nothing to restart.
    EXPECT_TRUE(media->set_bitrate(StreamKind::Video, 800));
    run_for(100);
    EXPECT_EQ(camera_.opens(), 2);

    // Kept across VIDOFF / VIDON.
    media->set_video(false);
    ASSERT_TRUE(run_until([&] { return media->threads() == 0; }, 5000));
    media->set_video(true);
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    EXPECT_EQ(bitrate(*media, StreamKind::Video), 800);

    // A re-read whose bitrate did not change leaves the owner's standing, even when another
    // capture setting restarts the stream.
    EXPECT_FALSE(media->reconfigure());
    config_.media.gop = 50;
    EXPECT_TRUE(media->reconfigure());
    ASSERT_TRUE(run_until([&] { return camera_.opens() == 4 && media->video_running(); }, 5000));
    EXPECT_EQ(bitrate(*media, StreamKind::Video), 800);

    // The file's new bitrate replaces the owner's, and the log says so.
    config_.ffmpeg.video_bitrate = 500;
    testing::internal::CaptureStderr();
    EXPECT_TRUE(media->reconfigure());
    const bool replaced =
        run_until([&] { return camera_.opens() == 5 && media->video_running(); }, 5000);
    log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(replaced) << log;
    EXPECT_EQ(bitrate(*media, StreamKind::Video), 500);
    EXPECT_TRUE(contains(log,
                         "I video: [ffmpeg] video_bitrate changed to 500 kbit/s: it replaces the "
                         "owner's 800 kbit/s"))
        << log;
    EXPECT_EQ(camera_.max_alive(), 1);
}

TEST_F(MediaTest, OwnersBitrateForAStreamThatIsOffIsKeptForItsStart) {
    with_mic();
    auto media = make();
    media->set_audio(false);
    testing::internal::CaptureStderr();
    EXPECT_TRUE(media->set_bitrate(StreamKind::Audio, 64));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log,
                         "I audio: bitrate 64 kbit/s kept for when audio starts (audio is off "
                         "(.audio stop))"))
        << log;
    media->set_audio(true);
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    EXPECT_EQ(bitrate(*media, StreamKind::Audio), 64);
}

TEST_F(MediaTest, ABitrateOutOfRangeIsOneLineAndChangesNothing) {
    with_mic();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return media->video_running(); }, 5000));
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    testing::internal::CaptureStderr();
    EXPECT_FALSE(media->set_bitrate(StreamKind::Video, 0));
    EXPECT_FALSE(media->set_bitrate(StreamKind::Video, 100001));
    EXPECT_FALSE(media->set_bitrate(StreamKind::Audio, 33));
    run_for(200);
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log,
                         "W video: .video bitrate refused: video bitrate 0 kbit/s is out of range "
                         "(1..100000); the bitrate stays as it was\n"))
        << log;
    EXPECT_TRUE(contains(log, "W video: .video bitrate refused: video bitrate 100001 kbit/s"))
        << log;
    EXPECT_TRUE(contains(log,
                         "W audio: .audio bitrate refused: audio bitrate 33 kbit/s is not an MP2 "
                         "rate (one of 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, "
                         "320, 384); the bitrate stays as it was\n"))
        << log;
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 3) << log;
    EXPECT_EQ(camera_.opens(), 1);
    EXPECT_EQ(media->threads(), 2);
    EXPECT_EQ(bitrate(*media, StreamKind::Video), 350);
    EXPECT_EQ(bitrate(*media, StreamKind::Audio), 32);
    // Not kept either: a later restart still runs the file's values.
    media->restart(StreamKind::Video);
    ASSERT_TRUE(run_until([&] { return camera_.opens() == 2 && media->video_running(); }, 5000));
    EXPECT_EQ(bitrate(*media, StreamKind::Video), 350);
}

TEST(MediaBitrate, TheOwnersRangeIsTheConfigsRange) {
    const auto config_takes = [](const char* key, int kbps) {
        const ConfigResult r = parse_config(
            std::string("[ffmpeg]\n") + key + " = " + std::to_string(kbps) + "\n", "test.conf");
        return r.ok();
    };
    for (int kbps : {-1, 0, 1, 2, 350, 99999, 100000, 100001, 1000000}) {
        EXPECT_EQ(media::check_bitrate(StreamKind::Video, kbps).empty(),
                  config_takes("video_bitrate", kbps))
            << kbps;
    }
    for (int kbps = -1; kbps <= 400; ++kbps) {
        EXPECT_EQ(media::check_bitrate(StreamKind::Audio, kbps).empty(),
                  config_takes("audio_bitrate", kbps))
            << kbps;
    }
}

TEST_F(MediaTest, MicMuteReachesTheRunningAudioStreamAndEveryLaterOne) {
    with_mic();
    auto media = make();
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    EXPECT_FALSE(media->stream(StreamKind::Audio)->muted());

    testing::internal::CaptureStderr();
    media->set_mic_muted(true);
    std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(media->stream(StreamKind::Audio)->muted()) << "the running stream, no restart";
    EXPECT_EQ(media->threads(), 2);
    EXPECT_TRUE(contains(log,
                         "I audio: microphone muted: the audio stream carries silence until .mic "
                         "unmute"))
        << log;

    // Still muted after a restart, and after .audio stop / start.
    media->restart(StreamKind::Audio);
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    EXPECT_TRUE(media->stream(StreamKind::Audio)->muted());
    media->set_audio(false);
    ASSERT_TRUE(run_until([&] { return media->threads() == 1; }, 5000));
    media->set_audio(true);
    ASSERT_TRUE(run_until([&] { return running(*media, StreamKind::Audio); }, 5000));
    EXPECT_TRUE(media->stream(StreamKind::Audio)->muted());

    media->set_mic_muted(false);
    EXPECT_FALSE(media->stream(StreamKind::Audio)->muted());
    EXPECT_TRUE(running(*media, StreamKind::Audio)) << "unmuting reconnects nothing";
    ASSERT_NE(media->stream(StreamKind::Video), nullptr);
    EXPECT_FALSE(media->stream(StreamKind::Video)->muted()) << "video has nothing to mute";
}

}  // namespace
}  // namespace robotd
