// Media on a real event loop with a fake slow camera: a stop, a restart or a camera control
// never holds the loop (a loop timer fires while the camera holds the stream's thread), an
// ended thread is reaped, a restart waits for the old thread to let go of the device, a
// config re-read restarts only what changed, and robotd's exit waits for the threads only
// so long.
#include "robot/media.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "fake_slow_camera.h"
#include "loop_harness.h"

namespace robotd {
namespace {

using media::FakeSlowCamera;

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
        options.open_source = camera_.opener();
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
