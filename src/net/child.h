// Child processes started from an argv (never a shell), reaped on the loop through SIGCHLD,
// and never outliving their owner or robotd: the pipe driver's consumer, reverse SSH, TTS.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/argv.h"
#include "core/unique_fd.h"
#include "net/loop.h"

namespace robotd {

class Child {
  public:
    // A child whose owner goes: time to finish on its own after its stdin closes (EOF), then
    // time between SIGTERM and SIGKILL.
    static constexpr uint32_t kEofGraceMs = 500;
    static constexpr uint32_t kTermGraceMs = 1000;

    explicit Child(Loop& loop);
    // A running child is handed to the loop: its stdin closes (a consumer sees EOF after the
    // last line, e.g. the exit stop), SIGTERM follows kEofGraceMs later (at once without a
    // stdin pipe) and SIGKILL kTermGraceMs after that, on the loop's timer.
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    // Starts argv[0] (searched in PATH) in a process group of its own, with default signal
    // handling, an empty signal mask, and SIGKILL should robotd die without stopping it. With
    // `pipe_stdin`, its stdin is a pipe whose write end is stdin_fd() (non-blocking,
    // close-on-exec); otherwise stdin is /dev/null.
    bool start(const std::vector<std::string>& argv, bool pipe_stdin, std::string* error) {
        return start(argv, Pipes{pipe_stdin, false}, error);
    }
    // Which standard streams are pipes to robotd. With `out`, the child's stdout is a pipe
    // whose read end is stdout_fd() (non-blocking, close-on-exec): a TTS engine's WAV.
    // Otherwise stdout is robotd's own.
    struct Pipes {
        bool in = false;
        bool out = false;
    };
    bool start(const std::vector<std::string>& argv, Pipes pipes, std::string* error);
    // SIGTERM now, SIGKILL if it is still there after `grace_ms`; on_exit is still called.
    void stop(uint32_t grace_ms = kTermGraceMs);
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    int stdin_fd() const { return stdin_.get(); }
    // Closes the stdin pipe: the child reads EOF (a TTS engine has all of its text).
    void close_stdin() { stdin_.reset(); }
    // Stays open after the child has exited (what it wrote last may still be unread) until
    // the next start() or the Child goes; -1 without a stdout pipe.
    int stdout_fd() const { return stdout_.get(); }
    // Called on the loop when the child has exited (status as from waitpid).
    void on_exit(std::function<void(int status)> fn) { on_exit_ = std::move(fn); }

  private:
    void exited(int status);

    Loop& loop_;
    pid_t pid_ = -1;
    UniqueFd stdin_;
    UniqueFd stdout_;
    std::function<void(int)> on_exit_;
};

// Forks and execs `argv` (argv[0] resolved in PATH before the fork) with `stdin_fd` (or
// /dev/null when negative) as its stdin, in a process group of its own, with default signal
// dispositions and mask, and PR_SET_PDEATHSIG(SIGKILL): it dies with the thread that started
// it (robotd starts children from the loop thread, which lives as long as the process). The
// caller reaps it. -1 with `error` set when it cannot start (exec errors included).
// `stdout_fd` (when not negative) becomes its stdout; otherwise it keeps robotd's.
pid_t spawn_process(const std::vector<std::string>& argv, int stdin_fd, std::string* error,
                    int stdout_fd = -1);

// A regular file this process may execute.
bool executable_file(const std::string& path);
// What execvp would run for `name`: a name with a '/' as it is (exec reports what is wrong
// with it), else the first executable PATH entry. Found before a fork, since the child may
// only make async-signal-safe calls and a PATH search allocates.
bool resolve_program(const std::string& name, std::string* path, std::string* error);

// "exited with status 3", "killed by signal 9 (Killed)": for log lines.
std::string describe_exit(int status);

}  // namespace robotd
