// Media streams end to end on lavfi test inputs: records arrive in order with keyframes every
// GOP, the bytes are a valid MPEG-TS (checked with ffprobe), a full ring drops whole frames up
// to a keyframe, a bad device is retried without crashing and stops promptly, and muted audio
// decodes to silence while the stream goes on.
#include "media/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "fake_slow_camera.h"

using namespace robotd;
using namespace robotd::media;

namespace {

struct Record {
    std::vector<uint8_t> bytes;
    RecordMeta meta;
};

// The `wake` callback as a condition the test waits on instead of sleeping.
class Waker {
  public:
    std::function<void()> callback() {
        return [this] {
            std::lock_guard<std::mutex> lock(mutex_);
            ++wakes_;
            cv_.notify_all();
        };
    }
    // Waits until a record was pushed since the last call, or `ms` passed.
    void wait(int ms) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return wakes_ != seen_; });
        seen_ = wakes_;
    }
    uint64_t wakes() {
        std::lock_guard<std::mutex> lock(mutex_);
        return wakes_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    uint64_t wakes_ = 0, seen_ = 0;
};

// Pops everything the ring holds now.
void drain(PacketRing& ring, std::vector<Record>* out) {
    const uint8_t* data = nullptr;
    size_t len = 0;
    RecordMeta meta;
    while (ring.front(&data, &len, &meta)) {
        out->push_back(Record{std::vector<uint8_t>(data, data + len), meta});
        ring.pop();
    }
}

// Collects records until `enough` of them arrived or `timeout_ms` passed.
std::vector<Record> collect(MediaStream& stream, Waker& waker, size_t enough, int timeout_ms) {
    std::vector<Record> records;
    const int64_t deadline = mono_us() + int64_t(timeout_ms) * 1000;
    while (records.size() < enough && mono_us() < deadline) {
        waker.wait(100);
        drain(stream.ring(), &records);
    }
    return records;
}

// --- a little MPEG-TS reading, enough to check PIDs, stream ids and timestamps ---

struct TsPes {
    int pid = -1;
    int stream_id = -1;
    int64_t pts = -1;
};

// Every PES start in `bytes` (which must be whole 188-byte packets).
std::vector<TsPes> pes_starts(const std::vector<uint8_t>& bytes) {
    std::vector<TsPes> out;
    for (size_t off = 0; off + 188 <= bytes.size(); off += 188) {
        const uint8_t* p = &bytes[off];
        if (p[0] != 0x47 || !(p[1] & 0x40)) continue;
        const int afc = (p[3] >> 4) & 3;
        if (!(afc & 1)) continue;
        size_t pos = 4;
        if (afc & 2) pos += 1 + p[4];
        if (pos + 14 > 188 || p[pos] != 0 || p[pos + 1] != 0 || p[pos + 2] != 1) continue;
        TsPes pes;
        pes.pid = ((p[1] & 0x1f) << 8) | p[2];
        pes.stream_id = p[pos + 3];
        if (p[pos + 7] & 0x80) {
            const uint8_t* t = p + pos + 9;
            pes.pts = (int64_t(t[0] >> 1) & 7) << 30 | int64_t(t[1]) << 22 |
                      int64_t(t[2] >> 1) << 15 | int64_t(t[3]) << 7 | int64_t(t[4] >> 1);
        }
        out.push_back(pes);
    }
    return out;
}

// PIDs of every TS packet in `bytes`.
std::vector<int> pids(const std::vector<uint8_t>& bytes) {
    std::vector<int> out;
    for (size_t off = 0; off + 188 <= bytes.size(); off += 188) {
        const int pid = ((bytes[off + 1] & 0x1f) << 8) | bytes[off + 2];
        if (std::find(out.begin(), out.end(), pid) == out.end()) out.push_back(pid);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool has_sequence_header(const std::vector<uint8_t>& b) {
    static const uint8_t kSeq[] = {0, 0, 1, 0xb3};
    return std::search(b.begin(), b.end(), kSeq, kSeq + 4) != b.end();
}

// Counts the lines of `log` that contain `needle`.
size_t count_lines(const std::string& log, const std::string& needle) {
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
}

// --- ffprobe on the concatenated records ---

class TempFile {
  public:
    explicit TempFile(const std::vector<Record>& records) {
        const char* dir = getenv("TMPDIR");
        path_ = std::string(dir != nullptr ? dir : "/tmp") + "/robotd-stream-XXXXXX";
        const int fd = mkstemp(&path_[0]);
        if (fd < 0) return;
        for (const Record& r : records) {
            if (write(fd, r.bytes.data(), r.bytes.size()) != ssize_t(r.bytes.size())) break;
        }
        close(fd);
    }
    ~TempFile() { unlink(path_.c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::string run(const std::string& command) {
    std::string out;
    FILE* f = popen(command.c_str(), "r");
    if (f == nullptr) return out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    pclose(f);
    return out;
}

std::string ffprobe_streams(const std::string& path) {
    return run(
        "ffprobe -v error -show_streams -show_entries "
        "stream=codec_name,width,height,r_frame_rate,has_b_frames,sample_rate,channels "
        "-of json '" +
        path + "' 2>&1");
}

// One letter per decoded frame (I, P, B), in order.
std::string ffprobe_picture_types(const std::string& path) {
    std::string out =
        run("ffprobe -v error -select_streams v:0 -show_entries frame=pict_type "
            "-of csv=p=0 '" +
            path + "' 2>&1");
    std::string letters;
    for (char c : out) {
        if (c == 'I' || c == 'P' || c == 'B') letters += c;
    }
    return letters;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

StreamSettings video_settings(size_t ring_bytes = 1 << 20) {
    StreamSettings s;
    s.kind = StreamKind::Video;
    s.device = "lavfi:testsrc=size=320x240:rate=25";
    s.width = 320;
    s.height = 240;
    s.fps = 25;
    s.gop = 10;  // short, so a 1.6 s test sees several GOPs
    s.bitrate_kbps = 350;
    s.ring_bytes = ring_bytes;
    return s;
}

class MediaStreamTest : public testing::Test {
  protected:
    Logger log_{LogLevel::Warn, LogSink::Stderr};
    Waker waker_;
};

TEST_F(MediaStreamTest, VideoRecordsAreKeyframedMpeg1InTs) {
    MediaStream stream(video_settings(), log_, waker_.callback());
    stream.start();
    std::vector<Record> records = collect(stream, waker_, 25, 5000);
    ASSERT_GE(records.size(), 25u) << "no video from lavfi";
    EXPECT_TRUE(stream.running());
    stream.request_keyframe();  // from this thread, mid-GOP
    const size_t requested_at = records.size();
    std::vector<Record> more = collect(stream, waker_, 20, 5000);
    records.insert(records.end(), more.begin(), more.end());
    const int64_t t0 = mono_us();
    stream.stop();
    EXPECT_LT(mono_us() - t0, 1000000);
    EXPECT_FALSE(stream.running());
    drain(stream.ring(), &records);

    const StreamStats& st = stream.stats();
    EXPECT_EQ(st.frames.load(), records.size());
    EXPECT_EQ(st.dropped.load(), 0u);
    EXPECT_EQ(st.source_errors.load(), 0u);
    uint64_t bytes = 0;
    for (const Record& r : records) bytes += r.bytes.size();
    EXPECT_EQ(st.bytes.load(), bytes);

    // One record per frame: keyframes every GOP (10), plus the one requested, after which
    // the GOP counts from there.
    std::vector<size_t> keys;
    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        EXPECT_EQ(r.bytes.size() % 188, 0u);
        if (i > 0) {
            EXPECT_GT(r.meta.capture_us, records[i - 1].meta.capture_us) << i;
        }
        if (r.meta.keyframe) {
            keys.push_back(i);
            EXPECT_TRUE(has_sequence_header(r.bytes)) << i;
        }
        const auto pes = pes_starts(r.bytes);
        ASSERT_EQ(pes.size(), 1u) << i;  // exactly one frame
        EXPECT_EQ(pes[0].pid, 0x100);
        EXPECT_EQ(pes[0].stream_id, 0xe0);
    }
    ASSERT_GE(keys.size(), 4u);
    EXPECT_EQ(keys[0], 0u);
    EXPECT_EQ(keys[1], 10u);
    EXPECT_EQ(keys[2], 20u);
    size_t forced = 0;
    for (size_t k : keys) {
        if (k >= requested_at && k % 10 != 0) {
            forced = k;
            break;
        }
    }
    ASSERT_NE(forced, 0u) << "no keyframe after request_keyframe()";
    EXPECT_LE(forced, requested_at + 5);  // within a few frames (those already encoded)
    for (size_t k : keys) {
        if (k > forced) {
            EXPECT_EQ((k - forced) % 10, 0u) << k;
        }
    }
    // PAT (0), PMT (0x1000), SDT (0x11), the video PID; nothing else.
    std::vector<uint8_t> all;
    for (const Record& r : records) all.insert(all.end(), r.bytes.begin(), r.bytes.end());
    EXPECT_EQ(pids(all), (std::vector<int>{0x0, 0x11, 0x100, 0x1000}));
    EXPECT_EQ(pids(records[0].bytes), (std::vector<int>{0x0, 0x11, 0x100, 0x1000}))
        << "the first record carries PAT and PMT";

    TempFile file(records);
    const std::string probe = ffprobe_streams(file.path());
    EXPECT_TRUE(contains(probe, "\"codec_name\": \"mpeg1video\"")) << probe;
    EXPECT_TRUE(contains(probe, "\"width\": 320")) << probe;
    EXPECT_TRUE(contains(probe, "\"height\": 240")) << probe;
    EXPECT_TRUE(contains(probe, "\"r_frame_rate\": \"25/1\"")) << probe;
    // ffprobe says has_b_frames=1 for every MPEG-1 stream (MPEG-1 cannot signal low delay),
    // so B-frames are looked for in the decoded pictures instead.
    const std::string types = ffprobe_picture_types(file.path());
    EXPECT_EQ(types.size(), records.size()) << types;
    EXPECT_EQ(types.find('B'), std::string::npos) << types;
    EXPECT_EQ(size_t(std::count(types.begin(), types.end(), 'I')), keys.size()) << types;
}

TEST_F(MediaStreamTest, AudioRecordsAreMp2InTs) {
    StreamSettings s;
    s.kind = StreamKind::Audio;
    s.device = "lavfi:sine=frequency=440:sample_rate=44100";
    s.sample_rate = 44100;
    s.channels = 1;
    s.bitrate_kbps = 32;
    MediaStream stream(s, log_, waker_.callback());
    stream.start();
    std::vector<Record> records = collect(stream, waker_, 40, 5000);  // ~1 s of 1152 samples
    stream.stop();
    drain(stream.ring(), &records);
    ASSERT_GE(records.size(), 40u) << "no audio from lavfi";
    EXPECT_EQ(stream.stats().frames.load(), records.size());
    EXPECT_EQ(stream.stats().dropped.load(), 0u);

    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        EXPECT_TRUE(r.meta.keyframe) << i;
        EXPECT_EQ(r.bytes.size() % 188, 0u);
        if (i > 0) {
            EXPECT_GT(r.meta.capture_us, records[i - 1].meta.capture_us) << i;
        }
        const auto pes = pes_starts(r.bytes);
        ASSERT_EQ(pes.size(), 1u) << i;  // each MP2 frame leaves in its own record
        EXPECT_EQ(pes[0].pid, 0x101);
        EXPECT_EQ(pes[0].stream_id, 0xc0);
        if (i > 0) {  // 1152 samples at 44.1 kHz, in 90 kHz ticks
            const auto prev = pes_starts(records[i - 1].bytes);
            EXPECT_NEAR(double(pes[0].pts - prev[0].pts), 1152 * 90000.0 / 44100, 1.0) << i;
        }
    }
    // Capture times advance at the sample rate (26.1 ms per frame), give or take the jitter.
    const double span_ms =
        double(records.back().meta.capture_us - records[0].meta.capture_us) / 1000.0;
    EXPECT_NEAR(span_ms, double(records.size() - 1) * 1152 * 1000.0 / 44100, 150.0);

    std::vector<uint8_t> all;
    for (const Record& r : records) all.insert(all.end(), r.bytes.begin(), r.bytes.end());
    // Different PIDs from the video's (PAT and SDT are per transport stream).
    EXPECT_EQ(pids(all), (std::vector<int>{0x0, 0x11, 0x101, 0x1001}));

    TempFile file(records);
    const std::string probe = ffprobe_streams(file.path());
    EXPECT_TRUE(contains(probe, "\"codec_name\": \"mp2\"")) << probe;
    EXPECT_TRUE(contains(probe, "\"sample_rate\": \"44100\"")) << probe;
    EXPECT_TRUE(contains(probe, "\"channels\": 1")) << probe;
}

// The loudest sample of the decoded audio in dB (ffmpeg's volumedetect; digital silence
// reads -91 dB), or +1000 when it cannot be read.
double max_volume_db(const std::string& path) {
    const std::string out =
        run("ffmpeg -hide_banner -nostats -i '" + path + "' -af volumedetect -f null - 2>&1");
    const std::string key = "max_volume: ";
    const size_t at = out.find(key);
    if (at == std::string::npos) return 1000;
    return strtod(out.c_str() + at + key.size(), nullptr);
}

StreamSettings sine_settings() {
    StreamSettings s;
    s.kind = StreamKind::Audio;
    s.device = "lavfi:sine=frequency=440:sample_rate=44100";  // amplitude 1/8: -18 dB peak
    s.sample_rate = 44100;
    s.channels = 1;
    s.bitrate_kbps = 32;
    return s;
}

TEST_F(MediaStreamTest, MutedAudioCarriesSilenceAndUnmutedTheSoundAgain) {
    MediaStream stream(sine_settings(), log_, waker_.callback());
    stream.set_muted(true);  // before start: from the first frame
    stream.start();
    std::vector<Record> muted = collect(stream, waker_, 20, 5000);  // ~0.5 s
    ASSERT_GE(muted.size(), 20u) << "no audio from lavfi";
    EXPECT_TRUE(stream.muted());

    stream.set_muted(false);
    // Frames encoded before the flag was seen may still come: let a few pass.
    std::vector<Record> boundary = collect(stream, waker_, 3, 5000);
    ASSERT_GE(boundary.size(), 3u);
    std::vector<Record> loud = collect(stream, waker_, 20, 5000);
    ASSERT_GE(loud.size(), 20u);
    EXPECT_EQ(stream.stats().restarts.load(), 0u) << "one stream throughout: nothing reopened";

    stream.set_muted(true);
    boundary = collect(stream, waker_, 3, 5000);
    ASSERT_GE(boundary.size(), 3u);
    std::vector<Record> muted_again = collect(stream, waker_, 20, 5000);
    stream.stop();
    ASSERT_GE(muted_again.size(), 20u);

    // Each part as its own file; mpegts repeats the PAT/PMT, so a later part decodes alone.
    TempFile silent_file(muted), loud_file(loud), silent_again_file(muted_again);
    EXPECT_LT(max_volume_db(silent_file.path()), -80.0) << "muted: silence";
    EXPECT_GT(max_volume_db(loud_file.path()), -30.0) << "unmuted: the sine";
    EXPECT_LT(max_volume_db(silent_again_file.path()), -80.0) << "muted again: silence";
    // Time goes on through the mute: the timestamps of the whole stream are continuous.
    const auto first = pes_starts(loud.front().bytes), last = pes_starts(muted.back().bytes);
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(last.size(), 1u);
    EXPECT_GT(first[0].pts, last[0].pts);
}

TEST_F(MediaStreamTest, FullRingDropsWholeFramesUpToAKeyframe) {
    StreamSettings s = video_settings(16 * 1024);  // a few frames
    s.gop = 25;  // so the keyframe after a gap is the requested one, not the GOP's
    MediaStream stream(s, log_, waker_.callback());
    stream.start();
    // Nobody pops: the ring fills, then frames are dropped.
    const int64_t deadline = mono_us() + 5000000;
    while (stream.stats().dropped.load() < 5 && mono_us() < deadline) waker_.wait(20);
    ASSERT_GE(stream.stats().dropped.load(), 5u);
    EXPECT_GT(stream.stats().frames.load(), 0u);
    EXPECT_LE(stream.ring().used_bytes(), stream.ring().capacity());
    EXPECT_EQ(stream.ring().capacity(), 16u * 1024);

    // The consumer comes back: what was queued, then (after the gap) a keyframe.
    const uint64_t dropped_before_resume = stream.stats().dropped.load();
    std::vector<Record> records = collect(stream, waker_, 30, 5000);
    stream.stop();
    drain(stream.ring(), &records);
    const StreamStats& st = stream.stats();
    EXPECT_EQ(st.frames.load(), records.size());

    // Every encoded frame has the next pts (3600 ticks at 25 fps): a larger step is where
    // frames were dropped, and the record after it must start a new GOP.
    int gaps = 0;
    int64_t missing = 0;
    int64_t prev_pts = -1;
    for (size_t i = 0; i < records.size(); ++i) {
        const auto pes = pes_starts(records[i].bytes);
        ASSERT_EQ(pes.size(), 1u) << i;
        const int64_t pts = pes[0].pts;
        if (prev_pts >= 0) {
            ASSERT_GT(pts, prev_pts) << i;
            ASSERT_EQ((pts - prev_pts) % 3600, 0) << i;
            if (pts - prev_pts > 3600) {
                ++gaps;
                missing += (pts - prev_pts) / 3600 - 1;
                EXPECT_TRUE(records[i].meta.keyframe) << "record " << i << " follows a gap";
                EXPECT_TRUE(has_sequence_header(records[i].bytes)) << i;
            }
        }
        prev_pts = pts;
    }
    EXPECT_GE(gaps, 1);
    EXPECT_EQ(uint64_t(missing), st.dropped.load());  // dropped frames, and only those
    // The keyframe was requested as soon as there was room for it, not left to the GOP (which
    // would have dropped up to 25 frames more).
    EXPECT_LE(st.dropped.load() - dropped_before_resume, 5u);
}

TEST_F(MediaStreamTest, BadDeviceIsRetriedAndStopsPromptly) {
    StreamSettings s = video_settings();
    s.device = "lavfi:nosuchfilter";
    MediaStream stream(s, log_, waker_.callback());
    testing::internal::CaptureStderr();
    stream.start();
    // The first retry comes after 1 s of backoff.
    const int64_t deadline = mono_us() + 5000000;
    while (stream.stats().source_errors.load() < 2 && mono_us() < deadline) waker_.wait(20);
    EXPECT_GE(stream.stats().source_errors.load(), 2u);
    EXPECT_FALSE(stream.running());
    const int64_t t0 = mono_us();
    stream.stop();
    EXPECT_LT(mono_us() - t0, 1000000);
    stream.stop();  // twice is fine
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(stream.stats().frames.load(), 0u);
    EXPECT_EQ(stream.ring().used_bytes(), 0u);
    // The first failure of the outage, not once per attempt.
    EXPECT_EQ(count_lines(log, "W video: cannot open lavfi:nosuchfilter"), 1u) << log;
}

TEST_F(MediaStreamTest, StopsPromptlyWhileStreamingAndRestarts) {
    MediaStream stream(video_settings(), log_, waker_.callback());
    stream.stop();  // before start: nothing to do
    stream.start();
    std::vector<Record> records = collect(stream, waker_, 3, 5000);
    ASSERT_GE(records.size(), 3u);
    int64_t t0 = mono_us();
    stream.stop();
    EXPECT_LT(mono_us() - t0, 1000000);
    EXPECT_FALSE(stream.running());
    stream.start();  // a stopped stream can start again
    const uint64_t before = stream.stats().frames.load();
    records = collect(stream, waker_, 3, 5000);
    EXPECT_GT(stream.stats().frames.load(), before);
    t0 = mono_us();
    stream.stop();
    EXPECT_LT(mono_us() - t0, 1000000);
}

TEST_F(MediaStreamTest, CameraControlsAreCheckedKeptAndAppliedAtEveryOpen) {
    StreamSettings s = video_settings();
    s.controls.set("contrast", 40);  // wanted before this stream existed (video was off)
    MediaStream stream(s, log_, waker_.callback());
    testing::internal::CaptureStderr();
    EXPECT_FALSE(stream.set_control("hue", 50));
    EXPECT_FALSE(stream.set_control("brightness", 101));
    EXPECT_TRUE(stream.set_control("brightness", 60));  // not open yet: kept
    stream.start();
    // Applied at open, before the first frame is read: logged by the time a record arrives.
    std::vector<Record> records = collect(stream, waker_, 1, 5000);
    ASSERT_GE(records.size(), 1u);
    EXPECT_TRUE(stream.running());
    EXPECT_EQ(stream.stats().controls.load(), 2u);  // contrast and brightness, at open
    // Open now: applied by the stream thread between frames; awaited before the stop (a stop
    // closes the camera without applying what is still pending).
    EXPECT_TRUE(stream.set_control("saturation", 0));
    EXPECT_TRUE(stream.set_control("brightness", 70));
    const int64_t deadline = mono_us() + 5000000;
    while (stream.stats().controls.load() < 4 && mono_us() < deadline) waker_.wait(100);
    EXPECT_EQ(stream.stats().controls.load(), 4u);
    stream.stop();
    std::string log = testing::internal::GetCapturedStderr();
    const std::string refused = "camera controls are not supported by lavfi:testsrc";
    EXPECT_TRUE(contains(log, "W video: camera control rejected: unknown camera control 'hue'"))
        << log;
    EXPECT_TRUE(contains(log, "W video: camera control rejected: brightness 101 is out of range"))
        << log;
    EXPECT_TRUE(contains(log, "W video: contrast 40 % not applied: " + refused)) << log;
    EXPECT_TRUE(contains(log, "W video: brightness 60 % not applied: " + refused)) << log;
    EXPECT_TRUE(contains(log, "W video: saturation 0 % not applied: " + refused)) << log;
    EXPECT_TRUE(contains(log, "W video: brightness 70 % not applied: " + refused)) << log;
    EXPECT_FALSE(contains(log, "brightness 101 %")) << log;

    // A restart (a replugged camera, video on again) gets the newest values, in order.
    drain(stream.ring(), &records);  // so the next record is the new open's
    testing::internal::CaptureStderr();
    stream.start();
    records = collect(stream, waker_, 1, 5000);
    ASSERT_GE(records.size(), 1u);
    stream.stop();
    log = testing::internal::GetCapturedStderr();
    const size_t contrast = log.find("W video: contrast 40 % not applied");
    const size_t brightness = log.find("W video: brightness 70 % not applied");
    const size_t saturation = log.find("W video: saturation 0 % not applied");
    ASSERT_NE(contrast, std::string::npos) << log;
    ASSERT_NE(brightness, std::string::npos) << log;
    ASSERT_NE(saturation, std::string::npos) << log;
    EXPECT_LT(contrast, brightness);
    EXPECT_LT(brightness, saturation);
    EXPECT_FALSE(contains(log, "brightness 60 %")) << log;
}

TEST_F(MediaStreamTest, AudioHasNoCameraControls) {
    StreamSettings s;
    s.kind = StreamKind::Audio;
    s.device = "lavfi:sine=frequency=440:sample_rate=44100";
    MediaStream stream(s, log_, waker_.callback());
    testing::internal::CaptureStderr();
    EXPECT_FALSE(stream.set_control("brightness", 50));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log, "W audio: camera control rejected: the audio stream has no camera"))
        << log;
}

TEST(CaptureChanges, NamesWhatDiffersAndIgnoresTheControls) {
    StreamSettings a = video_settings();
    StreamSettings b = a;
    b.controls.set("brightness", 10);  // a running stream takes these without a restart
    EXPECT_EQ(capture_changes(a, b), "");
    b.device = "/dev/video1";
    b.height = 120;
    b.video_options.m2m = "off";
    EXPECT_EQ(capture_changes(a, b), "device, size, m2m");
}

// --- a slow camera: the stream's thread waits for the device, nobody else does ---

StreamSettings fake_settings() {
    StreamSettings s = video_settings();
    s.device = "/dev/fake-video";
    s.width = 160;
    s.height = 120;
    return s;
}

// Waits (on the stream's wakes) until `done` holds or 5 s passed.
template <typename Pred>
bool await(Waker& waker, Pred done) {
    const int64_t deadline = mono_us() + 5000000;
    while (!done() && mono_us() < deadline) waker.wait(20);
    return done();
}

TEST_F(MediaStreamTest, StopIsAskedAtOnceWhileTheDeviceOpensAndTheThreadReportsItsEnd) {
    FakeSlowCamera camera;
    camera.hold_opens();
    MediaStream stream(fake_settings(), log_, waker_.callback(), camera.options());
    EXPECT_TRUE(stream.ended()) << "not started: nothing to wait for";
    stream.start();
    EXPECT_FALSE(stream.ended());
    ASSERT_TRUE(camera.wait_inside_open(5000));
    stream.request_stop();  // returns although the thread is inside the open
    EXPECT_TRUE(camera.inside_open());
    EXPECT_FALSE(stream.ended());
    EXPECT_FALSE(stream.reap()) << "reap() must not wait for a thread that runs";
    EXPECT_FALSE(stream.wait_ended(50));
    const uint64_t wakes = waker_.wakes();
    camera.release();
    ASSERT_TRUE(stream.wait_ended(5000));
    EXPECT_TRUE(stream.ended());
    EXPECT_TRUE(stream.reap());
    EXPECT_GT(waker_.wakes(), wakes) << "the thread's end wakes the loop";
    EXPECT_EQ(camera.opens(), 1);
    EXPECT_EQ(camera.alive(), 0) << "the camera opened after the stop was asked is closed";
    EXPECT_EQ(stream.stats().frames.load(), 0u);
    EXPECT_FALSE(stream.running());

    // It starts again, and a stop while streaming ends it too.
    stream.start();
    ASSERT_TRUE(await(waker_, [&] { return stream.stats().frames.load() >= 2; }));
    stream.request_stop();
    ASSERT_TRUE(stream.wait_ended(5000));
    EXPECT_EQ(camera.alive(), 0);
    EXPECT_EQ(camera.max_alive(), 1);
}

TEST_F(MediaStreamTest, CameraControlsAreWrittenByTheStreamThreadNeverTheCaller) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    FakeSlowCamera camera;
    MediaStream stream(fake_settings(), log, waker_.callback(), camera.options());
    testing::internal::CaptureStderr();
    stream.start();
    ASSERT_TRUE(await(waker_, [&] { return stream.stats().frames.load() >= 1; }));
    camera.hold_controls();
    // The camera holds the first write for as long as the test likes: the caller is not the
    // one waiting.
    EXPECT_TRUE(stream.set_control("brightness", 60));
    ASSERT_TRUE(camera.wait_inside_control(5000));
    EXPECT_TRUE(stream.set_control("contrast", 30));  // nor does a second one wait
    EXPECT_TRUE(camera.inside_control());
    camera.release();
    ASSERT_TRUE(await(waker_, [&] { return stream.stats().controls.load() >= 2; }));
    const uint64_t frames = stream.stats().frames.load();
    ASSERT_TRUE(await(waker_, [&] { return stream.stats().frames.load() > frames; }))
        << "frames go on after the controls";
    stream.stop();
    const std::string log_text = testing::internal::GetCapturedStderr();

    const auto writes = camera.controls();
    ASSERT_EQ(writes.size(), 2u);
    EXPECT_EQ(writes[0], std::make_pair(std::string("brightness"), 60));
    EXPECT_EQ(writes[1], std::make_pair(std::string("contrast"), 30));
    for (const auto& id : camera.control_threads()) EXPECT_NE(id, std::this_thread::get_id());
    // The outcome is the stream thread's to log, once each.
    EXPECT_EQ(count_lines(log_text, "I video: brightness 60 % applied to /dev/fake-video"), 1u)
        << log_text;
    EXPECT_EQ(count_lines(log_text, "I video: contrast 30 % applied to /dev/fake-video"), 1u)
        << log_text;
}

TEST_F(MediaStreamTest, AStopAskedDuringAHeldControlWriteEndsTheThreadWhenItReturns) {
    FakeSlowCamera camera;
    MediaStream stream(fake_settings(), log_, waker_.callback(), camera.options());
    stream.start();
    ASSERT_TRUE(await(waker_, [&] { return stream.stats().frames.load() >= 1; }));
    camera.hold_controls();
    EXPECT_TRUE(stream.set_control("brightness", 10));
    EXPECT_TRUE(stream.set_control("saturation", 20));
    ASSERT_TRUE(camera.wait_inside_control(5000));
    stream.request_stop();
    EXPECT_FALSE(stream.reap());
    camera.release();
    ASSERT_TRUE(stream.wait_ended(5000));
    // The camera closing is not given the write still pending.
    EXPECT_EQ(camera.controls().size(), 1u);
    EXPECT_EQ(camera.alive(), 0);
}

TEST_F(MediaStreamTest, AnOutageIsLoggedOnceAndItsEndOnceTheCameraIsHealthy) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    FakeSlowCamera camera;
    camera.fail_opens(3);
    // Short delays and a short "healthy" rule, so the test sees the whole outage.
    MediaStream stream(fake_settings(), log, waker_.callback(), camera.options({10, 40, 200}));
    testing::internal::CaptureStderr();
    stream.start();
    // 25 fps: 20 frames take 760 ms or more after the open, well past "healthy" (200 ms).
    const bool streamed = await(waker_, [&] { return stream.stats().frames.load() >= 20; });
    stream.stop();
    const std::string text = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(streamed) << text;
    EXPECT_EQ(stream.stats().source_errors.load(), 3u);
    EXPECT_EQ(camera.opens(), 4);
    EXPECT_EQ(count_lines(text,
                          "W video: cannot open /dev/fake-video: fake: no camera there "
                          "(retrying with backoff)"),
              1u)
        << text;
    EXPECT_EQ(count_lines(text, " W "), 1u) << "one warning for the outage\n" << text;
    EXPECT_EQ(count_lines(text, "I video: streaming fake slow camera as mpeg1video"), 1u) << text;
    EXPECT_EQ(count_lines(text,
                          "I video: /dev/fake-video is streaming again (it came back after "
                          "3 attempts over "),
              1u)
        << text;
}

}  // namespace
