// V4L2 M2M conversion: the camera's picture is copied into the device's OUTPUT queue, the
// device converts and scales it into a CAPTURE buffer, which we read in place and hand back.
#include "media/m2m_converter.h"

#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "media/v4l2_util.h"

namespace robotd::media {

namespace {

constexpr unsigned kInBuffers = 2;   // one being converted, one being filled
constexpr unsigned kOutBuffers = 2;  // one held by us, one for the device

bool has(const std::vector<V4l2Format>& formats, uint32_t fourcc) {
    return std::any_of(formats.begin(), formats.end(),
                       [&](const V4l2Format& f) { return f.fourcc == fourcc && !f.compressed; });
}

std::string size_text(int w, int h) {
    return std::to_string(w) + "x" + std::to_string(h);
}

}  // namespace

int pick_m2m_device(const std::vector<M2mDevice>& devices, const M2mRequest& request,
                    const std::string& which, std::string* why) {
    std::string reasons;
    auto note = [&](const M2mDevice& d, const std::string& r) {
        reasons += (reasons.empty() ? "" : "; ") + d.path + " " + r;
    };
    // Earliest wanted output format first, then device order.
    for (uint32_t want : request.out_fourccs) {
        for (size_t i = 0; i < devices.size(); ++i) {
            const M2mDevice& d = devices[i];
            if (which != "auto" && d.path != which) continue;
            if (d.mplane || !has(d.takes, request.in_fourcc) || !has(d.produces, want)) continue;
            return int(i);
        }
    }
    for (const auto& d : devices) {
        if (which != "auto" && d.path != which) continue;
        if (d.mplane)
            note(d, "is multi-planar (not supported yet)");
        else if (!has(d.takes, request.in_fourcc))
            note(d, "does not take " + fourcc_string(request.in_fourcc));
        else
            note(d, "produces nothing we take");
    }
    if (reasons.empty())
        reasons = which == "auto" ? "no memory-to-memory device"
                                  : which + " is not a memory-to-memory device";
    *why = reasons;
    return -1;
}

M2mConverter::~M2mConverter() {
    if (streaming_) {
        int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
        xioctl(fd_.get(), VIDIOC_STREAMOFF, &type);
        type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(fd_.get(), VIDIOC_STREAMOFF, &type);
    }
    // Then the mappings go, then the fd (members in reverse order), freeing the buffers.
}

std::unique_ptr<M2mConverter> M2mConverter::open(const std::string& path, const M2mRequest& request,
                                                 std::string* error) {
    auto c = std::make_unique<M2mConverter>();
    if (!c->setup(path, request, error)) return nullptr;
    return c;
}

bool M2mConverter::setup(const std::string& path, const M2mRequest& request, std::string* error) {
    path_ = path;
    auto fail = [&](const std::string& what) {
        *error = path_ + ": " + what;
        return false;
    };
    fd_.reset(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd_.valid()) return fail(std::string("cannot open: ") + std::strerror(errno));
    v4l2_capability cap{};
    if (xioctl(fd_.get(), VIDIOC_QUERYCAP, &cap) < 0)
        return fail(std::string("VIDIOC_QUERYCAP: ") + std::strerror(errno));
    const std::string driver = reinterpret_cast<const char*>(cap.driver);

    // What goes in: the camera's picture as it is.
    v4l2_format in{};
    in.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    in.fmt.pix.width = uint32_t(request.in_width);
    in.fmt.pix.height = uint32_t(request.in_height);
    in.fmt.pix.pixelformat = request.in_fourcc;
    in.fmt.pix.field = V4L2_FIELD_NONE;
    in.fmt.pix.bytesperline = request.in_bytesperline;
    if (xioctl(fd_.get(), VIDIOC_S_FMT, &in) < 0)
        return fail("cannot take " + fourcc_string(request.in_fourcc) + " " +
                    size_text(request.in_width, request.in_height) + ": " + std::strerror(errno));
    if (in.fmt.pix.pixelformat != request.in_fourcc || int(in.fmt.pix.width) != request.in_width ||
        int(in.fmt.pix.height) != request.in_height)
        return fail("takes " + fourcc_string(in.fmt.pix.pixelformat) + " " +
                    size_text(int(in.fmt.pix.width), int(in.fmt.pix.height)) +
                    ", not the camera's " + fourcc_string(request.in_fourcc) + " " +
                    size_text(request.in_width, request.in_height));
    in_bytesperline_ = in.fmt.pix.bytesperline;
    src_bytesperline_ = request.in_bytesperline;
    in_height_ = request.in_height;

    // What comes out: the first wanted format the device agrees to, at the stream's size if
    // it scales (else whatever size it gives; swscale does the rest).
    v4l2_format out{};
    bool agreed = false;
    for (uint32_t fourcc : request.out_fourccs) {
        out = v4l2_format{};
        out.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        out.fmt.pix.width = uint32_t(request.out_width);
        out.fmt.pix.height = uint32_t(request.out_height);
        out.fmt.pix.pixelformat = fourcc;
        out.fmt.pix.field = V4L2_FIELD_NONE;
        if (xioctl(fd_.get(), VIDIOC_S_FMT, &out) == 0 && out.fmt.pix.pixelformat == fourcc) {
            agreed = true;
            break;
        }
    }
    if (!agreed) return fail("produces none of the formats we take");
    result_.fourcc = out.fmt.pix.pixelformat;
    result_.width = int(out.fmt.pix.width);
    result_.height = int(out.fmt.pix.height);
    result_.bytesperline = out.fmt.pix.bytesperline;

    auto map_queue = [&](uint32_t type, unsigned count, std::vector<Mapping>* buffers) {
        v4l2_requestbuffers req{};
        req.count = count;
        req.type = type;
        req.memory = V4L2_MEMORY_MMAP;
        if (xioctl(fd_.get(), VIDIOC_REQBUFS, &req) < 0 || req.count == 0)
            return fail(std::string("VIDIOC_REQBUFS: ") + std::strerror(errno));
        std::string map_error;
        return map_buffers(fd_.get(), type, req.count, buffers, &map_error) || fail(map_error);
    };
    if (!map_queue(V4L2_BUF_TYPE_VIDEO_OUTPUT, kInBuffers, &in_) ||
        !map_queue(V4L2_BUF_TYPE_VIDEO_CAPTURE, kOutBuffers, &out_))
        return false;
    in_busy_.assign(in_.size(), false);
    for (uint32_t i = 0; i < out_.size(); ++i) {
        v4l2_buffer buf{};
        buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        buf.memory = V4L2_MEMORY_MMAP;
        buf.index = i;
        if (xioctl(fd_.get(), VIDIOC_QBUF, &buf) < 0)
            return fail(std::string("VIDIOC_QBUF: ") + std::strerror(errno));
    }
    for (int type : {V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_BUF_TYPE_VIDEO_CAPTURE})
        if (xioctl(fd_.get(), VIDIOC_STREAMON, &type) < 0)
            return fail(std::string("VIDIOC_STREAMON: ") + std::strerror(errno));
    streaming_ = true;
    description_ = path_ + " (" + driver + "): " + fourcc_string(request.in_fourcc) + " " +
                   size_text(request.in_width, request.in_height) + " -> " +
                   fourcc_string(result_.fourcc) + " " + size_text(result_.width, result_.height);
    return true;
}

bool M2mConverter::process(const uint8_t* data, size_t size, int interrupt_fd, int timeout_ms,
                           M2mPicture* picture, std::string* error) {
    if (held_ >= 0) release();
    take_back_inputs();
    // Fill a free OUTPUT buffer; a row at a time when the strides differ.
    const auto free = std::find(in_busy_.begin(), in_busy_.end(), false);
    if (free == in_busy_.end()) {
        *error = path_ + ": the converter still holds every input buffer";
        return false;
    }
    const uint32_t index = uint32_t(free - in_busy_.begin());
    const Mapping& dst = in_[index];
    size_t used = 0;
    if (in_bytesperline_ == src_bytesperline_) {
        used = std::min(size, dst.length());
        std::memcpy(dst.data(), data, used);
    } else {
        const size_t row = std::min(in_bytesperline_, src_bytesperline_);
        for (int y = 0; y < in_height_; ++y) {
            const size_t from = size_t(y) * src_bytesperline_, to = size_t(y) * in_bytesperline_;
            if (from + row > size || to + row > dst.length()) break;
            std::memcpy(dst.data() + to, data + from, row);
            used = to + in_bytesperline_;
        }
    }
    v4l2_buffer in{};
    in.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    in.memory = V4L2_MEMORY_MMAP;
    in.index = index;
    in.bytesused = uint32_t(std::min(used, dst.length()));
    if (xioctl(fd_.get(), VIDIOC_QBUF, &in) < 0) {
        *error = path_ + ": VIDIOC_QBUF: " + std::strerror(errno);
        return false;
    }
    in_busy_[index] = true;
    // Wait for the converted picture.
    v4l2_buffer out{};
    for (;;) {
        out = v4l2_buffer{};
        out.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        out.memory = V4L2_MEMORY_MMAP;
        if (xioctl(fd_.get(), VIDIOC_DQBUF, &out) == 0) break;
        if (errno != EAGAIN) {
            *error = path_ + ": VIDIOC_DQBUF: " + std::strerror(errno);
            return false;
        }
        pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
        const int r = poll(fds, 2, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (fds[1].revents) {
            *error = "interrupted";
            return false;
        }
        if (r == 0) {
            *error =
                path_ + ": no picture from the converter in " + std::to_string(timeout_ms) + " ms";
            return false;
        }
        if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            *error = path_ + ": converter error (poll)";
            return false;
        }
    }
    take_back_inputs();
    held_ = int(out.index);
    const Mapping& map = out_[out.index];
    result_.data = map.data();
    result_.size = out.bytesused ? std::min<size_t>(out.bytesused, map.length()) : map.length();
    *picture = result_;
    return true;
}

void M2mConverter::take_back_inputs() {
    for (;;) {
        v4l2_buffer done{};
        done.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
        done.memory = V4L2_MEMORY_MMAP;
        if (xioctl(fd_.get(), VIDIOC_DQBUF, &done) < 0 || done.index >= in_busy_.size()) return;
        in_busy_[done.index] = false;
    }
}

void M2mConverter::release() {
    if (held_ < 0) return;
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    buf.index = uint32_t(held_);
    held_ = -1;
    // A failure shows at the next process() as a picture that never comes (its timeout).
    xioctl(fd_.get(), VIDIOC_QBUF, &buf);
}

}  // namespace robotd::media
