#include "media/source.h"

#include <gtest/gtest.h>
#include <linux/videodev2.h>
#include <unistd.h>

extern "C" {
#include <libavutil/frame.h>
}

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "core/clock.h"
#include "media/alsa_source.h"
#include "media/convert.h"
#include "media/lavf_source.h"
#include "media/m2m_converter.h"
#include "media/v4l2_source.h"

using namespace robotd;
using namespace robotd::media;

namespace {

struct FrameFree {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
FramePtr new_frame() {
    return FramePtr(av_frame_alloc());
}

struct Fixture : ::testing::Test {
    Logger log{LogLevel::Warn, LogSink::Stderr};
    std::string error;
};

// The libav inputs need lavfi (libavdevice), which only the host's FFmpeg has.
struct LavfiFixture : Fixture {
    void SetUp() override {
        if (!is_lavf_input_format("lavfi")) GTEST_SKIP() << "no lavfi in this FFmpeg";
    }
};

// A scratch directory, removed with what is in it.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/robotd-source-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

using LavfVideo = LavfiFixture;
using LavfAudio = LavfiFixture;
using DeviceStrings = Fixture;

// --- libav video ---

TEST_F(LavfVideo, TestsrcGivesYuv420pAtItsSize) {
    auto src = open_video_source("lavfi:testsrc=size=320x240:rate=25", 320, 240, 25, log, &error);
    ASSERT_TRUE(src) << error;
    auto frame = new_frame();
    int64_t t = 0;
    ASSERT_TRUE(src->read(frame.get(), &t, &error)) << error;
    EXPECT_EQ(frame->format, AV_PIX_FMT_YUV420P);
    EXPECT_EQ(frame->width, 320);
    EXPECT_EQ(frame->height, 240);
    ASSERT_NE(frame->data[0], nullptr);
    ASSERT_NE(frame->data[2], nullptr);
    EXPECT_GE(frame->linesize[0], 320);
    // testsrc is a colour pattern: the luma plane is not flat.
    int lo = 255, hi = 0;
    for (int y = 0; y < 240; y += 8)
        for (int x = 0; x < 320; x += 8) {
            const int v = frame->data[0][y * frame->linesize[0] + x];
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    EXPECT_GT(hi - lo, 100);
    EXPECT_NE(src->describe().find("lavfi:testsrc"), std::string::npos) << src->describe();
    EXPECT_FALSE(src->set_control("brightness", 50, &error));
    EXPECT_NE(error.find("not supported"), std::string::npos) << error;
}

TEST_F(LavfVideo, ScalesToTheRequestedSize) {
    auto src = open_video_source("lavfi:testsrc=size=320x240:rate=25", 160, 120, 25, log, &error);
    ASSERT_TRUE(src) << error;
    auto frame = new_frame();
    int64_t t = 0;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(src->read(frame.get(), &t, &error)) << error;
        EXPECT_EQ(frame->format, AV_PIX_FMT_YUV420P);
        EXPECT_EQ(frame->width, 160);
        EXPECT_EQ(frame->height, 120);
    }
}

TEST_F(LavfVideo, PacedToTheFrameRate) {
    auto src = open_video_source("lavfi:testsrc=size=160x120:rate=25", 160, 120, 25, log, &error);
    ASSERT_TRUE(src) << error;
    auto frame = new_frame();
    int64_t first = 0, prev = 0, t = 0;
    ASSERT_TRUE(src->read(frame.get(), &first, &error)) << error;
    const int64_t start = mono_us();
    prev = first;
    for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(src->read(frame.get(), &t, &error)) << error;
        EXPECT_NEAR(t - prev, 40000, 8000) << "frame " << i;
        prev = t;
    }
    const int64_t took = mono_us() - start;
    // 25 frames after the first are due 1 s later, not as fast as lavfi can make them.
    EXPECT_GT(took, 900000);
    EXPECT_LT(took, 1250000);
    EXPECT_NEAR(t - first, 1000000, 20000);
    // capture_us is on mono_us()'s clock.
    EXPECT_LE(t, mono_us());
    EXPECT_GT(t, mono_us() - 200000);
}

TEST_F(LavfVideo, InterruptWakesABlockedRead) {
    auto src = open_video_source("lavfi:testsrc=size=160x120:rate=1", 160, 120, 25, log, &error);
    ASSERT_TRUE(src) << error;
    auto frame = new_frame();
    int64_t t = 0;
    ASSERT_TRUE(src->read(frame.get(), &t, &error)) << error;  // the first is due at once
    int64_t interrupted_at = 0;
    std::thread other([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        interrupted_at = mono_us();
        src->interrupt();
    });
    const int64_t start = mono_us();
    const bool ok = src->read(frame.get(), &t, &error);  // the next is due a second later
    const int64_t returned = mono_us();
    other.join();
    EXPECT_FALSE(ok);
    EXPECT_EQ(error, "interrupted");
    EXPECT_GE(returned - start, 90000);            // it did block until the interrupt
    EXPECT_LT(returned - interrupted_at, 700000);  // not the frame due a second later
    // Sticky: the stream thread sees it again on its next call.
    error.clear();
    EXPECT_FALSE(src->read(frame.get(), &t, &error));
    EXPECT_EQ(error, "interrupted");
}

TEST_F(LavfVideo, EndOfAFiniteInputIsAnError) {
    auto src = open_video_source("lavfi:testsrc=size=160x120:rate=100:duration=0.03", 160, 120, 25,
                                 log, &error);
    ASSERT_TRUE(src) << error;
    auto frame = new_frame();
    int64_t t = 0;
    int frames = 0;
    while (src->read(frame.get(), &t, &error)) ++frames;
    EXPECT_EQ(frames, 3);
    EXPECT_NE(error.find("end of stream"), std::string::npos) << error;
}

// --- libav audio ---

namespace {

// Reads for about `seconds` of wall time; returns the samples delivered.
int64_t read_samples_for(Source& src, double seconds, int rate, int channels, std::string* error) {
    auto frame = new_frame();
    int64_t total = 0, t = 0;
    const int64_t end = mono_us() + int64_t(seconds * 1e6);
    while (mono_us() < end) {
        if (!src.read(frame.get(), &t, error)) return -1;
        EXPECT_EQ(frame->format, AV_SAMPLE_FMT_S16);
        EXPECT_EQ(frame->sample_rate, rate);
        EXPECT_EQ(frame->ch_layout.nb_channels, channels);
        EXPECT_GT(frame->nb_samples, 0);
        total += frame->nb_samples;
    }
    return total;
}

}  // namespace

TEST_F(LavfAudio, SineIsS16MonoInRealTime) {
    auto src =
        open_audio_source("lavfi:sine=frequency=440:sample_rate=44100", 44100, 1, log, &error);
    ASSERT_TRUE(src) << error;
    const int64_t samples = read_samples_for(*src, 1.0, 44100, 1, &error);
    ASSERT_GE(samples, 0) << error;
    // A second's worth, give or take the frame in flight: not the burst lavfi could make.
    EXPECT_GT(samples, 44100 * 0.9);
    EXPECT_LT(samples, 44100 * 1.1);
}

TEST_F(LavfAudio, ResampledToTheRequestedRateAndChannels) {
    auto src =
        open_audio_source("lavfi:sine=frequency=440:sample_rate=44100", 48000, 2, log, &error);
    ASSERT_TRUE(src) << error;
    EXPECT_NE(src->describe().find("48000"), std::string::npos) << src->describe();
    auto frame = new_frame();
    int64_t t = 0, prev_end = 0;
    int peak = 0;
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(src->read(frame.get(), &t, &error)) << error;
        ASSERT_EQ(frame->format, AV_SAMPLE_FMT_S16);
        ASSERT_EQ(frame->sample_rate, 48000);
        ASSERT_EQ(frame->ch_layout.nb_channels, 2);
        const auto* s = reinterpret_cast<const int16_t*>(frame->data[0]);
        for (int k = 0; k < frame->nb_samples; ++k) {
            EXPECT_NEAR(s[2 * k], s[2 * k + 1], 1) << "mono duplicated to both channels";
            peak = std::max(peak, std::abs(int(s[2 * k])));
        }
        // Chunks follow one another on the capture clock (within a millisecond).
        if (i > 0) {
            EXPECT_NEAR(t, prev_end, 1000) << "chunk " << i;
        }
        prev_end = t + int64_t(frame->nb_samples) * 1000000 / 48000;
    }
    EXPECT_GT(peak, 1000);  // a sine, not silence
    const int64_t samples = read_samples_for(*src, 0.5, 48000, 2, &error);
    EXPECT_GT(samples, 24000 * 0.85);
    EXPECT_LT(samples, 24000 * 1.2);
}

// --- device strings ---

TEST_F(DeviceStrings, UnknownFormatNamesTheForms) {
    EXPECT_FALSE(open_video_source("nosuchfmt:foo", 320, 240, 25, log, &error));
    EXPECT_NE(error.find("unknown input format 'nosuchfmt'"), std::string::npos) << error;
    EXPECT_NE(error.find("lavfi:"), std::string::npos) << error;
    error.clear();
    EXPECT_FALSE(open_video_source("hw:1,0", 320, 240, 25, log, &error));
    EXPECT_NE(error.find("unknown input format 'hw'"), std::string::npos) << error;
    error.clear();
    EXPECT_FALSE(open_video_source("video0", 320, 240, 25, log, &error));
    EXPECT_NE(error.find("/dev/video0"), std::string::npos) << error;
}

TEST_F(DeviceStrings, BadLavfiGraph) {
    if (!is_lavf_input_format("lavfi")) GTEST_SKIP() << "no lavfi in this FFmpeg";
    EXPECT_FALSE(open_video_source("lavfi:nosuchfilter", 320, 240, 25, log, &error));
    EXPECT_NE(error.find("cannot open lavfi input 'nosuchfilter'"), std::string::npos) << error;
    error.clear();
    EXPECT_FALSE(open_audio_source("lavfi:nosuchfilter", 44100, 1, log, &error));
    EXPECT_NE(error.find("nosuchfilter"), std::string::npos) << error;
    // A graph with no stream of the wanted kind.
    error.clear();
    EXPECT_FALSE(open_audio_source("lavfi:testsrc", 44100, 1, log, &error));
    EXPECT_NE(error.find("no audio stream"), std::string::npos) << error;
}

TEST_F(DeviceStrings, MissingCamera) {
    EXPECT_FALSE(open_video_source("/dev/nonexistent-video", 320, 240, 25, log, &error));
    EXPECT_NE(error.find("/dev/nonexistent-video"), std::string::npos) << error;
    EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST_F(DeviceStrings, MissingCameraThroughLibav) {
    if (!is_lavf_input_format("v4l2")) GTEST_SKIP() << "no libavdevice in this FFmpeg";
    EXPECT_FALSE(open_video_source("v4l2:/dev/nonexistent-video", 320, 240, 25, log, &error));
    EXPECT_NE(error.find("cannot open v4l2 input '/dev/nonexistent-video'"), std::string::npos)
        << error;
}

TEST_F(DeviceStrings, NotACamera) {
    EXPECT_FALSE(open_video_source("/dev/null", 320, 240, 25, log, &error));
    EXPECT_NE(error.find("/dev/null is not a V4L2 device"), std::string::npos) << error;
}

TEST_F(DeviceStrings, MissingSoundCard) {
    EXPECT_FALSE(open_audio_source("hw:99,0", 44100, 1, log, &error));
    EXPECT_NE(error.find("cannot open ALSA capture hw:99,0"), std::string::npos) << error;
    EXPECT_NE(error.find("mic_device is"), std::string::npos) << error;
    error.clear();
    EXPECT_FALSE(open_audio_source("nosuchfmt:foo", 44100, 1, log, &error));
    EXPECT_NE(error.find("'nosuchfmt' is not a libav input format"), std::string::npos) << error;
    error.clear();
    EXPECT_FALSE(open_audio_source("", 44100, 1, log, &error));
    EXPECT_NE(error.find("no microphone device"), std::string::npos) << error;
}

TEST_F(DeviceStrings, BadParameters) {
    EXPECT_FALSE(open_video_source("lavfi:testsrc", 321, 240, 25, log, &error));
    EXPECT_NE(error.find("bad video size"), std::string::npos) << error;
    EXPECT_FALSE(open_video_source("lavfi:testsrc", 320, 240, 0, log, &error));
    EXPECT_NE(error.find("bad frame rate"), std::string::npos) << error;
    EXPECT_FALSE(open_audio_source("lavfi:sine", 1000, 1, log, &error));
    EXPECT_NE(error.find("bad audio sample rate"), std::string::npos) << error;
    EXPECT_FALSE(open_audio_source("lavfi:sine", 44100, 0, log, &error));
    EXPECT_NE(error.find("bad audio channel count"), std::string::npos) << error;
}

TEST(DeviceParsing, FormatPrefix) {
    EXPECT_EQ(format_prefix("lavfi:testsrc=size=640x480:rate=25"), "lavfi");
    EXPECT_EQ(format_prefix("hw:1,0"), "hw");
    EXPECT_EQ(format_prefix("alsa:hw:1,0"), "alsa");
    EXPECT_EQ(format_prefix("/dev/video0"), "");
    EXPECT_EQ(format_prefix("/dev/v4l/by-path/platform-usb-0:1.3:1.0-video-index0"), "");
    EXPECT_EQ(format_prefix("USB Audio"), "");
    EXPECT_EQ(format_prefix("my cam:x"), "");
    EXPECT_EQ(format_prefix(":x"), "");
    EXPECT_EQ(format_prefix("default"), "");
    if (is_lavf_input_format("lavfi")) {  // libavdevice: the host's FFmpeg
        EXPECT_TRUE(is_lavf_input_format("v4l2"));
        EXPECT_TRUE(is_lavf_input_format("alsa"));
    }
    EXPECT_FALSE(is_lavf_input_format("hw"));
    EXPECT_FALSE(is_lavf_input_format("plughw"));
    EXPECT_FALSE(is_lavf_input_format(""));
}

TEST(DeviceParsing, MicNum) {
    EXPECT_EQ(mic_device_or_num("", "1,0"), "hw:1,0");
    EXPECT_EQ(mic_device_or_num("plughw:2,0", "1,0"), "plughw:2,0");
    EXPECT_EQ(mic_device_or_num("", ""), "");
    std::string error;
    EXPECT_EQ(alsa_pcm_name("1,0", {}, &error), "hw:1,0");
    EXPECT_EQ(alsa_pcm_name("2", {}, &error), "hw:2,0");
    EXPECT_EQ(alsa_pcm_name(" 1,0 ", {}, &error), "hw:1,0");
    EXPECT_EQ(alsa_pcm_name("hw:1,0", {}, &error), "hw:1,0");
    EXPECT_EQ(alsa_pcm_name("plughw:CARD=Device,DEV=0", {}, &error), "plughw:CARD=Device,DEV=0");
    EXPECT_EQ(alsa_pcm_name("default", {}, &error), "default");
    EXPECT_EQ(alsa_pcm_name("", {}, &error), "");
    EXPECT_NE(error.find("no microphone device"), std::string::npos);
}

TEST(DeviceParsing, CardNames) {
    const std::vector<AlsaCard> cards = {
        {0, "PCH", "HDA Intel PCH", "HDA Intel PCH at 0xf7f10000 irq 33"},
        {1, "Device", "USB PnP Sound Device",
         "C-Media Electronics Inc. USB PnP Sound Device at usb-0000:00:14.0-2, full speed"},
        {2, "Loopback", "Loopback", "Loopback 1"},
        {3, "Default", "Default Audio Device", "Generic USB Default Audio Device"},
    };
    std::string error;
    EXPECT_EQ(alsa_pcm_name("Device", cards, &error), "hw:CARD=Device,DEV=0");
    EXPECT_EQ(alsa_pcm_name("usb pnp sound device", cards, &error), "hw:CARD=Device,DEV=0");
    EXPECT_EQ(alsa_pcm_name("PnP Sound", cards, &error), "hw:CARD=Device,DEV=0");
    EXPECT_EQ(alsa_pcm_name("C-Media", cards, &error), "hw:CARD=Device,DEV=0");
    EXPECT_EQ(alsa_pcm_name("Loopback,1", cards, &error), "hw:CARD=Loopback,DEV=1");
    EXPECT_EQ(alsa_pcm_name("HDA Intel PCH", cards, &error), "hw:CARD=PCH,DEV=0");
    // "default" is ALSA's default PCM even when a card's name says Default.
    EXPECT_EQ(alsa_pcm_name("default", cards, &error), "default");
    EXPECT_EQ(alsa_pcm_name("Default", cards, &error), "hw:CARD=Default,DEV=0");
    // Not a card: perhaps a PCM from asound.conf.
    EXPECT_EQ(alsa_pcm_name("mymic", cards, &error), "mymic");
    EXPECT_EQ(alsa_pcm_name("Device", {}, &error), "Device");
    EXPECT_EQ(alsa_pcm_name("Audio Device", cards, &error), "hw:CARD=Default,DEV=0");
    // Ambiguous: both USB cards say so.
    EXPECT_EQ(alsa_pcm_name("usb", cards, &error), "");
    EXPECT_NE(error.find("several sound cards"), std::string::npos) << error;
    EXPECT_NE(error.find("Device (USB PnP Sound Device), Default (Default Audio Device)"),
              std::string::npos)
        << error;
}

TEST(DeviceParsing, ListingCardsWithoutAnyIsEmpty) {
    // This machine has no /dev/snd: the listing is empty rather than an error.
    if (access("/dev/snd", F_OK) == 0) GTEST_SKIP() << "sound cards present";
    EXPECT_TRUE(list_alsa_cards().empty());
}

// --- V4L2 pure parts ---

TEST(V4l2, FormatPreferenceIsCheapestFirst) {
    const auto pref = v4l2_format_preference();
    ASSERT_GE(pref.size(), 3u);
    EXPECT_EQ(fourcc_string(pref[0]), "YU12");
    EXPECT_EQ(fourcc_string(pref[1]), "YUYV");
    const auto mjpg = std::find_if(pref.begin(), pref.end(),
                                   [](uint32_t f) { return fourcc_string(f) == "MJPG"; });
    ASSERT_NE(mjpg, pref.end());
    // Every raw format comes before the compressed ones.
    for (auto it = mjpg; it != pref.end(); ++it)
        EXPECT_TRUE(fourcc_string(*it) == "MJPG" || fourcc_string(*it) == "JPEG");
}

TEST(V4l2, OfferAtTheExactSizeWins) {
    const uint32_t yu12 = v4l2_format_preference()[0], yuyv = v4l2_format_preference()[1];
    EXPECT_EQ(pick_v4l2_offer({}, 640, 480), -1);
    EXPECT_EQ(pick_v4l2_offer({{yu12, 640, 480}, {yuyv, 640, 480}}, 640, 480), 0);
    EXPECT_EQ(pick_v4l2_offer({{yu12, 640, 360}, {yuyv, 640, 480}}, 640, 480), 1);
    EXPECT_EQ(pick_v4l2_offer({{yu12, 640, 360}, {yuyv, 1280, 720}}, 640, 480), 0);
}

TEST(V4l2, FixedSizeCoversOursInTheSameShape) {
    // vivid's webcam sizes.
    const std::vector<FrameSize> webcam = {{320, 180}, {640, 360}, {640, 480}, {1280, 720}};
    auto pick = [](const std::vector<FrameSize>& sizes, int w, int h) {
        const FrameSize s = pick_frame_size(sizes, w, h);
        return std::to_string(s.width) + "x" + std::to_string(s.height);
    };
    EXPECT_EQ(pick(webcam, 320, 240), "640x480");     // 4:3 over the smaller 16:9 640x360
    EXPECT_EQ(pick(webcam, 480, 270), "640x360");     // 16:9
    EXPECT_EQ(pick(webcam, 800, 600), "1280x720");    // no 4:3 covers it: the smallest that does
    EXPECT_EQ(pick(webcam, 1920, 1080), "1280x720");  // none covers it: the largest
    EXPECT_EQ(pick({}, 640, 480), "0x0");
}

TEST(V4l2, ControlValueIsAPercentOfTheRange) {
    EXPECT_EQ(v4l2_control_value(0, 255, 1, 0), 0);
    EXPECT_EQ(v4l2_control_value(0, 255, 1, 100), 255);
    EXPECT_EQ(v4l2_control_value(0, 255, 1, 50), 128);
    EXPECT_EQ(v4l2_control_value(-64, 64, 1, 50), 0);
    EXPECT_EQ(v4l2_control_value(-64, 64, 1, -5), -64);
    EXPECT_EQ(v4l2_control_value(-64, 64, 1, 500), 64);
    EXPECT_EQ(v4l2_control_value(0, 100, 10, 54), 50);
    EXPECT_EQ(v4l2_control_value(0, 100, 10, 55), 60);
    EXPECT_EQ(v4l2_control_value(0, 95, 10, 100), 90);  // 100 is past the end of the grid
    EXPECT_EQ(v4l2_control_value(5, 5, 1, 70), 5);
    EXPECT_EQ(v4l2_control_value(INT32_MIN, INT32_MAX, 1, 100), INT32_MAX);
}

// --- conversion ---

TEST(Convert, Yuyv422ToYuv420pAndScaled) {
    // A 4x2 YUYV picture with a 16-byte stride padding each 8-byte line.
    const int w = 4, h = 2;
    uint8_t buf[2 * 16] = {};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w / 2; ++x) {
            uint8_t* p = buf + y * 16 + x * 4;
            p[0] = 100, p[1] = 60, p[2] = 200, p[3] = 180;  // Y0 U Y1 V
        }
    const uint8_t* data[4] = {buf};
    const int lines[4] = {16};
    VideoConverter same(w, h);
    auto out = new_frame();
    std::string error;
    ASSERT_TRUE(same.convert(data, lines, AV_PIX_FMT_YUYV422, w, h, false, out.get(), &error))
        << error;
    EXPECT_EQ(out->format, AV_PIX_FMT_YUV420P);
    EXPECT_EQ(out->data[0][0], 100);
    EXPECT_EQ(out->data[0][1], 200);
    EXPECT_EQ(out->data[0][out->linesize[0]], 100);  // second line read past the padding
    EXPECT_NEAR(out->data[1][0], 60, 1);
    EXPECT_NEAR(out->data[2][0], 180, 1);

    VideoConverter larger(16, 8);
    ASSERT_TRUE(larger.convert(data, lines, AV_PIX_FMT_YUYV422, w, h, false, out.get(), &error));
    EXPECT_EQ(out->width, 16);
    EXPECT_EQ(out->height, 8);
}

TEST(Convert, MatchingFrameIsReferencedNotCopied) {
    auto in = new_frame();
    in->format = AV_PIX_FMT_YUV420P;
    in->width = 32;
    in->height = 16;
    ASSERT_EQ(av_frame_get_buffer(in.get(), 0), 0);
    VideoConverter conv(32, 16);
    auto out = new_frame();
    std::string error;
    ASSERT_TRUE(conv.convert(in.get(), out.get(), &error)) << error;
    EXPECT_EQ(out->data[0], in->data[0]);
    // Full range is not what MPEG-1 takes: converted.
    in->color_range = AVCOL_RANGE_JPEG;
    ASSERT_TRUE(conv.convert(in.get(), out.get(), &error)) << error;
    EXPECT_NE(out->data[0], in->data[0]);
}

TEST(Convert, PooledFramesOutliveAPoolResize) {
    FramePool pool;
    std::string error;
    auto small = new_frame(), big = new_frame();
    ASSERT_TRUE(pool.get_audio(small.get(), 100, 44100, 1, &error));
    std::memset(small->data[0], 0x5a, 200);
    ASSERT_TRUE(pool.get_audio(big.get(), 10000, 44100, 2, &error));  // replaces the pool
    EXPECT_EQ(small->data[0][199], 0x5a);  // still ours (ASan would catch a free)
    EXPECT_EQ(big->nb_samples, 10000);
    EXPECT_EQ(big->ch_layout.nb_channels, 2);
    EXPECT_GE(big->linesize[0], 40000);
}

TEST(Convert, ResamplerKeepsTheCaptureClock) {
    AudioConverter conv(48000, 1);
    std::vector<int16_t> in(441, 1000);
    auto out = new_frame();
    std::string error;
    int64_t start = 0, t = 0, produced = 0;
    for (int i = 0; i < 10; ++i) {
        const int64_t in_start = 5000000 + i * 10000;  // 441 samples at 44.1 kHz: 10 ms
        ASSERT_TRUE(conv.convert(reinterpret_cast<const uint8_t*>(in.data()), 441, 44100, 1,
                                 in_start, out.get(), &t, &error))
            << error;
        if (out->nb_samples == 0) continue;
        if (produced == 0) start = t;
        // Each chunk starts where the previous one ended, and near its input.
        EXPECT_NEAR(t, start + produced * 1000000 / 48000, 100);
        EXPECT_NEAR(t, in_start, 2000);
        produced += out->nb_samples;
    }
    EXPECT_NEAR(produced, 4800, 100);
}

TEST(Pacer, FollowsTimestampsAndReanchorsOnJumps) {
    Pacer p;
    EXPECT_EQ(p.due_us(1000, 50000), 50000);  // the first: at once
    EXPECT_EQ(p.due_us(41000, 50100), 90000);
    EXPECT_EQ(p.due_us(81000, 130000), 130000);
    EXPECT_EQ(p.anchors(), 1);
    // A little late: still on the old grid, so the reader catches up.
    EXPECT_EQ(p.due_us(121000, 300000), 170000);
    // Too late to catch up: start over from now.
    EXPECT_EQ(p.due_us(161000, 900000), 900000);
    EXPECT_EQ(p.anchors(), 2);
    // A jump forward of the timestamps.
    EXPECT_EQ(p.due_us(60000000, 900100), 900100);
    EXPECT_EQ(p.anchors(), 3);
    // No timestamp: at once.
    EXPECT_EQ(p.due_us(INT64_MIN, 123), 123);
}

TEST(Pacer, LiveFramesAreDatedNotHeld) {
    Pacer p;
    const int64_t t0 = 10000000, pts0 = 777000;
    EXPECT_EQ(p.live_us(pts0, t0), t0);
    // Arrived 20 ms after its slot: dated by its timestamp.
    EXPECT_EQ(p.live_us(pts0 + 40000, t0 + 60000), t0 + 40000);
    // Arrived sooner than the first one's delay allowed: never dated in the future...
    EXPECT_EQ(p.live_us(pts0 + 80000, t0 + 75000), t0 + 75000);
    // ...and that smaller delay now dates the rest.
    EXPECT_EQ(p.live_us(pts0 + 120000, t0 + 130000), t0 + 115000);
    // A stall delays delivery, not the dates.
    EXPECT_EQ(p.live_us(pts0 + 160000, t0 + 900000), t0 + 155000);
    EXPECT_EQ(p.anchors(), 1);
    // Timestamps going back: a new timeline.
    EXPECT_EQ(p.live_us(5000, t0 + 950000), t0 + 950000);
    EXPECT_EQ(p.anchors(), 2);
    EXPECT_EQ(p.live_us(45000, t0 + 991000), t0 + 990000);
}

// --- V4L2 M2M probe ---

TEST(M2m, NoneOnThisMachine) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    testing::internal::CaptureStderr();
    const M2mProbe probe = probe_m2m(log);
    const std::string out = testing::internal::GetCapturedStderr();
    if (access("/dev/video0", F_OK) == 0) GTEST_SKIP() << "video devices present";
    EXPECT_TRUE(probe.devices.empty());
    EXPECT_NE(out.find("no memory-to-memory device in /dev"), std::string::npos) << out;
}

TEST(M2m, NodesThatAreNotDevicesAreSkipped) {
    TempDir dir;
    for (const char* name : {"video0", "video12", "videox", "media0"})
        std::ofstream(dir.path + "/" + name) << "not a device";
    Logger log(LogLevel::Error, LogSink::Stderr);
    EXPECT_TRUE(probe_m2m(log, dir.path).devices.empty());
    EXPECT_TRUE(probe_m2m(log, dir.path + "/missing").devices.empty());
}

TEST(M2m, RolesFromTheFormats) {
    const uint32_t yu12 = v4l2_format_preference()[0], mjpg = v4l2_fourcc('M', 'J', 'P', 'G');
    M2mDevice enc;
    enc.takes = {{yu12, false}};
    enc.produces = {{mjpg, true}};
    classify_m2m(&enc);
    EXPECT_TRUE(enc.can_encode);
    EXPECT_FALSE(enc.can_decode);
    EXPECT_FALSE(enc.can_convert);
    M2mDevice dec;
    dec.takes = {{mjpg, true}};
    dec.produces = {{yu12, false}};
    classify_m2m(&dec);
    EXPECT_TRUE(dec.can_decode);
    EXPECT_FALSE(dec.can_encode);
    M2mDevice isp;
    isp.path = "/dev/video13";
    isp.driver = "bcm2835-isp";
    isp.takes = {{yu12, false}};
    isp.produces = {{yu12, false}};
    classify_m2m(&isp);
    EXPECT_TRUE(isp.can_convert);
    EXPECT_EQ(describe_m2m(isp),
              "/dev/video13 (bcm2835-isp: ): roles convert/scale; takes YU12 -> produces YU12");
    EXPECT_EQ(fourcc_string(0x34325241), "AR24");
    EXPECT_EQ(fourcc_string(0x01), "....");
}

TEST(M2m, PickTakesTheCameraFormatAndTheCheapestOutput) {
    const uint32_t yu12 = v4l2_fourcc('Y', 'U', '1', '2'), yuyv = v4l2_fourcc('Y', 'U', 'Y', 'V');
    const uint32_t rgb3 = v4l2_fourcc('R', 'G', 'B', '3'), mjpg = v4l2_fourcc('M', 'J', 'P', 'G');
    M2mDevice vim2m{"/dev/video1", "vim2m",         "vim2m",
                    false,         {{rgb3, false}}, {{rgb3, false}, {yuyv, false}}};
    M2mDevice isp{"/dev/video13",
                  "bcm2835-isp",
                  "isp",
                  false,
                  {{yuyv, false}, {rgb3, false}},
                  {{yu12, false}, {yuyv, false}}};
    M2mDevice multi{"/dev/video14", "x", "x", true, {{rgb3, false}}, {{yu12, false}}};
    M2mDevice decoder{"/dev/video10", "dec", "dec", false, {{mjpg, true}}, {{yu12, false}}};
    M2mRequest rgb{rgb3, 640, 480, 1920, 320, 240, {yu12, yuyv}};
    std::string why;
    // YU12 out beats YUYV out, whatever the device order.
    EXPECT_EQ(pick_m2m_device({vim2m, isp}, rgb, "auto", &why), 1);
    EXPECT_EQ(pick_m2m_device({vim2m}, rgb, "auto", &why), 0);
    EXPECT_EQ(pick_m2m_device({vim2m, isp}, rgb, "/dev/video1", &why), 0);
    // A camera format no device takes, and what the log then says.
    M2mRequest yu{yu12, 640, 480, 640, 320, 240, {yu12}};
    EXPECT_EQ(pick_m2m_device({vim2m, decoder}, yu, "auto", &why), -1);
    EXPECT_NE(why.find("/dev/video1 does not take YU12"), std::string::npos) << why;
    EXPECT_EQ(pick_m2m_device({multi}, rgb, "auto", &why), -1);
    EXPECT_NE(why.find("multi-planar"), std::string::npos) << why;
    EXPECT_EQ(pick_m2m_device({}, rgb, "auto", &why), -1);
    EXPECT_EQ(why, "no memory-to-memory device");
    EXPECT_EQ(pick_m2m_device({vim2m}, rgb, "/dev/video9", &why), -1);
    EXPECT_EQ(why, "/dev/video9 is not a memory-to-memory device");
}
