// A fake camera for the media tests whose opens and control writes take as long as the test
// says: a UVC camera that holds an ioctl for seconds is a boundary this machine cannot reach.
#pragma once

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "media/source.h"
#include "media/stream.h"

namespace robotd::media {

// Outlives every stream that uses it (declare it before them). Frames are grey YUV420P at
// the stream's size, paced at its frame rate like a real camera.
class FakeSlowCamera {
  public:
    // A held call gives up after this, so a test of code that waits for it fails instead of
    // hanging.
    void set_hold_limit_ms(int ms) {
        std::lock_guard<std::mutex> lock(mutex_);
        hold_limit_ms_ = ms;
    }
    // Opens (control writes) from now on block until release() or the hold limit.
    void hold_opens() { set(&hold_opens_, true); }
    void hold_controls() { set(&hold_controls_, true); }
    void release() {
        std::lock_guard<std::mutex> lock(mutex_);
        hold_opens_ = hold_controls_ = false;
        cv_.notify_all();
    }
    void fail_opens(int n) {
        std::lock_guard<std::mutex> lock(mutex_);
        fail_opens_ = n;
    }

    // Waits (for a stream thread to get there) up to `ms`.
    bool wait_inside_open(int ms) {
        return wait(ms, [this] { return inside_open_ > 0; });
    }
    bool wait_inside_control(int ms) {
        return wait(ms, [this] { return inside_control_ > 0; });
    }
    bool inside_open() const { return get(inside_open_) > 0; }
    bool inside_control() const { return get(inside_control_) > 0; }
    int opens() const { return get(opens_); }          // open attempts
    int alive() const { return get(alive_); }          // opening or open now
    int max_alive() const { return get(max_alive_); }  // the most at any one time
    std::pair<int, int> last_open_size() const { return get(last_open_size_); }
    // Every control write, in order, and the thread each ran on.
    std::vector<std::pair<std::string, int>> controls() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return controls_;
    }
    std::vector<std::thread::id> control_threads() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return control_threads_;
    }

    SourceOpener opener() {
        return
            [this](const StreamSettings& s, Logger&, std::string* error) { return open(s, error); };
    }
    StreamOptions options(RetryRules retry = {1000, 30000, 10000}) {
        StreamOptions o;
        o.open_source = opener();
        o.retry = retry;
        return o;
    }

  private:
    class Camera : public Source {
      public:
        Camera(FakeSlowCamera& owner, const StreamSettings& s)
            : owner_(owner), width_(s.width), height_(s.height), period_ms_(1000 / s.fps) {}
        ~Camera() override { owner_.closed(); }
        std::string describe() const override { return "fake slow camera"; }
        bool read(AVFrame* frame, int64_t* capture_us, std::string* error) override {
            {
                // The camera's frame period (interrupt() cuts it short), not a synchronisation.
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait_for(lock, std::chrono::milliseconds(period_ms_),
                             [this] { return interrupted_; });
                if (interrupted_) {
                    *error = "interrupted";
                    return false;
                }
            }
            av_frame_unref(frame);
            frame->format = AV_PIX_FMT_YUV420P;
            frame->width = width_;
            frame->height = height_;
            if (av_frame_get_buffer(frame, 0) < 0) {
                *error = "out of memory";
                return false;
            }
            for (int plane = 0; plane < 3; ++plane) {
                const int rows = plane == 0 ? height_ : height_ / 2;
                std::memset(frame->data[plane], 128, size_t(frame->linesize[plane]) * rows);
            }
            *capture_us = mono_us();
            return true;
        }
        void interrupt() override {
            std::lock_guard<std::mutex> lock(mutex_);
            interrupted_ = true;
            cv_.notify_all();
        }
        bool set_control(const std::string& name, int percent, std::string*) override {
            return owner_.control(name, percent);
        }

      private:
        FakeSlowCamera& owner_;
        const int width_, height_, period_ms_;
        std::mutex mutex_;
        std::condition_variable cv_;
        bool interrupted_ = false;
    };

    std::unique_ptr<Source> open(const StreamSettings& s, std::string* error) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++opens_;
        last_open_size_ = {s.width, s.height};
        max_alive_ = std::max(max_alive_, ++alive_);
        ++inside_open_;
        cv_.notify_all();
        cv_.wait_for(lock, std::chrono::milliseconds(hold_limit_ms_),
                     [this] { return !hold_opens_; });
        --inside_open_;
        if (fail_opens_ > 0 || s.kind != StreamKind::Video) {
            if (fail_opens_ > 0) --fail_opens_;
            --alive_;
            *error = "fake: no camera there";
            return nullptr;
        }
        lock.unlock();
        return std::make_unique<Camera>(*this, s);
    }
    bool control(const std::string& name, int percent) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++inside_control_;
        cv_.notify_all();
        cv_.wait_for(lock, std::chrono::milliseconds(hold_limit_ms_),
                     [this] { return !hold_controls_; });
        --inside_control_;
        controls_.emplace_back(name, percent);
        control_threads_.push_back(std::this_thread::get_id());
        return true;
    }
    void closed() {
        std::lock_guard<std::mutex> lock(mutex_);
        --alive_;
    }
    void set(bool* flag, bool on) {
        std::lock_guard<std::mutex> lock(mutex_);
        *flag = on;
    }
    template <typename T>
    T get(const T& value) const {
        std::lock_guard<std::mutex> lock(mutex_);
        return value;
    }
    template <typename Pred>
    bool wait(int ms, Pred pred) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, std::chrono::milliseconds(ms), pred);
    }

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    int hold_limit_ms_ = 10000;
    bool hold_opens_ = false, hold_controls_ = false;
    int fail_opens_ = 0;
    int inside_open_ = 0, inside_control_ = 0;
    int opens_ = 0, alive_ = 0, max_alive_ = 0;
    std::pair<int, int> last_open_size_{0, 0};
    std::vector<std::pair<std::string, int>> controls_;
    std::vector<std::thread::id> control_threads_;
};

}  // namespace robotd::media
