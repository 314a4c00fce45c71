// Small V4L2 helpers shared by the camera source and the M2M converter: an EINTR-safe ioctl,
// an mmap'd driver buffer that unmaps itself, and mapping a queue's buffers.
#pragma once

#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace robotd::media {

// ioctl, retried when a signal interrupts it.
inline int xioctl(int fd, unsigned long request, void* arg) {
    int r;
    do r = ioctl(fd, request, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

// One mmap'd driver buffer, unmapped when dropped.
class Mapping {
  public:
    Mapping() = default;
    Mapping(void* addr, size_t length) : addr_(addr), length_(length) {}
    ~Mapping() {
        if (addr_ != MAP_FAILED) munmap(addr_, length_);
    }
    Mapping(Mapping&& o) noexcept
        : addr_(std::exchange(o.addr_, MAP_FAILED)), length_(std::exchange(o.length_, 0)) {}
    Mapping& operator=(Mapping&&) = delete;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
    size_t length() const { return length_; }

  private:
    void* addr_ = MAP_FAILED;
    size_t length_ = 0;
};

// Maps the `count` MMAP buffers VIDIOC_REQBUFS granted on queue `type` into *out (appended).
// False with *error ("VIDIOC_QUERYBUF: ...", "mmap: ...") on failure.
inline bool map_buffers(int fd, uint32_t type, uint32_t count, std::vector<Mapping>* out,
                        std::string* error) {
    out->reserve(out->size() + count);
    for (uint32_t i = 0; i < count; ++i) {
        v4l2_buffer buf{};
        buf.type = type;
        buf.memory = V4L2_MEMORY_MMAP;
        buf.index = i;
        if (xioctl(fd, VIDIOC_QUERYBUF, &buf) < 0) {
            *error = std::string("VIDIOC_QUERYBUF: ") + std::strerror(errno);
            return false;
        }
        void* addr =
            mmap(nullptr, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, buf.m.offset);
        if (addr == MAP_FAILED) {
            *error = std::string("mmap: ") + std::strerror(errno);
            return false;
        }
        out->emplace_back(addr, buf.length);
    }
    return true;
}

}  // namespace robotd::media
