#include "core/log.h"

#include <syslog.h>

#include <cstdio>

#include "core/clock.h"

namespace robotd {

namespace {
const char kLevelChar[] = {'E', 'W', 'I', 'D'};
const int kSyslogPrio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
}  // namespace

Logger::Logger(LogLevel level, LogSink sink) : level_(level), sink_(sink) {
    if (sink_ == LogSink::Syslog) openlog("robotd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

Logger::~Logger() {
    if (sink_ == LogSink::Syslog) closelog();
}

void Logger::set_secrets(std::vector<std::string> secrets) {
    std::lock_guard<std::mutex> lock(mutex_);
    secrets_.clear();
    for (auto& s : secrets)
        if (!s.empty()) secrets_.push_back(std::move(s));
}

std::string Logger::mask(std::string text) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& secret : secrets_) {
        for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 4))
            text.replace(at, secret.size(), "****");
    }
    return text;
}

void Logger::log(LogLevel level, const char* tag, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, tag, fmt, ap);
    va_end(ap);
}

void Logger::vlog(LogLevel level, const char* tag, const char* fmt, va_list ap) {
    char body[2048];
    vsnprintf(body, sizeof body, fmt, ap);
    const std::string line = mask(body);
    const int lv = static_cast<int>(level);
    if (sink_ == LogSink::Syslog) {
        syslog(kSyslogPrio[lv], "%s: %s", tag, line.c_str());
        return;
    }
    const int64_t us = mono_us();
    // One fprintf per line so lines from different sources never interleave mid-line.
    fprintf(stderr, "[%8lld.%03lld] %c %s: %s\n", static_cast<long long>(us / 1000000),
            static_cast<long long>(us / 1000 % 1000), kLevelChar[lv], tag, line.c_str());
}

}  // namespace robotd
