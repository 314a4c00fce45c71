// The WAV parser on what engines write and on hostile or cut streams: every byte split, the
// streamed data sizes, and one clear line for anything that cannot be played.
#include "speech/wav.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "speech_test_util.h"
#include "temp_dir.h"

using namespace robotd::speech;
using robotd::TempDir;

namespace {

void put32(std::vector<uint8_t>& v, uint32_t x) {
    for (int i = 0; i < 4; ++i) v.push_back(uint8_t(x >> (8 * i)));
}
void put16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(uint8_t(x));
    v.push_back(uint8_t(x >> 8));
}
void put_id(std::vector<uint8_t>& v, const char* id) {
    v.insert(v.end(), id, id + 4);
}

struct Fmt {
    uint16_t tag = 1;
    uint16_t channels = 1;
    uint32_t rate = 22050;
    uint16_t bits = 16;
    int block_align = -1;  // -1: the right one
};

std::vector<uint8_t> fmt_chunk(const Fmt& f) {
    std::vector<uint8_t> v;
    put_id(v, "fmt ");
    put32(v, 16);
    put16(v, f.tag);
    put16(v, f.channels);
    put32(v, f.rate);
    const uint16_t align =
        f.block_align >= 0 ? uint16_t(f.block_align) : uint16_t(f.channels * f.bits / 8);
    put32(v, f.rate * align);
    put16(v, align);
    put16(v, f.bits);
    return v;
}

// A WAV with `pcm` as data, `data_size` as the declared size (-1: the true one) and `extra`
// chunks between fmt and data.
std::vector<uint8_t> wav(const std::vector<uint8_t>& pcm, const Fmt& f = {}, int64_t data_size = -1,
                         const std::vector<uint8_t>& extra = {}) {
    std::vector<uint8_t> v;
    put_id(v, "RIFF");
    put32(v, 0);  // ignored, as streamed output has it wrong anyway
    put_id(v, "WAVE");
    const auto fmt = fmt_chunk(f);
    v.insert(v.end(), fmt.begin(), fmt.end());
    v.insert(v.end(), extra.begin(), extra.end());
    put_id(v, "data");
    put32(v, data_size < 0 ? uint32_t(pcm.size()) : uint32_t(data_size));
    v.insert(v.end(), pcm.begin(), pcm.end());
    return v;
}

std::vector<uint8_t> samples(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 7 + 1);
    return v;
}

std::string error_of(const std::vector<uint8_t>& bytes) {
    Wav w;
    std::string error;
    EXPECT_FALSE(parse_wav(bytes, &w, &error));
    return error;
}

}  // namespace

TEST(SpeechWav, ParsesPcmWithAnExtraChunkWhateverTheByteSplit) {
    std::vector<uint8_t> list;
    put_id(list, "LIST");
    put32(list, 5);  // odd: padded to 6
    for (int i = 0; i < 6; ++i) list.push_back('x');
    const auto pcm = samples(400);
    const auto bytes = wav(pcm, Fmt{1, 2, 44100, 16}, -1, list);
    for (size_t step : {size_t(1), size_t(3), size_t(7), size_t(44), bytes.size()}) {
        WavParser p;
        for (size_t at = 0; at < bytes.size(); at += step)
            ASSERT_TRUE(p.feed(bytes.data() + at, std::min(step, bytes.size() - at))) << p.error();
        ASSERT_TRUE(p.finish()) << p.error();
        EXPECT_EQ(p.format().rate, 44100u);
        EXPECT_EQ(p.format().channels, 2u);
        EXPECT_EQ(p.format().bits, 16u);
        EXPECT_EQ(p.pcm(), pcm) << "step " << step;
        EXPECT_FALSE(p.truncated());
    }
}

TEST(SpeechWav, EightBitMonoAtAnOddRate) {
    Wav w;
    std::string error;
    ASSERT_TRUE(parse_wav(wav(samples(100), Fmt{1, 1, 8000, 8}), &w, &error)) << error;
    EXPECT_EQ(w.format.bits, 8u);
    EXPECT_EQ(w.pcm.size(), 100u);
    EXPECT_DOUBLE_EQ(w.seconds(), 100.0 / 8000);
}

TEST(SpeechWav, StreamedDataSizesRunToTheEnd) {
    const auto pcm = samples(1000);
    for (uint32_t size : {0u, 0xFFFFFFFFu, 0x7FFFF000u}) {
        Wav w;
        std::string error;
        WavParser p;
        const auto bytes = wav(pcm, {}, size);
        ASSERT_TRUE(p.feed(bytes.data(), bytes.size())) << p.error();
        ASSERT_TRUE(p.finish()) << p.error();
        EXPECT_EQ(p.pcm(), pcm) << size;
        EXPECT_FALSE(p.truncated()) << size;
    }
}

TEST(SpeechWav, ADeclaredSizeEndsTheDataAndWhatFollowsIsIgnored) {
    auto bytes = wav(samples(100), {}, 60);
    const std::string tail = "LIST\x04\0\0\0abcd";
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    Wav w;
    std::string error;
    ASSERT_TRUE(parse_wav(bytes, &w, &error)) << error;
    EXPECT_EQ(w.pcm.size(), 60u);
}

TEST(SpeechWav, ATruncatedDataChunkKeepsItsWholeFramesAndSaysSo) {
    auto bytes = wav(samples(101), Fmt{1, 2, 22050, 16}, 4000);
    WavParser p;
    ASSERT_TRUE(p.feed(bytes.data(), bytes.size()));
    ASSERT_TRUE(p.finish());
    EXPECT_TRUE(p.truncated());
    EXPECT_EQ(p.pcm().size(), 100u);  // 25 frames of 4 bytes; the odd byte goes
}

TEST(SpeechWav, HeadersCutAnywhereAreOneClearLine) {
    const auto bytes = wav(samples(10));
    const size_t header = bytes.size() - 10;
    for (size_t cut = 1; cut < header; ++cut) {
        const std::string e = error_of({bytes.begin(), bytes.begin() + long(cut)});
        EXPECT_NE(e.find("ended inside its header"), std::string::npos) << cut << ": " << e;
        EXPECT_EQ(e.find('\n'), std::string::npos);
    }
    EXPECT_EQ(error_of({}), "no output at all (an empty WAV stream)");
}

TEST(SpeechWav, WhatIsNotPlayableIsNamed) {
    const std::string text = "Error: voice not found\n";
    EXPECT_EQ(error_of({text.begin(), text.end()}),
              "not a WAV stream: it starts with \"Error: voice\"");
    auto rifx = wav(samples(4));
    memcpy(rifx.data(), "RIFX", 4);
    EXPECT_NE(error_of(rifx).find("only little-endian"), std::string::npos);
    EXPECT_NE(error_of(wav(samples(4), Fmt{3, 1, 22050, 32})).find("float"), std::string::npos);
    EXPECT_NE(error_of(wav(samples(4), Fmt{85, 1, 22050, 16})).find("format tag 85"),
              std::string::npos);
    EXPECT_NE(error_of(wav(samples(6), Fmt{1, 1, 22050, 24})).find("24-bit"), std::string::npos);
    EXPECT_NE(error_of(wav(samples(6), Fmt{1, 6, 22050, 16})).find("6 channels"),
              std::string::npos);
    EXPECT_NE(error_of(wav(samples(4), Fmt{1, 1, 0, 16})).find("sample rate of 0"),
              std::string::npos);
    EXPECT_NE(error_of(wav(samples(4), Fmt{1, 2, 22050, 16, 3})).find("3-byte frames"),
              std::string::npos);
}

TEST(SpeechWav, HostileHeadersFailWithoutGrowingMemory) {
    // A chunk that claims 4 GiB before any data: the skip is bounded.
    std::vector<uint8_t> huge;
    put_id(huge, "junk");
    put32(huge, 0xFFFFFFF0u);
    huge.resize(huge.size() + 70 * 1024, 0);
    EXPECT_NE(error_of(wav(samples(4), {}, -1, huge)).find("no audio data in the first 64 KiB"),
              std::string::npos);
    // Data before fmt, a fmt chunk far too big, a second fmt, a chunk id of binary junk.
    std::vector<uint8_t> v;
    put_id(v, "RIFF");
    put32(v, 0);
    put_id(v, "WAVE");
    auto data_first = v;
    put_id(data_first, "data");
    put32(data_first, 0);
    EXPECT_NE(error_of(data_first).find("data before the fmt chunk"), std::string::npos);
    auto big_fmt = v;
    put_id(big_fmt, "fmt ");
    put32(big_fmt, 0x10000000u);
    EXPECT_NE(error_of(big_fmt).find("a fmt chunk of 268435456 bytes"), std::string::npos);
    std::vector<uint8_t> fmt2 = fmt_chunk({});
    EXPECT_NE(error_of(wav(samples(4), {}, -1, fmt2)).find("two fmt chunks"), std::string::npos);
    std::vector<uint8_t> binary = {0x01, 0xff, 0x00, 0x80, 0, 0, 0, 0};
    EXPECT_NE(error_of(wav(samples(4), {}, -1, binary)).find("a chunk without a name"),
              std::string::npos);
    // After a failure nothing more is taken.
    WavParser p;
    const std::string junk = "hello";
    EXPECT_FALSE(p.feed(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()) &&
                 p.feed(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()) &&
                 p.feed(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()));
    EXPECT_FALSE(p.finish());
}

// read_wav_file: what the player thread does with pico2wave's or flite's finished file.
TEST(SpeechWavFile, ReadsAFinishedFileAndSaysWhyWhenItCannot) {
    TempDir dir("robotd-wavfile");
    const std::string good = dir.file("good.wav");
    write_wav_file(good, tone_wav(0.1));
    Wav wav;
    std::string error;
    ASSERT_TRUE(read_wav_file(good, 16 << 20, &wav, &error)) << error;
    EXPECT_EQ(wav.format.rate, 16000u);
    EXPECT_EQ(wav.pcm.size(), 1600u * 2);
    // Bounded: only max_bytes are read, the rest of a huge file is never looked at.
    ASSERT_TRUE(read_wav_file(good, 44 + 100, &wav, &error)) << error;
    EXPECT_EQ(wav.pcm.size(), 100u);

    EXPECT_FALSE(read_wav_file(dir.file("missing.wav"), 1 << 20, &wav, &error));
    EXPECT_NE(error.find("cannot read "), std::string::npos) << error;
    const std::string junk = dir.file("junk.wav");
    std::ofstream(junk) << "this is no wav file at all, just text";
    EXPECT_FALSE(read_wav_file(junk, 1 << 20, &wav, &error));
    EXPECT_FALSE(error.empty());
}
