// The serial_board driver on a real loop against a pseudo-terminal pair: the driver opens the
// slave as its serial_device, the test reads the master as the board would. A master closed
// is the adapter unplugged (the slave hangs up, as a USB tty does).
#include "hw/serial_driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "hw/driver.h"
#include "hw/motion.h"
#include "loop_harness.h"
#include "serial_fake_sysfs.h"
#include "stderr_capture.h"
#include "temp_dir.h"

using namespace robotd;

namespace {

// A pseudo-terminal pair: the slave's path for the driver, the master read without blocking.
class Pty {
  public:
    Pty() {
        master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return;
        char name[128];
        if (ptsname_r(master_, name, sizeof name) == 0) slave_ = name;
    }
    ~Pty() { close_master(); }
    Pty(const Pty&) = delete;
    Pty& operator=(const Pty&) = delete;

    bool ok() const { return master_ >= 0 && !slave_.empty(); }
    const std::string& slave() const { return slave_; }
    int master() const { return master_; }
    // The adapter unplugged: the slave hangs up.
    void close_master() {
        if (master_ >= 0) close(master_);
        master_ = -1;
    }
    // What the driver wrote since the last call (EIO: no slave open, nothing to read).
    std::string read_now() {
        std::string out;
        char buf[8192];
        for (ssize_t n; master_ >= 0 && (n = read(master_, buf, sizeof buf)) > 0;)
            out.append(buf, size_t(n));
        return out;
    }

  private:
    int master_ = -1;
    std::string slave_;
};

// Lets a fake stalled open go on when the test says so; shared with the opening thread,
// which may outlive the test's scope (an abandoned open).
struct Gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool open = false;
    void wait() {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [this] { return open; });
    }
    void release() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            open = true;
        }
        cv.notify_all();
    }
};

DriveCommand drive(const std::string& command) {
    DriveCommand c;
    c.command = command;
    c.user = "alice";
    c.received_us = mono_us();
    return c;
}

DriveCommand stop_cmd(const char* reason = "") {
    DriveCommand c = drive("stop");
    c.user.clear();
    c.reason = reason;
    return c;
}

size_t count_of(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

std::vector<std::string> split_lines(const std::string& bytes) {
    std::vector<std::string> lines;
    size_t at = 0;
    for (size_t end; (end = bytes.find("\r\n", at)) != std::string::npos; at = end + 2)
        lines.push_back(bytes.substr(at, end - at));
    EXPECT_EQ(at, bytes.size()) << "a line without its \\r\\n at the end";
    return lines;
}

// The process's threads by id: an earlier test's detached thread may still be ending (it
// signals its end before the kernel drops its task), and qemu-user has one of its own, so a
// test checks for threads it started, not for a count.
std::set<std::string> thread_ids() {
    std::set<std::string> ids;
    if (DIR* d = opendir("/proc/self/task")) {
        while (const dirent* e = readdir(d))
            if (e->d_name[0] != '.') ids.insert(e->d_name);
        closedir(d);
    }
    return ids;
}

// Threads now running that were not in `before`.
size_t threads_not_in(const std::set<std::string>& before) {
    size_t n = 0;
    for (const std::string& id : thread_ids()) n += before.count(id) ? 0 : 1;
    return n;
}

// A path the driver is given: a link the test points at a pty's slave, or at nothing (the
// adapter unplugged), so a reopen never lands on a pty some other process was given.
void point(const std::string& link, const std::string& target) {
    const std::string tmp = link + ".new";
    unlink(tmp.c_str());
    ASSERT_EQ(symlink(target.c_str(), tmp.c_str()), 0) << strerror(errno);
    ASSERT_EQ(rename(tmp.c_str(), link.c_str()), 0) << strerror(errno);
}

class SerialTest : public LoopTest {
  protected:
    SerialTest() : LoopTest(LogLevel::Debug) {}

    static SerialOptions fast() {
        SerialOptions o;
        o.reopen = {20, 100, 5000};
        o.summary_ms = 100;
        o.flush_ms = 5000;
        return o;
    }

    // Reads the master until `want` bytes came (or the loop's deadline passed): what came.
    std::string await_bytes(Pty& pty, const std::string& want, uint32_t timeout_ms = 5000) {
        std::string got;
        run_until(
            [&] {
                got += pty.read_now();
                return got.size() >= want.size();
            },
            timeout_ms);
        return got;
    }

    // Commands until the slave's output buffer is full and one is dropped.
    static void fill(SerialDriver& driver) {
        for (int i = 0; i < 1000000 && driver.stats().dropped == 0; ++i) driver.command(drive("F"));
        ASSERT_GT(driver.stats().dropped, 0u);
    }

    TempDir dir_{"robotd-serial"};
};

}  // namespace

TEST_F(SerialTest, NewPortGetsAStopThenLowerCasedCommandsAndTheDeadmanStop) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config config;
    config.serial.serial_device = pty.slave();
    config.robot.straight_delay = 0.05;
    SerialDriver driver(config.serial, loop_, log_, fast());
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000));
    EXPECT_EQ(driver.port_path(), pty.slave());
    EXPECT_EQ(await_bytes(pty, "stop\r\n"), "stop\r\n");  // before anything else

    {
        Motion motion(loop_, log_, driver, config);
        motion.command(drive("F"));
        // The dead-man's stop, and nothing of robotd's own in between.
        EXPECT_EQ(await_bytes(pty, "f\r\nstop\r\n"), "f\r\nstop\r\n");
        motion.command(drive("LED_ON"));  // not a motion: no stop follows
        EXPECT_EQ(await_bytes(pty, "led_on\r\n"), "led_on\r\n");
        run_for(120);  // longer than straight_delay: no stop comes for LED_ON
        EXPECT_EQ(pty.read_now(), "");
    }
    // Motion's exit stop.
    EXPECT_EQ(await_bytes(pty, "stop\r\n"), "stop\r\n");
    const DriverStats s = driver.stats();
    EXPECT_EQ(s.written, 4u);  // f, stop, led_on, stop: the new port's stop is robotd's own
    EXPECT_EQ(s.dropped, 0u);
    EXPECT_FALSE(s.stop_held);
}

TEST_F(SerialTest, PortIsSetRaw8N1AtTheRateWithoutFlowControl) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    // The test's own hold on the slave: it reads the settings back, and first makes them
    // everything the driver must undo (a line-editing, echoing, flow-controlled terminal).
    const int slave = open(pty.slave().c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    ASSERT_GE(slave, 0) << strerror(errno);
    termios t;
    ASSERT_EQ(tcgetattr(slave, &t), 0);
    t.c_lflag |= ICANON | ECHO | ISIG | IEXTEN;
    t.c_oflag |= OPOST | ONLCR;
    t.c_iflag |= ICRNL | IXON | IXOFF;
    t.c_cflag |= CSTOPB | CRTSCTS;
    t.c_cflag &= ~CLOCAL;
    cfsetispeed(&t, B9600);
    cfsetospeed(&t, B9600);
    ASSERT_EQ(tcsetattr(slave, TCSANOW, &t), 0);

    Config::Serial config;
    config.serial_device = pty.slave();
    config.baud_rate = 115200;
    SerialDriver driver(config, loop_, log_, fast());
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000));

    termios r;
    ASSERT_EQ(tcgetattr(slave, &r), 0);
    EXPECT_EQ(cfgetospeed(&r), speed_t(B115200));
    EXPECT_EQ(cfgetispeed(&r), speed_t(B115200));
    EXPECT_EQ(r.c_cflag & CSIZE, tcflag_t(CS8));
    EXPECT_EQ(r.c_cflag & (PARENB | CSTOPB | CRTSCTS), 0u);  // no parity, 1 stop bit, no RTS/CTS
    EXPECT_TRUE(r.c_cflag & CLOCAL);
    EXPECT_TRUE(r.c_cflag & CREAD);
    EXPECT_TRUE(r.c_cflag & HUPCL);
    EXPECT_EQ(r.c_lflag & (ICANON | ECHO | ISIG | IEXTEN), 0u);  // raw
    EXPECT_EQ(r.c_oflag & OPOST, 0u);                            // "\r\n" goes as it is
    EXPECT_EQ(r.c_iflag & (ICRNL | IXON | IXOFF | IXANY), 0u);
    EXPECT_EQ(r.c_cc[VMIN], 0);
    close(slave);
}

TEST_F(SerialTest, FullOutputBufferDropsMotionAndTheStopGoesOutFirst) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config::Serial config;
    config.serial_device = pty.slave();
    SerialDriver driver(config, loop_, log_, fast());
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000));
    // The board does not read: the pty's buffer fills.
    fill(driver);
    const uint64_t motions = driver.stats().written;
    driver.stop(stop_cmd());
    EXPECT_TRUE(driver.stats().stop_held);
    for (int i = 0; i < 5; ++i) driver.command(drive("B"));  // behind the stop: dropped
    driver.stop(stop_cmd());                                 // merges into the held one
    EXPECT_EQ(driver.stats().merged, 1u);
    EXPECT_EQ(driver.stats().written, motions);

    // The board reads again: the stop goes out on writability, before any later command.
    std::string got;
    ASSERT_TRUE(run_until(
        [&] {
            got += pty.read_now();
            return !driver.stats().stop_held;
        },
        10000));
    driver.command(drive("L"));
    run_until(
        [&] {
            got += pty.read_now();
            return got.size() >= 3 && got.compare(got.size() - 3, 3, "l\r\n") == 0;
        },
        5000);
    const std::vector<std::string> lines = split_lines(got);
    ASSERT_EQ(lines.size(), motions + 3) << "the new port's stop, the motions, stop, l";
    EXPECT_EQ(lines.front(), "stop");
    for (size_t i = 1; i <= motions; ++i) ASSERT_EQ(lines[i], "f") << i;
    EXPECT_EQ(lines[motions + 1], "stop");
    EXPECT_EQ(lines[motions + 2], "l");
    EXPECT_EQ(count_of(got, "b\r\n"), 0u);
    const DriverStats s = driver.stats();
    EXPECT_EQ(s.written, motions + 2);
    EXPECT_GE(s.dropped, 6u);
}

TEST_F(SerialTest, StoppedOutputDropsMotionAndHoldsTheStopUntilItResumes) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config::Serial config;
    config.serial_device = pty.slave();
    SerialDriver driver(config, loop_, log_, fast());
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000));
    EXPECT_EQ(await_bytes(pty, "stop\r\n"), "stop\r\n");
    // Output suspended (as by XOFF): every write takes nothing, none takes part of a line.
    const int slave = open(pty.slave().c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    ASSERT_GE(slave, 0) << strerror(errno);
    ASSERT_EQ(tcflow(slave, TCOOFF), 0);
    driver.command(drive("F"));
    EXPECT_EQ(driver.stats().dropped, 1u);
    driver.stop(stop_cmd());
    EXPECT_TRUE(driver.stats().stop_held);
    driver.command(drive("B"));
    EXPECT_EQ(driver.stats().dropped, 2u);
    run_for(50);
    EXPECT_EQ(pty.read_now(), "");
    EXPECT_TRUE(driver.stats().stop_held);

    ASSERT_EQ(tcflow(slave, TCOON), 0);
    ASSERT_TRUE(run_until([&] { return !driver.stats().stop_held; }, 5000));
    driver.command(drive("R"));
    EXPECT_EQ(await_bytes(pty, "stop\r\nr\r\n"), "stop\r\nr\r\n");
    EXPECT_EQ(driver.stats().written, 2u);
    close(slave);
}

TEST_F(SerialTest, HangupIsOneLineThenReopenedOnTheBackoffWithAStopFirst) {
    Pty first;
    ASSERT_TRUE(first.ok());
    const std::string link = dir_.file("ttyFAKE");
    dir_.file("ttyFAKE.new");
    point(link, first.slave());
    Config::Serial config;
    config.serial_device = link;
    SerialDriver driver(config, loop_, log_, fast());
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000));
    EXPECT_EQ(await_bytes(first, "stop\r\n"), "stop\r\n");

    StderrCapture log;
    point(link, dir_.path() + "/unplugged");
    first.close_master();
    // Seen without a write: the hangup reaches the loop through the port's watch.
    ASSERT_TRUE(run_until([&] { return !driver.port_open(); }, 5000)) << log.text();
    driver.stop(stop_cmd("deadman"));  // held for the port's return, said no more
    driver.command(drive("F"));        // dropped
    EXPECT_TRUE(driver.stats().stop_held);
    // Attempts on the backoff while the adapter is away (each a debug line only).
    ASSERT_TRUE(
        run_until([&] { return log.count("No such file or directory; next try in") >= 3; }, 10000))
        << log.text();

    Pty second;
    ASSERT_TRUE(second.ok());
    point(link, second.slave());
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 10000)) << log.text();
    EXPECT_EQ(driver.opens(), 2u);
    EXPECT_EQ(await_bytes(second, "stop\r\n"), "stop\r\n");  // first on the new port
    driver.command(drive("F"));
    EXPECT_EQ(await_bytes(second, "f\r\n"), "f\r\n");
    log.restore();

    const std::string text = log.text();
    EXPECT_EQ(count_of(text, " W serial: "), 2u) << text;  // the loss, and the dropped F
    EXPECT_EQ(count_of(text, "is gone (hung up: unplugged?): motors considered stopped"), 1u)
        << text;
    EXPECT_EQ(count_of(text, "command dropped (serial port not open)"), 1u) << text;
    EXPECT_EQ(count_of(text, "open again after"), 1u) << text;
    EXPECT_EQ(count_of(text, "held stop delivered after"), 1u) << text;
    EXPECT_GT(text.find("held stop delivered after"), text.find("open again after")) << text;
    EXPECT_EQ(count_of(text, " E serial: "), 0u) << text;
    const DriverStats s = driver.stats();
    EXPECT_FALSE(s.stop_held);
    EXPECT_EQ(s.written, 2u);  // the held stop (as the new port's first) and F
    EXPECT_EQ(s.dropped, 1u);
}

TEST_F(SerialTest, SerialNameIsMatchedAgainOnEachReopen) {
    FakeSysfs sys;
    sys.add_hub();
    sys.add_ftdi("ttyUSB0", "1-1", "FTDI", "FT232R USB UART", "A50285BI");
    TempDir dev("robotd-fake-dev");
    const std::string usb0 = dev.file("ttyUSB0"), usb1 = dev.file("ttyUSB1");
    dev.file("ttyUSB0.new");
    dev.file("ttyUSB1.new");
    Pty first;
    ASSERT_TRUE(first.ok());
    point(usb0, first.slave());

    Config::Serial config;
    config.serial_device = dev.path() + "/ttyACM9";  // not there: the match overrides it
    config.serial_name = "ft232r";
    SerialOptions options = fast();
    options.sysfs_root = sys.root();
    options.dev_dir = dev.path();
    StderrCapture log;
    SerialDriver driver(config, loop_, log_, options);
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000)) << log.text();
    EXPECT_EQ(driver.port_path(), usb0);
    EXPECT_EQ(await_bytes(first, "stop\r\n"), "stop\r\n");

    // Unplugged: gone from sysfs and /dev; it comes back as ttyUSB1.
    sys.unplug("ttyUSB0");
    point(usb0, dev.path() + "/unplugged");
    first.close_master();
    ASSERT_TRUE(run_until([&] { return !driver.port_open(); }, 5000)) << log.text();
    ASSERT_TRUE(run_until([&] { return log.count("next try in") >= 3; }, 10000)) << log.text();

    Pty second;
    ASSERT_TRUE(second.ok());
    point(usb1, second.slave());
    sys.add_ftdi("ttyUSB1", "1-1", "FTDI", "FT232R USB UART", "A50285BI");
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 10000)) << log.text();
    EXPECT_EQ(driver.port_path(), usb1);
    EXPECT_EQ(await_bytes(second, "stop\r\n"), "stop\r\n");
    log.restore();

    const std::string text = log.text();
    EXPECT_EQ(count_of(text,
                       "serial_name 'ft232r' matches ttyUSB0 (FTDI / FT232R USB UART / "
                       "A50285BI): using " +
                           usb0),
              1u)
        << text;
    // While it was away: said once, not once per attempt.
    EXPECT_EQ(count_of(text,
                       "serial_name 'ft232r' matches no USB serial device (seen: no USB "
                       "serial devices); using serial_device " +
                           config.serial_device),
              1u)
        << text;
    EXPECT_EQ(count_of(text, "serial_name 'ft232r' matches ttyUSB1"), 1u) << text;
}

TEST_F(SerialTest, SerialNameWithoutAMatchSaysWhatItSawAndUsesSerialDevice) {
    FakeSysfs sys;
    sys.add_hub();
    sys.add_ftdi("ttyUSB0", "1-1", "FTDI", "FT232R USB UART", "A50285BI");
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config::Serial config;
    config.serial_device = pty.slave();
    config.serial_name = "Arduino";
    SerialOptions options = fast();
    options.sysfs_root = sys.root();
    StderrCapture log;
    SerialDriver driver(config, loop_, log_, options);
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000)) << log.text();
    EXPECT_EQ(driver.port_path(), pty.slave());
    log.restore();
    EXPECT_EQ(log.count(" W serial: serial_name 'Arduino' matches no USB serial device (seen: "
                        "ttyUSB0 (FTDI / FT232R USB UART / A50285BI)); using serial_device " +
                        pty.slave()),
              1u)
        << log.text();
}

TEST_F(SerialTest, DestructionFlushesAHeldStop) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config::Serial config;
    config.serial_device = pty.slave();
    auto driver = std::make_unique<SerialDriver>(config, loop_, log_, fast());
    driver->start();
    ASSERT_TRUE(run_until([&] { return driver->port_open(); }, 5000));
    fill(*driver);
    driver->stop(stop_cmd("exit"));
    ASSERT_TRUE(driver->stats().stop_held);

    // The board starts reading only now, while the driver is being destroyed.
    std::string got;
    std::thread board([&] {
        const int64_t deadline = mono_us() + 10 * 1000000;
        while (count_of(got, "stop\r\n") < 2 && mono_us() < deadline) {
            pollfd p{pty.master(), POLLIN, 0};
            poll(&p, 1, 100);
            got += pty.read_now();
        }
    });
    StderrCapture log;
    driver.reset();
    board.join();
    log.restore();
    ASSERT_GE(got.size(), 6u);
    EXPECT_EQ(got.substr(got.size() - 6), "stop\r\n");
    EXPECT_EQ(count_of(got, "stop\r\n"), 2u);  // the new port's, and the held one
    EXPECT_EQ(log.count("held stop delivered after"), 1u) << log.text();
    EXPECT_EQ(log.count("as the driver goes"), 1u) << log.text();
}

TEST_F(SerialTest, DestructionGivesUpOnAHeldStopAfterFlushMs) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config::Serial config;
    config.serial_device = pty.slave();
    SerialOptions options = fast();
    options.flush_ms = 200;
    auto driver = std::make_unique<SerialDriver>(config, loop_, log_, options);
    driver->start();
    ASSERT_TRUE(run_until([&] { return driver->port_open(); }, 5000));
    fill(*driver);
    driver->stop(stop_cmd("exit"));
    StderrCapture log;
    const int64_t start = mono_us();
    driver.reset();  // nobody reads
    const int64_t took_ms = (mono_us() - start) / 1000;
    log.restore();
    EXPECT_GE(took_ms, 150);
    EXPECT_LT(took_ms, 5000);  // bounded: the loop is never held longer than flush_ms
    EXPECT_EQ(log.count("a held stop could not be delivered to " + pty.slave() + " within 200 ms"),
              1u)
        << log.text();
}

TEST_F(SerialTest, AStalledOpenNeverBlocksTheLoop) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config::Serial config;
    config.serial_device = pty.slave();
    SerialOptions options = fast();
    options.slow_open_ms = 50;
    auto gate = std::make_shared<Gate>();
    options.fake_stall = [gate] { gate->wait(); };
    StderrCapture log;
    SerialDriver driver(config, loop_, log_, options);
    driver.start();
    // The loop runs on (its timers fire) while the open is stuck in the "device".
    ASSERT_TRUE(run_until([&] { return log.count("has taken") == 1; }, 5000)) << log.text();
    EXPECT_TRUE(driver.opening());
    EXPECT_FALSE(driver.port_open());
    driver.command(drive("F"));
    driver.stop(stop_cmd("deadman"));
    EXPECT_TRUE(driver.stats().stop_held);
    EXPECT_EQ(driver.stats().dropped, 1u);

    gate->release();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000)) << log.text();
    EXPECT_EQ(await_bytes(pty, "stop\r\n"), "stop\r\n");
    EXPECT_FALSE(driver.stats().stop_held);
    EXPECT_EQ(driver.stats().written, 1u);  // the held stop, as the port's first line
    log.restore();
    EXPECT_EQ(log.count("the open of " + pty.slave() + " returned after"), 1u) << log.text();
}

TEST_F(SerialTest, DestructionLeavesAStuckOpenBehindWithinFlushMs) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    const std::set<std::string> threads_before = thread_ids();
    Config::Serial config;
    config.serial_device = pty.slave();
    SerialOptions options = fast();
    options.flush_ms = 200;
    auto gate = std::make_shared<Gate>();
    options.fake_stall = [gate] { gate->wait(); };
    auto driver = std::make_unique<SerialDriver>(config, loop_, log_, options);
    driver->start();
    ASSERT_TRUE(driver->opening());
    driver->stop(stop_cmd("exit"));
    StderrCapture log;
    const int64_t start = mono_us();
    driver.reset();
    const int64_t took_ms = (mono_us() - start) / 1000;
    log.restore();
    EXPECT_GE(took_ms, 150);  // it waited for the open, for the stop's sake
    EXPECT_LT(took_ms, 5000);
    EXPECT_EQ(log.count("has not returned after"), 1u) << log.text();
    EXPECT_EQ(log.count("the serial port is not open"), 1u) << log.text();

    // Once the "device" answers, the thread closes what it opened, writes nothing and ends.
    gate->release();
    const int64_t deadline = mono_us() + 10 * 1000000;
    while (threads_not_in(threads_before) > 0 && mono_us() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polls a condition
    EXPECT_EQ(threads_not_in(threads_before), 0u);
    run_for(20);  // no wake reaches the gone driver
    EXPECT_EQ(pty.read_now(), "");
}

TEST_F(SerialTest, CommandsThatCouldBreakTheLineProtocolAreDropped) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    Config::Serial config;
    config.serial_device = pty.slave();
    SerialDriver driver(config, loop_, log_, fast());
    driver.start();
    ASSERT_TRUE(run_until([&] { return driver.port_open(); }, 5000));
    EXPECT_EQ(await_bytes(pty, "stop\r\n"), "stop\r\n");
    driver.command(drive("F\r\nB"));
    driver.command(drive("x\x1b[2J"));
    driver.command(drive(""));
    driver.command(drive(std::string(200, 'f')));
    driver.pointer(PointerEvent{});  // nothing for pointer events
    driver.command(drive("Fwd"));
    EXPECT_EQ(await_bytes(pty, "fwd\r\n"), "fwd\r\n");
    EXPECT_EQ(driver.stats().dropped, 4u);
    EXPECT_EQ(driver.stats().written, 1u);
}

TEST_F(SerialTest, FactoryMakesTheDriverForBothNamesAndAMissingPortIsRetried) {
    for (const char* type : {"serial_board", "serial"}) {
        Config config;
        config.robot.type = type;
        config.serial.serial_device = dir_.path() + "/ttyACM0";  // nothing plugged in
        StderrCapture log;
        std::string error;
        std::unique_ptr<Driver> driver = make_driver(config, loop_, log_, &error);
        ASSERT_TRUE(driver) << error;
        EXPECT_STREQ(driver->name(), "serial_board");
        EXPECT_EQ(check_driver_config(config), "");
        ASSERT_TRUE(run_until([&] { return log.count("next try in") >= 1; }, 5000)) << log.text();
        driver.reset();
        log.restore();
        EXPECT_EQ(log.count(" W serial: serial port " + config.serial.serial_device +
                            ": No such file or directory (is the board plugged in?); trying "
                            "again (at least every 5 s)"),
                  1u)
            << log.text();
    }
}
