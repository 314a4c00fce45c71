// The GPIO device: one request per chip carrying the safe levels, sets per chip, a failed set
// reported as an error (the worker's loss), a failed request letting go of the others.
// Against the recording fake line API (fake_gpio.h).
#include "hw/gpio_device.h"

#include <gtest/gtest.h>

#include "fake_gpio.h"

namespace robotd {
namespace {

using Calls = std::vector<std::string>;

class GpioDeviceTest : public ::testing::Test {
  protected:
    std::shared_ptr<FakeGpio> api_ = std::make_shared<FakeGpio>();
    // Outputs 0..3: the PL061's lines 0 and 1, then robotd-sim's 16, then the PL061's 3.
    GpioDevice device_{
        api_,
        {{"9030000.pl061", 0}, {"9030000.pl061", 1}, {"robotd-sim", 16}, {"9030000.pl061", 3}}};
};

TEST_F(GpioDeviceTest, OneRequestPerChipAtTheSafeLevelsThenSetsOnlyTheChipsThatChange) {
    EXPECT_EQ(device_.describe(), "GPIO 9030000.pl061 lines 0,1,3 + robotd-sim line 16");
    std::string error;
    ASSERT_TRUE(device_.open({0, 1, 0, 0}, &error)) << error;
    EXPECT_TRUE(device_.apply({1, 1, 0, 1}, &error));  // robotd-sim unchanged: not touched
    EXPECT_TRUE(device_.apply({1, 1, 1, 1}, &error));  // only robotd-sim changes
    EXPECT_TRUE(device_.apply({0, 1, 0, 0}, &error));
    device_.close();
    EXPECT_EQ(api_->log->snapshot(),
              (Calls{"request 9030000.pl061 0,1,3 = 0,1,0", "request robotd-sim 16 = 0",
                     "set 9030000.pl061 1,1,1", "set robotd-sim 1", "set 9030000.pl061 0,1,0",
                     "set robotd-sim 0", "release 9030000.pl061", "release robotd-sim"}));
}

TEST_F(GpioDeviceTest, AFailedSetIsAnErrorAndAReopenStartsSafeAgain) {
    std::string error;
    ASSERT_TRUE(device_.open({0, 0, 0, 0}, &error));
    api_->log->fail_sets = 1;
    EXPECT_FALSE(device_.apply({1, 0, 0, 0}, &error));
    EXPECT_EQ(error, "9030000.pl061: No such device");
    device_.close();  // what the worker does after a failed apply
    ASSERT_TRUE(device_.open({0, 0, 0, 0}, &error));
    EXPECT_EQ(api_->log->snapshot(),
              (Calls{"request 9030000.pl061 0,1,3 = 0,0,0", "request robotd-sim 16 = 0",
                     "set failed 9030000.pl061", "release 9030000.pl061", "release robotd-sim",
                     "request 9030000.pl061 0,1,3 = 0,0,0", "request robotd-sim 16 = 0"}));
}

TEST_F(GpioDeviceTest, AChipThatFailsLeavesNoOtherChipDrivenWhenItsLinesAreReleased) {
    // F drives a line on each chip; then the PL061 fails (its set, even the stop's): the
    // kernel keeps a released line at its last level, so robotd-sim's line must be set safe
    // before it is let go, or its motor runs on while reopens fail at the PL061.
    std::string error;
    ASSERT_TRUE(device_.open({0, 0, 0, 0}, &error));
    ASSERT_TRUE(device_.apply({1, 0, 1, 0}, &error));
    api_->log->fail_sets = 1;
    EXPECT_FALSE(device_.apply({0, 0, 0, 0}, &error));
    device_.close();  // what the worker does after a failed apply
    EXPECT_EQ(api_->log->snapshot(),
              (Calls{"request 9030000.pl061 0,1,3 = 0,0,0", "request robotd-sim 16 = 0",
                     "set 9030000.pl061 1,0,0", "set robotd-sim 1", "set failed 9030000.pl061",
                     "release 9030000.pl061", "set robotd-sim 0", "release robotd-sim"}));
}

TEST_F(GpioDeviceTest, AMissingChipFailsTheOpenAndReleasesTheOthers) {
    api_->log->missing.insert("robotd-sim");
    std::string error;
    EXPECT_FALSE(device_.open({0, 0, 0, 0}, &error));
    EXPECT_EQ(error, "no GPIO chip named, labelled or at 'robotd-sim'");
    EXPECT_EQ(api_->log->snapshot(), (Calls{"request 9030000.pl061 0,1,3 = 0,0,0",
                                            "request failed robotd-sim", "release 9030000.pl061"}));
    EXPECT_FALSE(device_.apply({1, 0, 0, 0}, &error));  // nothing is open
}

}  // namespace
}  // namespace robotd
