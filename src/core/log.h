// Logging: levelled, monotonic-stamped lines to stderr or syslog, with every registered
// secret (stream key, api key, ...) masked before a line leaves the process. Thread-safe:
// media threads log too.
#pragma once

#include <atomic>
#include <cstdarg>
#include <mutex>
#include <string>
#include <vector>

namespace robotd {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };
enum class LogSink { Stderr, Syslog };

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

    void log(LogLevel level, const char* tag, const char* fmt, ...)
        __attribute__((format(printf, 4, 5)));
    void vlog(LogLevel level, const char* tag, const char* fmt, va_list ap);

    // Masks every secret in `text`; exposed for tests and for messages built elsewhere.
    std::string mask(std::string text) const;

  private:
    std::atomic<LogLevel> level_;
    LogSink sink_;
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
