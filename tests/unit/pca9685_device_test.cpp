// The PCA9685 device on the recording fake bus (pca9685_fake_bus.h): the set-up's exact
// register writes and prescale, channel encodings, only changed channels written, the order
// that never drives a bridge both ways, and what is left safe when the bus stops answering.
#include "hw/pca9685.h"

#include <gtest/gtest.h>

#include "pca9685_fake_bus.h"

namespace robotd {
namespace {

using Strings = std::vector<std::string>;

Strings concat(std::initializer_list<Strings> parts) {
    Strings out;
    for (const Strings& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

TEST(Pca9685, PrescaleAsTheDatasheetAndAdafruitCompute) {
    EXPECT_EQ(pca9685::prescale_for(60), 101);  // 25 MHz / (4096 * 60) = 101.7 -> 102 - 1
    EXPECT_EQ(pca9685::prescale_for(50), 121);
    EXPECT_EQ(pca9685::prescale_for(1600), 3);  // Adafruit's motor HAT
    EXPECT_EQ(pca9685::prescale_for(1000), 5);
    EXPECT_EQ(pca9685::prescale_for(24), 253);
    EXPECT_EQ(pca9685::prescale_for(1526), 3);
}

TEST(Pca9685, OpenSetsTheChipUpAsleepThenWakesItWithEveryChannelSafe) {
    auto bus = std::make_shared<BusScript>();
    Pca9685Device dev({0, 1, 2}, 60, "PCA9685 at 0x40 on i2c-1", fake_bus_opener(bus));
    std::string error;
    ASSERT_TRUE(dev.open({335, 400, 0}, &error)) << error;
    // MODE1 sleep (0x11, ALLCALL kept), PRESCALE 101 (0x65) read back, MODE2 totem pole,
    // channels safe while asleep, MODE1 awake with auto-increment, then restart.
    EXPECT_EQ(bus->snapshot(), concat({{"open", "w 00=11", "w fe=65", "r fe", "w 01=04"},
                                       {"w 06=00", "w 07=00", "w 08=4f", "w 09=01"},
                                       {"w 0a=00", "w 0b=00", "w 0c=90", "w 0d=01"},
                                       {"w 11=10", "w 0e=00", "w 0f=00", "w 10=00"},
                                       {"w 00=21", "w 00=a1"}}));
    EXPECT_EQ(bus->channels({0, 1, 2}), (std::vector<int32_t>{335, 400, 0}));
    EXPECT_EQ(dev.describe(), "PCA9685 at 0x40 on i2c-1");
}

TEST(Pca9685, ThePrescaleOfTheMotorHat) {
    auto bus = std::make_shared<BusScript>();
    Pca9685Device dev({8}, 1600, "hat", fake_bus_opener(bus));
    std::string error;
    ASSERT_TRUE(dev.open({0}, &error)) << error;
    EXPECT_EQ(bus->snapshot(), init_writes(3, {8}, {0}));
    EXPECT_EQ(bus->regs[pca9685::kPrescale], 3);
    EXPECT_EQ(bus->regs[pca9685::kMode1], 0xA1);
    EXPECT_EQ(bus->regs[pca9685::kMode2], 0x04);
}

TEST(Pca9685, OnlyChangedChannelsAreWrittenThoseGoingOffFirst) {
    auto bus = std::make_shared<BusScript>();
    Pca9685Device dev({8, 10, 9}, 1600, "hat", fake_bus_opener(bus));
    std::string error;
    ASSERT_TRUE(dev.open({0, 0, 0}, &error));
    const size_t set_up = bus->size();
    ASSERT_TRUE(dev.apply({4080, 4096, 0}, &error));  // forward: IN1 on
    ASSERT_TRUE(dev.apply({4080, 0, 4096}, &error));  // backward: IN1 off before IN2 on
    const Strings log = bus->snapshot();
    EXPECT_EQ(Strings(log.begin() + set_up, log.end()),
              concat({channel_writes(8, 4080), channel_writes(10, 4096), channel_writes(10, 0),
                      channel_writes(9, 4096)}));
    EXPECT_EQ(bus->channels({8, 10, 9}), (std::vector<int32_t>{4080, 0, 4096}));
    // Always-off is written first: the output stops at the first byte.
    EXPECT_EQ(channel_writes(10, 0).front(), "w 31=10");  // 0x06 + 4 * 10 + 3
}

TEST(Pca9685, CloseLeavesEveryChannelSafe) {
    auto bus = std::make_shared<BusScript>();
    Pca9685Device dev({0, 1}, 60, "pwm", fake_bus_opener(bus));
    std::string error;
    ASSERT_TRUE(dev.open({335, 400}, &error));
    ASSERT_TRUE(dev.apply({445, 400}, &error));
    dev.close();
    EXPECT_EQ(bus->channels({0, 1}), (std::vector<int32_t>{335, 400}));
    const Strings log = bus->snapshot();
    EXPECT_EQ(Strings(log.end() - 4, log.end()), channel_writes(0, 335));  // 1 was safe already
}

TEST(Pca9685, ABusThatStopsAnsweringFailsTheApplyAndCloseTriesSafeOnce) {
    auto bus = std::make_shared<BusScript>();
    Pca9685Device dev({8, 10}, 1600, "hat", fake_bus_opener(bus));
    std::string error;
    ASSERT_TRUE(dev.open({0, 0}, &error));
    {
        std::lock_guard<std::mutex> l(bus->m);
        bus->writes_before_failure = 2;
        bus->failing_writes = 100;
    }
    EXPECT_FALSE(dev.apply({4080, 4096}, &error));
    EXPECT_EQ(error, "no answer from 0x60 on /dev/i2c-1 (Remote I/O error)");
    const size_t before_close = bus->size();
    dev.close();
    // Channel 8 is half-written (0x26, 0x27 taken, 0x28 not): close tries to make it safe,
    // always-off first (0x29); the bus does not answer, so it stops there.
    const Strings log = bus->snapshot();
    EXPECT_EQ(Strings(log.begin() + before_close, log.end()), (Strings{"w 29 failed"}));
    // The next open sets the chip up again from the start (a power cycle lost PRESCALE).
    {
        std::lock_guard<std::mutex> l(bus->m);
        bus->failing_writes = 0;
    }
    const size_t before_open = bus->size();
    ASSERT_TRUE(dev.open({0, 0}, &error)) << error;
    const Strings reopened = bus->snapshot();
    EXPECT_EQ(Strings(reopened.begin() + before_open, reopened.end()),
              init_writes(3, {8, 10}, {0, 0}));
}

TEST(Pca9685, OpenFailsCleanlyAndIsTriedAgainFromTheStart) {
    auto bus = std::make_shared<BusScript>();
    bus->fail_opens = 1;
    Pca9685Device dev({0}, 60, "pwm", fake_bus_opener(bus));
    std::string error;
    EXPECT_FALSE(dev.open({335}, &error));
    EXPECT_EQ(error, "/dev/i2c-1: No such file or directory");
    bus->writes_before_failure = 1;  // the chip stops answering after MODE1
    bus->failing_writes = 1;
    EXPECT_FALSE(dev.open({335}, &error));
    EXPECT_FALSE(dev.apply({445}, &error));  // not open: nothing written
    EXPECT_EQ(error, "not open");
    const size_t before = bus->size();
    ASSERT_TRUE(dev.open({335}, &error)) << error;
    const Strings opened = bus->snapshot();
    EXPECT_EQ(Strings(opened.begin() + before, opened.end()), init_writes(101, {0}, {335}));
    EXPECT_EQ(bus->opens, 3);
}

TEST(Pca9685, AnotherChipAtTheAddressIsNotDriven) {
    auto bus = std::make_shared<BusScript>();
    bus->prescale_kept = false;
    Pca9685Device dev({0}, 60, "pwm", fake_bus_opener(bus));
    std::string error;
    EXPECT_FALSE(dev.open({335}, &error));
    EXPECT_EQ(error,
              "the chip does not keep its PRESCALE (wrote 0x65, read 0x00): is it a PCA9685?");
    EXPECT_EQ(bus->snapshot(), (Strings{"open", "w 00=11", "w fe=65", "r fe"}));
}

}  // namespace
}  // namespace robotd
