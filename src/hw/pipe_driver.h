// The "pipe" driver: every command and pointer event as one JSON line to a file, a FIFO,
// stdout, or the stdin of a consumer process, so any program can drive the hardware.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/log.h"
#include "core/retry.h"
#include "core/unique_fd.h"
#include "hw/driver.h"
#include "hw/line_sink.h"
#include "net/child.h"
#include "net/loop.h"
#include "net/retry_timer.h"

namespace robotd {

// The driver's waits; tests shorten them, robotd uses the defaults.
struct PipeTimings {
    // A FIFO without a reader is opened again on this backoff: its cap bounds how late a
    // returning reader gets a held stop.
    RetryRules reopen{100, 1000, 10000};
    // A consumer that exited or could not start is restarted on this backoff; one that ran
    // healthy_ms counts as recovered.
    RetryRules restart{1000, 30000, 10000};
    // A stop held on a file or stdout that failed with an error (a full disk) is written again
    // on this backoff (pipes and FIFOs wait for writability instead).
    RetryRules rewrite{100, 2000, 0};
    uint32_t summary_ms = 10000;               // at most one drop summary in the log per this
    uint32_t flush_ms = Driver::kStopFlushMs;  // see ~PipeDriver
};

// Never blocks the loop (hw/line_sink.h): a command or pointer line that cannot be written
// whole at once is dropped and counted (nothing but a stop is queued, so a stuck consumer
// costs no memory). A stop is held instead and goes out first when the destination can take
// it: on writability, when a FIFO has a reader again, or to a restarted consumer.
class PipeDriver : public Driver {
  public:
    PipeDriver(const Config::Pipe& config, Loop& loop, Logger& log, PipeTimings timings = {});
    // Delivers a held stop, waiting at most timings.flush_ms (a poll for writability; for a
    // FIFO, for a reader too). Then a consumer's stdin closes (it reads the stop, then EOF)
    // and the loop stops it (net/child.h: SIGTERM after 0.5 s, SIGKILL 1 s later).
    ~PipeDriver() override;
    PipeDriver(const PipeDriver&) = delete;
    PipeDriver& operator=(const PipeDriver&) = delete;

    // Opens the destination or starts the consumer. False with `error` set when the config
    // cannot work (a command that does not parse, a file that cannot be opened); a FIFO
    // without a reader or a consumer that fails to start are retried, not errors. A consumer
    // starts only once every abandoned child (a replaced driver's consumer) is gone: two
    // consumers never drive the same hardware at once. Every new reader (a consumer started
    // or restarted, a FIFO opened) gets a stop as its first line.
    bool start(std::string* error);

    const char* name() const override { return "pipe"; }
    void command(const DriveCommand& c) override;
    void stop(const DriveCommand& c) override;
    void pointer(const PointerEvent& p) override;
    DriverStats stats() const override;
    uint64_t consumer_starts() const { return consumer_starts_; }
    pid_t consumer_pid() const { return child_.pid(); }

  private:
    enum class Sink { Stdout, File, Fifo, Consumer };

    bool open_stdout(std::string* error);
    void open_fifo();
    void start_consumer();
    void consumer_exited(int status);
    void retry_now();
    void write_failed(int error);
    void new_destination();
    void flush_before_going();
    void lost_reader();

    Config::Pipe config_;
    Loop& loop_;
    Logger& log_;
    PipeTimings timings_;
    Sink sink_ = Sink::Stdout;
    UniqueFd fd_;                    // Stdout, File, Fifo
    std::vector<std::string> argv_;  // Consumer
    uint64_t wait_id_ = 0;           // waiting for a predecessor's consumer to be gone
    Child child_;
    int64_t consumer_started_us_ = 0;
    bool consumer_stopping_ = false;
    uint64_t consumer_starts_ = 0;
    RetryTimer retry_;  // the one retry loop of this sink: FIFO reopen, consumer restart, rewrite
    Timer healthy_;     // a restarted consumer that keeps running: its recovery is logged
    LineSink out_;      // last: it lets go of the consumer's stdin before child_ closes it
};

}  // namespace robotd
