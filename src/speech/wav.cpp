#include "speech/wav.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/json.h"
#include "core/unique_fd.h"

namespace robotd::speech {

namespace {

uint32_t le32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t le16(const uint8_t* p) {
    return uint16_t(p[0] | p[1] << 8);
}

bool printable_id(const uint8_t* p) {
    return std::all_of(p, p + 4, [](uint8_t c) { return c >= 0x20 && c < 0x7f; });
}

std::string id_text(const uint8_t* p) {
    return std::string(reinterpret_cast<const char*>(p), 4);
}

// Data sizes that mean "as much as follows": what a writer that cannot seek back puts there.
bool streamed_size(uint32_t size) {
    return size == 0 || size == 0xFFFFFFFFu || size == 0x7FFFF000u;
}

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatFloat = 3;
constexpr uint16_t kFormatExtensible = 0xFFFE;
constexpr uint32_t kMaxFmtBytes = 64;  // 16 for PCM, 18 or 40 for the others

}  // namespace

bool WavParser::fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
}

bool WavParser::parse_fmt() {
    const uint8_t* p = head_.data();
    uint16_t tag = le16(p);
    if (tag == kFormatExtensible) {
        if (fmt_size_ < 40)
            return fail("corrupt WAV header: an extensible fmt chunk of " +
                        std::to_string(fmt_size_) + " bytes");
        tag = le16(p + 24);  // the sub-format GUID starts with the format tag
    }
    if (tag == kFormatFloat) return fail("WAV with float samples: only 8 and 16-bit PCM is played");
    if (tag != kFormatPcm)
        return fail("compressed WAV (format tag " + std::to_string(tag) +
                    "): only 8 and 16-bit PCM is played");
    format_.channels = le16(p + 2);
    format_.rate = le32(p + 4);
    const unsigned block_align = le16(p + 12);
    format_.bits = le16(p + 14);
    if (format_.channels != 1 && format_.channels != 2)
        return fail("WAV with " + std::to_string(format_.channels) +
                    " channels: only mono and stereo are played");
    if (format_.bits != 8 && format_.bits != 16)
        return fail("WAV with " + std::to_string(format_.bits) +
                    "-bit samples: only 8 and 16-bit PCM is played");
    if (format_.rate == 0 || format_.rate > 384000)
        return fail("corrupt WAV header: a sample rate of " + std::to_string(format_.rate) + " Hz");
    if (block_align != format_.frame_bytes())
        return fail("corrupt WAV header: " + std::to_string(block_align) + "-byte frames for " +
                    std::to_string(format_.channels) + " x " + std::to_string(format_.bits) +
                    "-bit samples");
    have_fmt_ = true;
    return true;
}

bool WavParser::feed(const uint8_t* data, size_t len) {
    if (failed()) return false;
    // Bytes into head_ until it holds `want`; false while more are needed.
    auto gather = [&](size_t want) {
        const size_t n = std::min(len, want - std::min(want, head_.size()));
        head_.insert(head_.end(), data, data + n);
        data += n;
        len -= n;
        if (stage_ != Stage::Data) header_bytes_ += n;
        return head_.size() >= want;
    };
    auto too_long = [this] {
        return fail("no audio data in the first " + std::to_string(kMaxHeaderBytes / 1024) +
                    " KiB of the WAV stream");
    };
    while (len > 0 || (stage_ == Stage::Data && !data_to_end_ && data_left_ == 0)) {
        if (header_bytes_ > kMaxHeaderBytes) return too_long();
        switch (stage_) {
            case Stage::Riff:
                if (!gather(12)) return true;
                if (memcmp(head_.data(), "RIFF", 4) != 0 ||
                    memcmp(head_.data() + 8, "WAVE", 4) != 0) {
                    if (memcmp(head_.data(), "RIFX", 4) == 0 ||
                        memcmp(head_.data(), "RF64", 4) == 0)
                        return fail("a " + id_text(head_.data()) +
                                    " stream: only little-endian RIFF WAVE is played");
                    return fail("not a WAV stream: it starts with \"" +
                                excerpt(std::string_view(
                                    reinterpret_cast<const char*>(head_.data()), head_.size())) +
                                "\"");
                }
                head_.clear();
                stage_ = Stage::ChunkHeader;
                break;
            case Stage::ChunkHeader: {
                if (!gather(8)) return true;
                const uint8_t* p = head_.data();
                const uint32_t size = le32(p + 4);
                if (!printable_id(p)) return fail("corrupt WAV header: a chunk without a name");
                if (memcmp(p, "fmt ", 4) == 0) {
                    if (have_fmt_) return fail("corrupt WAV header: two fmt chunks");
                    if (size < 16 || size > kMaxFmtBytes)
                        return fail("corrupt WAV header: a fmt chunk of " + std::to_string(size) +
                                    " bytes");
                    fmt_size_ = size;
                    stage_ = Stage::Fmt;
                } else if (memcmp(p, "data", 4) == 0) {
                    if (!have_fmt_) return fail("corrupt WAV header: data before the fmt chunk");
                    data_to_end_ = streamed_size(size);
                    data_left_ = size;
                    stage_ = Stage::Data;
                } else {
                    // Chunks are padded to an even size.
                    skip_left_ = uint64_t(size) + (size & 1);
                    stage_ = Stage::Skip;
                }
                head_.clear();
                break;
            }
            case Stage::Fmt:
                if (!gather(fmt_size_ + (fmt_size_ & 1))) return true;
                if (!parse_fmt()) return false;
                head_.clear();
                stage_ = Stage::ChunkHeader;
                break;
            case Stage::Skip: {
                const size_t n = size_t(std::min<uint64_t>(skip_left_, len));
                data += n;
                len -= n;
                skip_left_ -= n;
                header_bytes_ += n;
                if (header_bytes_ > kMaxHeaderBytes) return too_long();
                if (skip_left_ == 0) stage_ = Stage::ChunkHeader;
                break;
            }
            case Stage::Data: {
                if (!data_to_end_ && data_left_ == 0) {
                    stage_ = Stage::Done;
                    break;
                }
                const size_t n = data_to_end_ ? len : size_t(std::min<uint64_t>(data_left_, len));
                pcm_.insert(pcm_.end(), data, data + n);
                data += n;
                len -= n;
                if (!data_to_end_) data_left_ -= n;
                break;
            }
            case Stage::Done:
                return true;  // what follows the data (LIST, id3) is not needed
        }
    }
    return true;
}

bool WavParser::finish() {
    if (failed()) return false;
    if (stage_ < Stage::Data) {
        if (header_bytes_ == 0) return fail("no output at all (an empty WAV stream)");
        return fail("the WAV stream ended inside its header, after " +
                    std::to_string(header_bytes_) + " bytes");
    }
    if (stage_ == Stage::Data && !data_to_end_ && data_left_ > 0) truncated_ = true;
    pcm_.resize(pcm_.size() - pcm_.size() % format_.frame_bytes());
    stage_ = Stage::Done;
    return true;
}

Wav WavParser::take() {
    Wav wav;
    wav.format = format_;
    wav.pcm = std::move(pcm_);
    pcm_.clear();
    return wav;
}

bool parse_wav(const std::vector<uint8_t>& bytes, Wav* wav, std::string* error) {
    WavParser parser;
    if (!parser.feed(bytes.data(), bytes.size()) || !parser.finish()) {
        *error = parser.error();
        return false;
    }
    *wav = parser.take();
    return true;
}

bool read_wav_file(const std::string& path, size_t max_bytes, Wav* wav, std::string* error) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        *error = "cannot read " + path + ": " + strerror(errno);
        return false;
    }
    WavParser parser;
    uint8_t buf[16384];
    size_t total = 0;
    while (total < max_bytes) {
        const ssize_t n = read(fd.get(), buf, std::min(sizeof buf, max_bytes - total));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *error = "cannot read " + path + ": " + strerror(errno);
            return false;
        }
        if (n == 0) break;
        total += size_t(n);
        if (!parser.feed(buf, size_t(n))) break;
    }
    if (parser.failed() || !parser.finish()) {
        *error = parser.error();
        return false;
    }
    *wav = parser.take();
    return true;
}

}  // namespace robotd::speech
