// The "serial_board" driver (alias "serial"): each command as a lower-cased line ending in
// "\r\n" to a board on a serial port (the reference Arduino firmware's protocol), "stop\r\n"
// for every stop; the port found by USB name in sysfs or by path, and reopened when it goes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/config.h"
#include "core/log.h"
#include "core/retry.h"
#include "core/unique_fd.h"
#include "hw/driver.h"
#include "hw/line_sink.h"
#include "net/loop.h"
#include "net/retry_timer.h"
#include "net/writable_watch.h"

namespace robotd {

// The driver's waits and where it looks; tests change them, robotd uses the defaults.
struct SerialOptions {
    // A port that fails to open, or goes away, is opened again on this backoff; one that
    // stayed open healthy_ms counts as recovered. USB re-enumeration takes about a second.
    RetryRules reopen{250, 5000, 10000};
    uint32_t summary_ms = 10000;               // at most one drop summary in the log per this
    uint32_t flush_ms = Driver::kStopFlushMs;  // see ~SerialDriver
    uint32_t slow_open_ms = 5000;     // an open still not back after this is said in the log
    std::string sysfs_root = "/sys";  // where serial_name is looked up
    std::string dev_dir = "/dev";     // where a matched tty's node is
    // Tests only: runs on the opening thread before the open, standing in for a wedged USB
    // adapter (a fake: no device on this machine stalls on demand).
    std::function<void()> fake_stall;
};

// Never blocks the loop. Finding the port (serial_name in sysfs), open() and the termios
// set-up are device calls that can stall, so each attempt runs on a one-shot thread that
// hands its result back through Loop::add_wake. Writes never block the loop (hw/line_sink.h):
// a command that the port's output buffer cannot take at once is dropped and counted; a stop
// is held and goes out first. A watch on the port tells of a hangup. A port that goes (EIO, ENXIO,
// ENODEV, POLLHUP: a USB adapter unplugged) is one log line, then reopened on the backoff,
// serial_name matched again each time (the adapter may come back as another ttyUSB). Every port
// opened gets "stop\r\n" before anything else.
class SerialDriver : public Driver {
  public:
    SerialDriver(const Config::Serial& config, Loop& loop, Logger& log, SerialOptions options = {});
    // Delivers a held stop, waiting at most options.flush_ms (for an open in flight too). An
    // open that has not returned by then is left to finish on its own thread, which closes
    // what it opened and touches nothing of the driver's.
    ~SerialDriver() override;
    SerialDriver(const SerialDriver&) = delete;
    SerialDriver& operator=(const SerialDriver&) = delete;

    // Starts opening the port. A port that cannot be opened is retried, not an error: the
    // board may be plugged in later.
    void start();

    const char* name() const override { return "serial_board"; }
    void command(const DriveCommand& c) override;
    void stop(const DriveCommand& c) override;
    // The board's protocol has nothing for pointer events.
    void pointer(const PointerEvent&) override {}
    DriverStats stats() const override;

    bool port_open() const { return fd_.valid(); }
    const std::string& port_path() const { return path_; }  // the port in use; "" if none
    uint64_t opens() const { return opens_; }
    bool opening() const { return job_ != nullptr; }

  private:
    struct OpenJob;

    static void run_open(OpenJob& job);  // on the opening thread
    void begin_open();
    void on_wake();
    void finish_open();
    void opened(UniqueFd fd, const std::string& path);
    void open_failed(int err, const std::string& path, const std::string& error);
    void note_match(const std::string& text, bool matched);
    void on_hangup();
    void vanished(const std::string& why);
    void flush_before_going();

    Config::Serial config_;
    Loop& loop_;
    Logger& log_;
    SerialOptions options_;
    uint64_t wake_id_ = 0;

    std::shared_ptr<OpenJob> job_;  // the open in flight, shared with its thread
    std::thread opener_;
    int64_t open_started_us_ = 0;
    Timer slow_open_;

    UniqueFd fd_;
    std::string path_;
    RetryTimer retry_;
    bool announced_ = false;  // the outage was logged (First or Summary): its end is too
    WritableWatch hangup_;    // armed while the port is open: lws closes it on a hangup
    std::string last_match_;  // the serial_name outcome last logged
    uint64_t opens_ = 0;
    LineSink out_;
};

}  // namespace robotd
