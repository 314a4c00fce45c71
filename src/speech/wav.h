// RIFF/WAVE parsing for what a TTS engine writes: incremental (bytes as they come off a pipe),
// PCM 8/16-bit, mono or stereo, any rate; a stream's unknown data size runs to the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace robotd::speech {

struct WavFormat {
    unsigned rate = 0;      // frames a second
    unsigned channels = 0;  // 1 or 2
    unsigned bits = 0;      // 8 (unsigned samples) or 16 (signed little-endian)
    size_t frame_bytes() const { return size_t(channels) * (bits / 8); }
};

// A whole sound: what the player thread plays.
struct Wav {
    WavFormat format;
    std::vector<uint8_t> pcm;  // whole frames, as in the file
    // Seconds of sound.
    double seconds() const {
        return format.rate && format.frame_bytes()
                   ? double(pcm.size() / format.frame_bytes()) / format.rate
                   : 0.0;
    }
};

class WavParser {
  public:
    // Bytes of header (everything before the data) a stream may have: an engine that writes
    // something else than a WAV is found out early, and junk never grows memory.
    static constexpr size_t kMaxHeaderBytes = 64 * 1024;

    // Takes the next bytes of the stream. False once the stream is unusable (error() says why
    // in one line); bytes after the data chunk are ignored.
    bool feed(const uint8_t* data, size_t len);
    // The stream has ended. False (error() set) when its header never completed; a stream
    // whose data stops before its declared size is taken as it is (truncated() says so).
    bool finish();

    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    bool have_format() const { return stage_ >= Stage::Data; }
    const WavFormat& format() const { return format_; }
    // The PCM bytes so far (at finish(), whole frames only).
    const std::vector<uint8_t>& pcm() const { return pcm_; }
    // Moves the finished sound out.
    Wav take();
    // The data chunk declared a size and fewer bytes came. A streamed size (0, 0xFFFFFFFF, or
    // espeak-ng's 0x7FFFF000 placeholder) is never truncated: it means "to the end".
    bool truncated() const { return truncated_; }

  private:
    enum class Stage { Riff, ChunkHeader, Fmt, Skip, Data, Done };
    bool fail(std::string why);
    bool parse_fmt();

    Stage stage_ = Stage::Riff;
    std::vector<uint8_t> head_;  // bytes of the part being parsed (RIFF header, chunk, fmt)
    size_t header_bytes_ = 0;    // seen before the data
    uint64_t skip_left_ = 0;     // of a chunk robotd does not need (LIST, fact, ...)
    uint32_t fmt_size_ = 0;
    bool have_fmt_ = false;
    bool data_to_end_ = false;
    uint64_t data_left_ = 0;
    bool truncated_ = false;
    WavFormat format_;
    std::vector<uint8_t> pcm_;
    std::string error_;
};

// Parses a whole WAV in memory (tests, files a file-only engine wrote). False with `error`.
bool parse_wav(const std::vector<uint8_t>& bytes, Wav* wav, std::string* error);

// A finished WAV file (what pico2wave and flite write): at most `max_bytes` of it read and
// parsed into `wav`. False with `error` (one line) when it cannot be read or is no WAV.
// Blocking file I/O: for the player thread, never the loop.
bool read_wav_file(const std::string& path, size_t max_bytes, Wav* wav, std::string* error);

}  // namespace robotd::speech
