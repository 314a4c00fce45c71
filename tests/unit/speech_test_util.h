// Helpers for the speech tests: a WAV of a tone, written to memory or to a file.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "speech/wav.h"

namespace robotd::speech {

inline Wav tone_wav(double seconds, unsigned rate = 16000, unsigned channels = 1) {
    Wav w;
    w.format = {rate, channels, 16};
    const size_t frames = size_t(seconds * rate);
    for (size_t i = 0; i < frames; ++i) {
        const int16_t s = int16_t(8000 * std::sin(2 * M_PI * 440 * double(i) / rate));
        for (unsigned c = 0; c < channels; ++c) {
            w.pcm.push_back(uint8_t(s));
            w.pcm.push_back(uint8_t(uint16_t(s) >> 8));
        }
    }
    return w;
}

inline std::vector<uint8_t> wav_bytes(const Wav& w) {
    std::vector<uint8_t> v;
    auto put32 = [&](uint32_t x) {
        for (int i = 0; i < 4; ++i) v.push_back(uint8_t(x >> (8 * i)));
    };
    auto put16 = [&](uint16_t x) {
        v.push_back(uint8_t(x));
        v.push_back(uint8_t(x >> 8));
    };
    auto id = [&](const char* s) { v.insert(v.end(), s, s + 4); };
    id("RIFF");
    put32(uint32_t(36 + w.pcm.size()));
    id("WAVE");
    id("fmt ");
    put32(16);
    put16(1);
    put16(uint16_t(w.format.channels));
    put32(w.format.rate);
    put32(uint32_t(w.format.rate * w.format.frame_bytes()));
    put16(uint16_t(w.format.frame_bytes()));
    put16(uint16_t(w.format.bits));
    id("data");
    put32(uint32_t(w.pcm.size()));
    v.insert(v.end(), w.pcm.begin(), w.pcm.end());
    return v;
}

inline void write_wav_file(const std::string& path, const Wav& w) {
    const auto bytes = wav_bytes(w);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

}  // namespace robotd::speech
