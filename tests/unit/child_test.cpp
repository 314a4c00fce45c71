// Child processes on a real loop: stopped with SIGTERM then SIGKILL, handed to the loop when
// their owner goes (EOF first, then the signals), killed with their whole process group,
// killed and reaped when the loop itself goes, and killed by the kernel when the process that
// started them dies (PR_SET_PDEATHSIG).
#include "net/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "loop_harness.h"
#include "net/loop.h"
#include "net/reaper.h"
#include "stderr_capture.h"
#include "temp_dir.h"

using namespace robotd;

namespace {

// A number a child wrote to `path`, or 0 while the file is incomplete.
pid_t pid_in(const std::string& path) {
    const std::string text = slurp(path);
    if (text.empty() || text.back() != '\n') return 0;
    return static_cast<pid_t>(std::atol(text.c_str()));
}

// No such process, or only its zombie (a dead process another parent has yet to reap).
bool process_gone(pid_t pid) {
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return true;
    const size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// Waits for the exit of a child of this process without a loop: its pidfd is readable then.
bool wait_exit(pid_t pid, int timeout_ms, int* status) {
    const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, timeout_ms);
    close(fd);
    return ready == 1 && waitpid(pid, status, 0) == pid;
}

// A shell that ignores SIGTERM, writes "ready" to its argument, and then waits forever
// (as `sleep`, which inherits the ignored SIGTERM).
std::vector<std::string> stubborn(const std::string& ready) {
    return {"sh", "-c", "trap '' TERM; echo ready > \"$0\"; exec sleep 1000", ready};
}

class ChildTest : public LoopTest {
  protected:
    bool await_ready(const std::string& path) {
        return run_until([&] { return slurp(path) == "ready\n"; }, 5000);
    }
    TempDir dir_{"robotd-child"};
};

}  // namespace

TEST_F(ChildTest, StopEscalatesToSigkillWhenSigtermIsIgnored) {
    const std::string ready = dir_.file("ready");
    Child child(loop_);
    bool exited = false;
    int status = 0;
    child.on_exit([&](int s) {
        exited = true;
        status = s;
    });
    std::string error;
    ASSERT_TRUE(child.start(stubborn(ready), false, &error)) << error;
    ASSERT_TRUE(await_ready(ready));
    child.stop(100);
    ASSERT_TRUE(run_until([&] { return exited; }, 5000));
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << describe_exit(status);
    EXPECT_FALSE(child.running());
}

TEST_F(ChildTest, AChildWhoseOwnerIsGoneIsKilledAndReapedEvenIfItIgnoresSigterm) {
    StderrCapture log;
    const std::string ready = dir_.file("ready");
    pid_t pid = -1;
    {
        Child child(loop_);
        std::string error;
        ASSERT_TRUE(child.start(stubborn(ready), true, &error)) << error;
        ASSERT_TRUE(await_ready(ready));
        pid = child.pid();
    }
    EXPECT_EQ(loop_.reaper().abandoned(), 1u);
    // EOF grace, then SIGTERM (ignored), then SIGKILL: all on the loop's timer.
    ASSERT_TRUE(run_until([&] { return loop_.reaper().alive() == 0; }, 8000));
    EXPECT_EQ(kill(pid, 0), -1) << "pid " << pid << " is still there (or not reaped)";
    EXPECT_EQ(errno, ESRCH);
    log.restore();
    EXPECT_NE(log.text().find("after SIGTERM; killing it"), std::string::npos) << log.text();
}

TEST_F(ChildTest, AConsumerWhoseOwnerIsGoneReadsToEofBeforeAnySignal) {
    const std::string out = dir_.file("out");
    pid_t pid = -1;
    {
        Child child(loop_);
        std::string error;
        // Copies its stdin, then notes the EOF: only a child that was let finish gets there.
        ASSERT_TRUE(
            child.start({"sh", "-c", "cat > \"$0\"; echo eof >> \"$0\"", out}, true, &error))
            << error;
        pid = child.pid();
        const std::string last = "{\"command\":\"stop\",\"reason\":\"exit\"}\n";
        ASSERT_EQ(write(child.stdin_fd(), last.data(), last.size()), ssize_t(last.size()));
    }
    ASSERT_TRUE(run_until([&] { return loop_.reaper().alive() == 0; }, 5000));
    EXPECT_EQ(slurp(out), "{\"command\":\"stop\",\"reason\":\"exit\"}\neof\n");
    EXPECT_EQ(kill(pid, 0), -1);
}

TEST_F(ChildTest, AStdoutPipeCarriesWhatTheChildWroteUpToEofEvenAfterItExited) {
    Child child(loop_);
    bool exited = false;
    child.on_exit([&](int) { exited = true; });
    std::string error;
    // Echoes a line of its stdin back on stdout, as a TTS engine turns text into WAV.
    ASSERT_TRUE(child.start({"sh", "-c", "read line; echo \"$line\"; echo done"},
                            Child::Pipes{true, true}, &error))
        << error;
    ASSERT_GE(child.stdout_fd(), 0);
    EXPECT_TRUE(fcntl(child.stdout_fd(), F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(fcntl(child.stdout_fd(), F_GETFD) & FD_CLOEXEC);
    const std::string text = "hello\n";
    ASSERT_EQ(write(child.stdin_fd(), text.data(), text.size()), ssize_t(text.size()));
    // A second child started meanwhile must not hold the write end open (close-on-exec).
    Child other(loop_);
    ASSERT_TRUE(other.start({"sleep", "1000"}, false, &error)) << error;
    EXPECT_EQ(other.stdout_fd(), -1);
    ASSERT_TRUE(run_until([&] { return exited; }, 5000));
    // The read end outlives the child: nothing it wrote is lost to the exit.
    std::string got;
    char buf[64];
    for (;;) {
        const ssize_t n = read(child.stdout_fd(), buf, sizeof buf);
        if (n > 0) {
            got.append(buf, size_t(n));
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            pollfd p{child.stdout_fd(), POLLIN, 0};
            ASSERT_EQ(poll(&p, 1, 5000), 1);
            continue;
        }
        break;
    }
    EXPECT_EQ(got, "hello\ndone\n");
    other.stop(0);
}

TEST_F(ChildTest, StoppingAChildTakesItsWholeProcessGroup) {
    const std::string grandchild = dir_.file("grandchild");
    Child child(loop_);
    bool exited = false;
    int status = 0;
    child.on_exit([&](int s) {
        exited = true;
        status = s;
    });
    std::string error;
    // The shell dies of SIGTERM; what it started ignores SIGTERM, and would live on.
    ASSERT_TRUE(child.start(
        {"sh", "-c", "(trap '' TERM; exec sleep 1000) & echo $! > \"$0\"; wait", grandchild}, false,
        &error))
        << error;
    ASSERT_TRUE(run_until([&] { return pid_in(grandchild) > 0; }, 5000));
    const pid_t left = pid_in(grandchild);
    child.stop(60000);  // no SIGKILL from the grace: only the group kill can end `left` soon
    ASSERT_TRUE(run_until([&] { return exited; }, 5000));
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << describe_exit(status);
    EXPECT_TRUE(run_until([&] { return process_gone(left); }, 5000)) << "pid " << left;
}

TEST_F(ChildTest, DestroyingTheLoopKillsAndReapsEveryChildWithinItsBound) {
    const std::string ready = dir_.file("ready");
    pid_t abandoned = -1, watched = -1;
    int64_t took_ms = 0;
    auto inner = std::make_unique<Loop>(log_);
    std::string error;
    ASSERT_TRUE(inner->start(TlsSettings{"", false}, &error)) << error;
    {
        Child child(*inner);
        ASSERT_TRUE(child.start(stubborn(ready), true, &error)) << error;
        ASSERT_TRUE(await_ready(ready));
        abandoned = child.pid();
    }
    // A child whose owner never let go: the loop cannot wait for anybody to stop it.
    watched = spawn_process({"sleep", "1000"}, -1, &error);
    ASSERT_GT(watched, 0) << error;
    inner->watch_child(watched, "sleep", [](int) {});
    const int64_t t0 = mono_us();
    inner.reset();
    took_ms = (mono_us() - t0) / 1000;
    for (pid_t pid : {abandoned, watched}) {
        EXPECT_EQ(kill(pid, 0), -1) << "pid " << pid << " outlived the loop";
        EXPECT_EQ(errno, ESRCH) << "pid " << pid;
    }
    // Loop::kChildExitMs for the schedules, Reaper::kKillReapMs at most after SIGKILL.
    EXPECT_LT(took_ms, Loop::kChildExitMs + Reaper::kKillReapMs + 3000);
}

TEST(ChildSpawn, AChildDiesWithTheProcessThatStartedIt) {
    // Orphans come to this process instead of init, so the test can see how it died.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    const pid_t middle = fork();
    ASSERT_GE(middle, 0);
    if (middle == 0) {
        std::string error;
        const pid_t pid = spawn_process({"sleep", "1000"}, -1, &error);
        (void)!write(fds[1], &pid, sizeof pid);
        _exit(0);  // gone without stopping its child
    }
    close(fds[1]);
    pid_t pid = -1;
    ASSERT_EQ(read(fds[0], &pid, sizeof pid), ssize_t(sizeof pid));
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(middle, &status, 0), middle);
    ASSERT_GT(pid, 0);
    const bool died = wait_exit(pid, 5000, &status);
    if (!died) kill(pid, SIGKILL), waitpid(pid, &status, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    ASSERT_TRUE(died) << "the child outlived its parent";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << describe_exit(status);
}

TEST_F(ChildTest, SpawnErrorsNameTheProgramAndTheCause) {
    std::string error;
    EXPECT_EQ(spawn_process({"robotd-no-such-consumer"}, -1, &error), -1);
    EXPECT_NE(error.find("'robotd-no-such-consumer': not found in PATH"), std::string::npos)
        << error;
    EXPECT_EQ(spawn_process({"/nonexistent/consumer"}, -1, &error), -1);
    EXPECT_NE(error.find("'/nonexistent/consumer': No such file"), std::string::npos) << error;
    const std::string plain = dir_.file("plain");
    std::ofstream(plain) << "not a program\n";
    EXPECT_EQ(spawn_process({plain}, -1, &error), -1);
    EXPECT_NE(error.find("Permission denied"), std::string::npos) << error;
    EXPECT_EQ(spawn_process({}, -1, &error), -1);
}

TEST_F(ChildTest, AChildStartsWithNoSignalBlockedOrIgnored) {
    // The loop's signals are blocked here (as in robotd) and SIGPIPE ignored.
    const std::string out = dir_.file("status");
    Child child(loop_);
    bool exited = false;
    child.on_exit([&](int) { exited = true; });
    std::string error;
    ASSERT_TRUE(
        child.start({"sh", "-c", "exec grep -E '^Sig(Blk|Ign)' /proc/self/status > \"$0\"", out},
                    false, &error))
        << error;
    ASSERT_TRUE(run_until([&] { return exited; }, 5000));
    std::istringstream status(slurp(out));
    std::string blocked_key, blocked, ignored_key, ignored;
    status >> blocked_key >> blocked >> ignored_key >> ignored;
    ASSERT_EQ(blocked_key, "SigBlk:");
    ASSERT_EQ(ignored_key, "SigIgn:");
    const unsigned long long blk = std::stoull(blocked, nullptr, 16);
    const unsigned long long ign = std::stoull(ignored, nullptr, 16);
    EXPECT_EQ(blk, 0u) << blocked;
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE})
        EXPECT_EQ(ign & (1ull << (s - 1)), 0u) << "signal " << s << " ignored: " << ignored;
}

// A consumer that crashes takes what it started with it, as one that is stopped does.
TEST_F(ChildTest, AChildThatEndsByItselfTakesItsGroupWithIt) {
    const std::string pidfile = dir_.file("grandchild");
    Child child(loop_);
    bool exited = false;
    child.on_exit([&](int) { exited = true; });
    std::string error;
    ASSERT_TRUE(
        child.start({"sh", "-c", "sleep 1000 & echo $! > \"$0\"; exit 3", pidfile}, false, &error))
        << error;
    ASSERT_TRUE(run_until([&] { return exited; }, 3000));
    const pid_t grandchild = static_cast<pid_t>(std::stol(slurp(pidfile)));
    ASSERT_GT(grandchild, 0);
    // SIGKILL went to the group before the child was reaped; init reaps the grandchild.
    const bool gone = run_until(
        [&] {
            const std::string stat = slurp("/proc/" + std::to_string(grandchild) + "/stat");
            return stat.empty() || stat[stat.rfind(')') + 2] == 'Z';
        },
        3000);
    if (!gone) kill(grandchild, SIGKILL);
    EXPECT_TRUE(gone) << "grandchild " << grandchild << " outlived its crashed parent";
}
