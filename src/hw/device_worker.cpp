#include "hw/device_worker.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "hw/driver.h"

namespace robotd {

// What the loop and the worker thread share. The thread holds it too, so a thread that
// outlives its DeviceWorker (stuck in an ioctl at exit) touches nothing freed.
struct DeviceWorker::Shared {
    enum class Event { Opened, OpenFailed, Lost };
    struct Report {
        Event event;
        std::string error;
    };

    std::unique_ptr<Device> device;
    Outputs safe;
    lws_context* context = nullptr;  // for lws_cancel_service(), which any thread may call

    std::mutex mutex;
    std::condition_variable cv;
    // Guarded by mutex:
    bool open_wanted = false;
    bool stop_wanted = false;       // a stop not yet written: before `motion`, always
    Outputs stop_out;               // what that stop writes
    std::optional<Outputs> motion;  // the newest motion not yet written
    bool quit = false;
    bool done = false;  // the thread has let go of the device
    bool up = false;
    std::deque<Report> reports;  // for the loop
    uint64_t applied = 0;
    uint64_t dropped = 0;

    void report(Event e, std::string error) {
        // After quit the DeviceWorker (and at exit the lws context) may be gone: nobody to wake.
        if (quit) return;
        reports.push_back({e, std::move(error)});
        lws_cancel_service(context);
    }
};

DeviceWorker::DeviceWorker(Loop& loop, Logger& log, std::string tag, std::unique_ptr<Device> device,
                           Outputs safe, RetryRules reopen)
    : loop_(loop),
      log_(log),
      tag_(std::move(tag)),
      safe_(std::move(safe)),
      shared_(std::make_shared<Shared>()),
      retry_(loop, reopen, [this] { request_open(); }) {
    shared_->device = std::move(device);
    shared_->safe = safe_;
    shared_->context = loop.context();
}

void DeviceWorker::start() {
    wake_id_ = loop_.add_wake([this] { drain_events(); });
    std::thread(run, shared_).detach();  // joined through `done` (see the destructor)
    request_open();
}

DeviceWorker::~DeviceWorker() {
    if (wake_id_ != 0) loop_.remove_wake(wake_id_);
    std::unique_lock<std::mutex> lock(shared_->mutex);
    shared_->quit = true;
    shared_->stop_wanted = true;
    shared_->stop_out = safe_;
    shared_->motion.reset();
    shared_->cv.notify_all();
    if (wake_id_ == 0) return;  // never started: no thread
    if (!shared_->cv.wait_for(lock, std::chrono::milliseconds(Driver::kStopFlushMs),
                              [&] { return shared_->done; }))
        LOGE(log_, tag_.c_str(),
             "%s did not answer within %u ms at the end; its outputs may not be safe",
             shared_->device->describe().c_str(), Driver::kStopFlushMs);
}

void DeviceWorker::run(std::shared_ptr<Shared> s) {
    std::unique_lock<std::mutex> lock(s->mutex);
    while (true) {
        s->cv.wait(lock, [&] { return s->quit || s->open_wanted || s->stop_wanted || s->motion; });
        if (s->open_wanted && !s->up && !s->quit) {
            s->open_wanted = false;
            // A stop asked meanwhile is what open does anyway; motion waits for it.
            s->stop_wanted = false;
            std::string error;
            lock.unlock();
            const bool ok = s->device->open(s->safe, &error);
            lock.lock();
            s->up = ok;
            if (ok) ++s->applied;
            s->report(ok ? Shared::Event::Opened : Shared::Event::OpenFailed, std::move(error));
            continue;
        }
        s->open_wanted = false;
        Outputs out;
        if (s->stop_wanted) {
            s->stop_wanted = false;
            out = s->stop_out;
        } else if (s->motion) {
            out = std::move(*s->motion);
            s->motion.reset();
        } else {
            break;  // quit with nothing left to write
        }
        if (!s->up) {
            // A stop for a device that is down: its next open drives it safe.
            continue;
        }
        std::string error;
        lock.unlock();
        const bool ok = s->device->apply(out, &error);
        if (!ok) s->device->close();
        lock.lock();
        if (ok) {
            ++s->applied;
        } else {
            s->up = false;
            s->report(Shared::Event::Lost, std::move(error));
        }
    }
    if (s->up) {
        lock.unlock();
        s->device->close();
        lock.lock();
        s->up = false;
    }
    s->done = true;
    s->cv.notify_all();
}

void DeviceWorker::set(Outputs out) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (!shared_->up || shared_->quit) {
        ++shared_->dropped;
        return;
    }
    if (shared_->motion) ++shared_->dropped;  // the bus is slower than the commands come
    shared_->motion = std::move(out);
    shared_->cv.notify_all();
}

void DeviceWorker::stop_to(Outputs out) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (shared_->motion) ++shared_->dropped;
    shared_->motion.reset();
    shared_->stop_wanted = true;
    shared_->stop_out = std::move(out);
    shared_->cv.notify_all();
}

DeviceWorker::Stats DeviceWorker::stats() const {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    return {shared_->applied, shared_->dropped, shared_->up};
}

void DeviceWorker::request_open() {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->open_wanted = true;
    shared_->cv.notify_all();
}

void DeviceWorker::drain_events() {
    std::deque<Shared::Report> reports;
    {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        reports.swap(shared_->reports);
    }
    const std::string what = shared_->device->describe();  // describe() is const and fixed
    for (const auto& r : reports) {
        switch (r.event) {
            case Shared::Event::Opened:
                if (retry_.succeeded())
                    LOGI(log_, tag_.c_str(), "%s is back (%s); outputs safe", what.c_str(),
                         retry_.outage_text().c_str());
                else
                    LOGI(log_, tag_.c_str(), "%s ready; outputs safe", what.c_str());
                ever_up_ = true;
                if (on_change_) on_change_(true);
                break;
            case Shared::Event::OpenFailed: {
                const RetryPolicy::Step step = retry_.failed();
                const std::string next = describe_duration(int64_t(step.delay_ms) * 1000);
                if (step.report == RetryPolicy::Report::First)
                    LOGE(log_, tag_.c_str(), "%s: %s; trying again in %s", what.c_str(),
                         r.error.c_str(), next.c_str());
                else if (step.report == RetryPolicy::Report::Summary)
                    LOGE(log_, tag_.c_str(), "%s: still failing after %s: %s", what.c_str(),
                         retry_.outage_text().c_str(), r.error.c_str());
                else
                    LOGD(log_, tag_.c_str(), "%s: %s; trying again in %s", what.c_str(),
                         r.error.c_str(), next.c_str());
                break;
            }
            case Shared::Event::Lost: {
                retry_.failed();
                LOGE(log_, tag_.c_str(), "%s lost: %s; motors considered stopped, reopening",
                     what.c_str(), r.error.c_str());
                if (on_change_) on_change_(false);
                break;
            }
        }
    }
}

}  // namespace robotd
