#include "net/child.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

extern char** environ;

namespace robotd {

std::string describe_exit(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    return "ended (status " + std::to_string(status) + ")";
}

Child::Child(Loop& loop)
    : loop_(loop), kill_timer_(loop, [this] {
          if (pid_ > 0) kill(pid_, SIGKILL);
      }) {}

Child::~Child() {
    if (pid_ > 0) {
        loop_.forget_child(pid_);
        kill(pid_, SIGTERM);
        // Reaped by the loop's next SIGCHLD sweep (an unwatched pid is reaped silently).
    }
    close_stdin();
}

void Child::close_stdin() {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    stdin_fd_ = -1;
}

bool Child::start(const std::vector<std::string>& argv, bool pipe_stdin, std::string* error) {
    if (pid_ > 0) {
        *error = "already running";
        return false;
    }
    if (argv.empty()) {
        *error = "empty command";
        return false;
    }
    int fds[2] = {-1, -1};
    if (pipe_stdin && pipe2(fds, O_CLOEXEC) != 0) {
        *error = std::string("pipe: ") + strerror(errno);
        return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (pipe_stdin)
        posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The daemon blocks TERM/INT/HUP/CHLD and ignores PIPE; a child must not inherit that.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (pipe_stdin) close(fds[0]);
    if (rc != 0) {
        if (pipe_stdin) close(fds[1]);
        *error = "cannot start '" + argv[0] + "': " + strerror(rc);
        return false;
    }
    pid_ = pid;
    if (pipe_stdin) {
        stdin_fd_ = fds[1];
        fcntl(stdin_fd_, F_SETFL, fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
    }
    loop_.watch_child(pid_, [this](int status) { exited(status); });
    return true;
}

void Child::stop(uint32_t grace_ms) {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    kill_timer_.start_ms(grace_ms);
}

void Child::exited(int status) {
    pid_ = -1;
    kill_timer_.cancel();
    close_stdin();
    if (on_exit_) on_exit_(status);
}

}  // namespace robotd
