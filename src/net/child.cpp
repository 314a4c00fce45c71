#include "net/child.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace robotd {

namespace {

// The signals robotd blocks (the loop's signalfd) or ignores (SIGPIPE): a child must start
// with none of that.
constexpr int kResetSignals[] = {SIGTERM, SIGINT,  SIGHUP,  SIGCHLD,
                                 SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2};

// In the child between fork and exec: async-signal-safe calls only. Reports errno through
// `report` (close-on-exec, so a successful exec closes it empty).
[[noreturn]] void exec_child(const char* path, char* const* argv, int stdin_fd, int stdout_fd,
                             pid_t parent, int report) {
    int err = 0;
    setpgid(0, 0);  // signals to the group reach whatever it starts too
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // robotd died before the prctl took effect: the signal will never come, so go now.
    if (getppid() != parent) _exit(127);
    if (dup2(stdin_fd, STDIN_FILENO) < 0 ||
        (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0)) {
        err = errno;
    } else {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s : kResetSignals) sigaction(s, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execve(path, argv, environ);
        err = errno;
    }
    ssize_t n;
    do {
        n = write(report, &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

}  // namespace

std::string describe_exit(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    return "ended (status " + std::to_string(status) + ")";
}

bool executable_file(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

bool resolve_program(const std::string& name, std::string* path, std::string* error) {
    if (name.empty()) {
        *error = "empty command";
        return false;
    }
    if (name.find('/') != std::string::npos) {
        *path = name;  // exec reports what is wrong with it
        return true;
    }
    const char* env = getenv("PATH");
    const std::string dirs = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
    for (size_t at = 0; at <= dirs.size();) {
        size_t end = dirs.find(':', at);
        if (end == std::string::npos) end = dirs.size();
        const std::string dir = end > at ? dirs.substr(at, end - at) : ".";
        const std::string candidate = dir + "/" + name;
        if (executable_file(candidate)) {
            *path = candidate;
            return true;
        }
        at = end + 1;
    }
    *error = "cannot start '" + name + "': not found in PATH (" + dirs + ")";
    return false;
}

pid_t spawn_process(const std::vector<std::string>& argv, int stdin_fd, std::string* error,
                    int stdout_fd) {
    if (argv.empty()) {
        *error = "empty command";
        return -1;
    }
    std::string path;
    if (!resolve_program(argv[0], &path, error)) return -1;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    UniqueFd devnull;
    if (stdin_fd < 0) {
        devnull.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!devnull.valid()) {
            *error = std::string("/dev/null: ") + strerror(errno);
            return -1;
        }
        stdin_fd = devnull.get();
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        *error = std::string("pipe: ") + strerror(errno);
        return -1;
    }
    UniqueFd report_read(report[0]), report_write(report[1]);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        *error = "cannot start '" + argv[0] + "': fork: " + strerror(errno);
        return -1;
    }
    if (pid == 0) exec_child(path.c_str(), args.data(), stdin_fd, stdout_fd, parent, report[1]);
    report_write.reset();
    // Returns at the exec (the pipe closes empty) or at its failure: never long.
    int err = 0;
    ssize_t n;
    do {
        n = read(report_read.get(), &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof err)) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        *error = "cannot start '" + argv[0] + "': " + strerror(err);
        return -1;
    }
    return pid;
}

Child::Child(Loop& loop) : loop_(loop) {}

Child::~Child() {
    if (pid_ <= 0) return;
    const bool had_stdin = stdin_.valid();
    stdin_.reset();
    loop_.abandon_child(pid_, had_stdin ? kEofGraceMs : 0, kTermGraceMs);
}

bool Child::start(const std::vector<std::string>& argv, Pipes pipes, std::string* error) {
    if (pid_ > 0) {
        *error = "already running";
        return false;
    }
    if (argv.empty()) {
        *error = "empty command";
        return false;
    }
    stdout_.reset();
    auto make_pipe = [error](UniqueFd* read_end, UniqueFd* write_end) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            *error = std::string("pipe: ") + strerror(errno);
            return false;
        }
        read_end->reset(fds[0]);
        write_end->reset(fds[1]);
        return true;
    };
    UniqueFd in_read, in_write, out_read, out_write;
    if (pipes.in && !make_pipe(&in_read, &in_write)) return false;
    if (pipes.out && !make_pipe(&out_read, &out_write)) return false;
    const pid_t pid = spawn_process(argv, in_read.get(), error, out_write.get());
    if (pid < 0) return false;
    pid_ = pid;
    if (pipes.in) {
        fcntl(in_write.get(), F_SETFL, fcntl(in_write.get(), F_GETFL) | O_NONBLOCK);
        stdin_ = std::move(in_write);
    }
    if (pipes.out) {
        // out_write closes here: the reader sees EOF once the child (and whatever it started
        // with that stdout) is done.
        fcntl(out_read.get(), F_SETFL, fcntl(out_read.get(), F_GETFL) | O_NONBLOCK);
        stdout_ = std::move(out_read);
    }
    loop_.watch_child(pid_, argv[0], [this](int status) { exited(status); });
    return true;
}

void Child::stop(uint32_t grace_ms) {
    if (pid_ <= 0) return;
    loop_.stop_child(pid_, 0, grace_ms);
}

void Child::exited(int status) {
    pid_ = -1;
    stdin_.reset();
    if (on_exit_) on_exit_(status);
}

}  // namespace robotd
