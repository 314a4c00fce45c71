// Logging: levelled, monotonic-stamped lines to stderr or syslog. Every line passes one gate
// before it leaves the process: secrets masked in every form they are written, then control
// characters escaped, then the length capped. Thread-safe: media threads log too.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace robotd {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };
enum class LogSink { Stderr, Syslog };

// A line's text beyond this many bytes (after escaping) is cut, and the cut is said.
constexpr size_t kLogLineMax = 2048;

// Replaces every occurrence of every secret with "****": raw, percent-encoded (any byte,
// either hex case, '+' or %20 for a space, in any mix), or JSON-escaped (\" \\ \/ \n ...,
// \uXXXX with surrogate pairs). Overlapping occurrences, and a secret inside another,
// become one "****", so no part of either shows.
std::string mask_secrets(std::string_view text, const std::vector<std::string>& secrets);

// Makes `text` safe to write as one log line: \n, \r, \t as such; other C0 bytes, DEL, the
// bytes of C1 code points (U+0080..U+009F) and bytes that are not valid UTF-8 as \xNN;
// printable UTF-8 unchanged. Output longer than `cap` bytes is cut at a character boundary
// and ends with " [N more bytes cut]".
// `cut_before` bytes already cut from the end of `text` are counted in the cut's note.
std::string escape_log_text(std::string_view text, size_t cap = kLogLineMax, size_t cut_before = 0);

// Can glibc's syslog() reach a daemon at `path`: a datagram socket that accepts a connect
// (or a stream one, as glibc falls back to)? False with `why` set, e.g. "/dev/log: No such
// file or directory".
bool syslog_reachable(const std::string& path, std::string* why);

class Logger {
  public:
    Logger(LogLevel level, LogSink sink);
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    void set_level(LogLevel level) { level_ = level; }
    LogLevel level() const { return level_.load(); }
    LogSink sink() const { return sink_; }
    bool enabled(LogLevel level) const { return level <= level_.load(); }
    // Replaces the secrets to mask (empty strings are ignored).
    void set_secrets(std::vector<std::string> secrets);
    // While on, error lines go to stderr as well when the sink is syslog: a failed start
    // must reach whoever started robotd, whatever the sink.
    void set_errors_to_stderr(bool on) { errors_to_stderr_ = on; }

    void log(LogLevel level, const char* tag, const char* fmt, ...)
        __attribute__((format(printf, 4, 5)));
    void vlog(LogLevel level, const char* tag, const char* fmt, va_list ap);

    // Masks every secret in `text`; exposed for tests and for messages built elsewhere.
    std::string mask(std::string_view text) const;
    // A message as it leaves: masked, escaped, capped (without stamp, level and tag).
    std::string render(std::string_view text) const;

  private:
    void write_stderr(LogLevel level, const std::string& tag, const std::string& body) const;

    std::atomic<LogLevel> level_;
    LogSink sink_;
    std::atomic<bool> errors_to_stderr_{false};
    mutable std::mutex mutex_;  // guards secrets_
    std::vector<std::string> secrets_;
};

#define LOG_AT(logger, lvl, tag, ...)                                       \
    do {                                                                    \
        if ((logger).enabled(lvl)) (logger).log((lvl), (tag), __VA_ARGS__); \
    } while (0)
#define LOGE(logger, tag, ...) LOG_AT(logger, ::robotd::LogLevel::Error, tag, __VA_ARGS__)
#define LOGW(logger, tag, ...) LOG_AT(logger, ::robotd::LogLevel::Warn, tag, __VA_ARGS__)
#define LOGI(logger, tag, ...) LOG_AT(logger, ::robotd::LogLevel::Info, tag, __VA_ARGS__)
#define LOGD(logger, tag, ...) LOG_AT(logger, ::robotd::LogLevel::Debug, tag, __VA_ARGS__)

}  // namespace robotd
