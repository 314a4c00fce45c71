// Lines to a descriptor (a pipe, FIFO, socket, file or serial port) written without blocking
// the loop, a stop never dropped: what the pipe and serial drivers share of hw/driver.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/log.h"
#include "hw/driver.h"
#include "net/loop.h"
#include "net/writable_watch.h"

namespace robotd {

// A line the descriptor cannot take whole at once is dropped and counted (logged once, then
// summarised every summary_ms). A stop is held instead: it goes out before anything else as
// soon as there is room (net/writable_watch.h), and stops that come meanwhile merge into it.
// The rest of a line a short write began is owed before any other. The sink does not own the
// descriptor: its owner attaches each new one, detaches it when it goes, and hears through
// `failed` of every write error but a full descriptor (its remedy: reopen, restart, retry).
// Writing to a pipe whose reader is gone needs SIGPIPE ignored, as robotd's main() does.
class LineSink {
  public:
    // The words of the owner's log lines.
    struct Words {
        const char* tag;    // "pipe"
        const char* unit;   // what is dropped: "line"
        const char* taker;  // what takes a held stop: "reader"
        const char* full;   // why a line is dropped while the descriptor has no room
        const char* gone;   // ... while there is none, or its reader has gone
    };

    LineSink(Loop& loop, Logger& log, Words words, uint32_t summary_ms,
             std::function<void(int err)> failed);
    ~LineSink();  // logs the drops not summarised yet
    LineSink(const LineSink&) = delete;
    LineSink& operator=(const LineSink&) = delete;

    // A new destination. It gets a held stop, else a non-empty `greeting` (a stop of robotd's
    // own: neither counted nor logged), before anything else; flush() sends it.
    void attach(int fd, const std::string& greeting = "");
    // The destination has gone: the rest of a line begun on it is void, a held stop stays owed.
    void detach();
    bool attached() const { return fd_ >= 0; }

    void send(const std::string& line, bool is_stop);
    void drop(const char* why);  // a line that was never sent (it could not be encoded)
    // Writes what is owed; true when nothing is.
    bool flush();
    // For the owner's destructor: writes what is owed, waiting for room until deadline_us (the
    // one time the loop may block). 0 when all is out; else ETIMEDOUT, EPIPE (no destination,
    // or it hung up) or the write's error.
    int flush_until(int64_t deadline_us);
    bool owes() const { return !backlog_.empty(); }
    DriverStats stats() const;

  private:
    bool held() const { return !held_stop_.empty(); }
    ssize_t put(const char* data, size_t size);
    void hold(const std::string& stop, const char* why);
    void wait(int err);
    void delivered(const char* when);  // a held stop is out
    void summarise_drops();

    Logger& log_;
    Words words_;
    uint32_t summary_ms_;
    std::function<void(int)> failed_;
    WritableWatch writable_;
    Timer summary_timer_;

    int fd_ = -1;
    bool socket_ = false;      // written with send(MSG_NOSIGNAL)
    bool poll_first_ = false;  // a blocking descriptor (a stdout shared with robotd's parent)

    // Owed before any new line: the rest of a line a short write began, then a held stop.
    // held_stop_ is that stop whole, which a new destination gets first; greeting_: it is
    // robotd's own for a new destination.
    std::string backlog_;
    std::string held_stop_;
    bool greeting_ = false;
    int64_t held_since_us_ = 0;

    uint64_t written_ = 0;
    uint64_t dropped_ = 0;
    uint64_t merged_ = 0;
    uint64_t unreported_drops_ = 0;
    std::string drop_reason_;
};

}  // namespace robotd
