// The hardware watchdog feeder against a fake device: a regular file stands in for
// /dev/watchdog (no watchdog driver such as softdog can be loaded in a container), so the
// test reads back what robotd wrote: the keep-alive cadence and the magic 'V' on a clean close.
#include "hw/watchdog.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "loop_harness.h"

namespace robotd {
namespace {

class HwWatchdogTest : public LoopTest {
  protected:
    HwWatchdogTest() {
        char tmpl[] = "/tmp/robotd-watchdog-XXXXXX";
        dir_ = mkdtemp(tmpl);
        fake_ = dir_ + "/fake-watchdog";
        std::ofstream(fake_).flush();  // the fake must exist: robotd never creates a device
    }
    ~HwWatchdogTest() override {
        unlink(fake_.c_str());
        rmdir(dir_.c_str());
    }
    std::string written() const {
        std::ifstream in(fake_, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    std::string dir_, fake_;
};

TEST_F(HwWatchdogTest, FedFromTheLoopEveryThirdOfTheTimeoutThenTheMagicCloseOnACleanStop) {
    auto dog = std::make_unique<HwWatchdog>(loop_);
    // A file takes no WDIOC_SETTIMEOUT: robotd says so and feeds as configured.
    ASSERT_TRUE(dog->open(fake_, 3));
    EXPECT_EQ(dog->timeout_s(), 3);
    EXPECT_EQ(dog->feed_interval_ms(), 1000u);
    EXPECT_EQ(written(), "") << "nothing is written before the loop runs";
    dog->start();
    run_for(2500);
    // At 0, 1 and 2 s: 3 at most (a timer is never early), 2 even on a loaded machine.
    const std::string fed = written();
    EXPECT_GE(fed.size(), 2u);
    EXPECT_LE(fed.size(), 3u);
    EXPECT_EQ(dog->feeds(), fed.size());
    // A keep-alive is never 'V': a robotd killed after one must still get the board reset.
    EXPECT_EQ(fed.find('V'), std::string::npos) << fed;
    dog.reset();
    const std::string all = written();
    ASSERT_EQ(all.size(), fed.size() + 1);
    EXPECT_EQ(all.back(), 'V');
}

TEST_F(HwWatchdogTest, AShortTimeoutIsFedOftenEnough) {
    HwWatchdog dog(loop_);
    ASSERT_TRUE(dog.open(fake_, 2));
    EXPECT_EQ(dog.feed_interval_ms(), 666u);
}

TEST_F(HwWatchdogTest, ADeviceThatCannotBeOpenedLeavesRobotdRunningWithoutIt) {
    auto dog = std::make_unique<HwWatchdog>(loop_);
    EXPECT_FALSE(dog->open(dir_ + "/no-such-watchdog", 15));
    EXPECT_FALSE(dog->is_open());
    dog->start();  // does nothing
    run_for(100);
    EXPECT_EQ(dog->feeds(), 0u);
    dog.reset();  // no magic close on nothing
    struct stat st;
    EXPECT_NE(stat((dir_ + "/no-such-watchdog").c_str(), &st), 0) << "never created";
}

TEST_F(HwWatchdogTest, ADeviceThatIsNeverStartedStillGetsTheMagicClose) {
    // daemon.start() failed after the open: the exit is clean, the board must not reset.
    {
        HwWatchdog dog(loop_);
        ASSERT_TRUE(dog.open(fake_, 15));
    }
    EXPECT_EQ(written(), "V");
}

}  // namespace
}  // namespace robotd
