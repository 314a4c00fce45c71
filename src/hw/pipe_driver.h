// The "pipe" driver: every command and pointer event as one JSON line to a file, a FIFO,
// stdout, or the stdin of a consumer process, so any program can drive the hardware.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/log.h"
#include "hw/driver.h"
#include "core/unique_fd.h"
#include "net/child.h"
#include "net/loop.h"

namespace robotd {

// The driver's waits; tests shorten them, robotd uses the defaults.
struct PipeTimings {
    uint32_t reopen_ms = 1000;        // a FIFO without a reader: try to open it this often
    uint32_t restart_min_ms = 1000;   // a dead consumer: first restart delay, doubling
    uint32_t restart_max_ms = 30000;  // up to this,
    uint32_t healthy_ms = 10000;      // back to the first once a consumer has run this long
    uint32_t summary_ms = 10000;      // at most one drop summary in the log per this
};

// Never blocks the loop: writes are non-blocking and a line that cannot be written whole at
// once is dropped and counted (nothing is queued, so a stuck consumer costs no memory).
// Writing to a pipe whose reader is gone needs SIGPIPE ignored, as robotd's main() does.
class PipeDriver : public Driver {
  public:
    PipeDriver(const Config::Pipe& config, Loop& loop, Logger& log, PipeTimings timings = {});
    ~PipeDriver() override;
    PipeDriver(const PipeDriver&) = delete;
    PipeDriver& operator=(const PipeDriver&) = delete;

    // Opens the destination or starts the consumer. False with `error` set when the config
    // cannot work (a command that does not parse, a file that cannot be opened); a FIFO
    // without a reader or a consumer that fails to start are retried, not errors.
    bool start(std::string* error);

    const char* name() const override { return "pipe"; }
    void command(const DriveCommand& c) override;
    void pointer(const PointerEvent& p) override;
    DriverStats stats() const override { return {written_, dropped_}; }
    uint64_t consumer_starts() const { return consumer_starts_; }

  private:
    enum class Sink { Stdout, File, Fifo, Consumer };

    bool open_stdout(std::string* error);
    void open_fifo();
    void start_consumer();
    void consumer_exited(int status);
    void write_line(const std::string& line);
    int sink_fd() const;
    void lost_reader();
    void drop(const char* why);
    void summarise_drops();

    Config::Pipe config_;
    Logger& log_;
    PipeTimings timings_;
    Sink sink_ = Sink::Stdout;
    UniqueFd fd_;                     // Stdout, File, Fifo
    bool poll_before_write_ = false;  // stdout we could not make non-blocking
    bool is_socket_ = false;
    bool fifo_waiting_logged_ = false;
    std::vector<std::string> argv_;  // Consumer
    Child child_;
    int64_t consumer_started_us_ = 0;
    uint32_t restart_ms_ = 0;
    bool consumer_stopping_ = false;
    uint64_t consumer_starts_ = 0;
    Timer retry_timer_;  // FIFO reopen or consumer restart
    Timer summary_timer_;
    uint64_t written_ = 0;
    uint64_t dropped_ = 0;
    uint64_t unreported_drops_ = 0;
    std::string drop_reason_;
};

}  // namespace robotd
