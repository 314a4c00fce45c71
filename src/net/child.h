// Child processes started from an argv (never a shell), reaped on the loop through SIGCHLD,
// and stopped with SIGTERM then SIGKILL: the pipe driver's consumer, reverse SSH, TTS.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/argv.h"
#include "net/loop.h"

namespace robotd {

class Child {
  public:
    explicit Child(Loop& loop);
    ~Child();  // stops the child and stops watching it
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    // Starts argv[0] (searched in PATH) with default signal handling and an empty signal
    // mask. With `pipe_stdin`, its stdin is a pipe whose write end is stdin_fd()
    // (non-blocking, close-on-exec); otherwise stdin is /dev/null.
    bool start(const std::vector<std::string>& argv, bool pipe_stdin, std::string* error);
    // SIGTERM now, SIGKILL if it is still there after `grace_ms`.
    void stop(uint32_t grace_ms = 1000);
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    int stdin_fd() const { return stdin_fd_; }
    // Called on the loop when the child has exited (status as from waitpid).
    void on_exit(std::function<void(int status)> fn) { on_exit_ = std::move(fn); }

  private:
    void exited(int status);
    void close_stdin();

    Loop& loop_;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    Timer kill_timer_;
    std::function<void(int)> on_exit_;
};

// "exited with status 3", "killed by signal 9 (Killed)": for log lines.
std::string describe_exit(int status);

}  // namespace robotd
