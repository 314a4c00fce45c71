// The state file: the owner's and moderators' choices (robot/moderation.h) kept across
// restarts. Read once at start; written atomically after each change on a writer thread of
// its own, so the loop never waits on a disk's fsync.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/log.h"
#include "robot/moderation.h"

namespace robotd {

class StateFile {
  public:
    StateFile(Logger& log, std::string path);
    ~StateFile();  // writes what is still pending, then ends the writer
    StateFile(const StateFile&) = delete;
    StateFile& operator=(const StateFile&) = delete;

    // The state over `defaults`: a missing file is the defaults, quietly; an unreadable,
    // corrupt or truncated one is one warning and the defaults.
    Moderation load(const Moderation& defaults, int64_t now_us, int64_t now_wall);
    // Queues the text for writing; a newer text replaces one not yet written.
    void save(std::string text);
    // Blocks until everything queued is written or has failed (tests only).
    void wait_idle();
    const std::string& path() const { return path_; }
    uint64_t written() const;

  private:
    void run();
    bool write_atomically(const std::string& text, std::string* error);

    Logger& log_;
    const std::string path_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::string pending_;
    bool has_pending_ = false, busy_ = false, stop_ = false;
    bool failing_ = false;  // one warning per outage
    uint64_t written_ = 0;
    std::thread thread_;
};

}  // namespace robotd
