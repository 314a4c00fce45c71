// A sticky interrupt for a capture thread blocked in poll(): fire() from any thread sets the
// flag and leaves the eventfd readable for good, so every later poll() returns at once.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/unique_fd.h"

namespace robotd::media {

class Interrupt {
  public:
    bool open(std::string* error) {
        fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!fd_.valid()) *error = std::string("eventfd: ") + std::strerror(errno);
        return fd_.valid();
    }
    void fire() {
        fired_ = true;
        const uint64_t one = 1;
        if (write(fd_.get(), &one, sizeof one) < 0) {
        }
    }
    bool fired() const { return fired_; }
    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
    std::atomic<bool> fired_{false};
};

}  // namespace robotd::media
