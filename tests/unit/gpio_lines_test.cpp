// The real libgpiod line API (1.6, or 2.x when built with ROBOTD_GPIOD_V2) where no chip
// answers to the name: a chip name, label, number or path that is not a GPIO chip is a clear
// error, never a crash. Real lines are exercised on the virtual board (tests/vm).
#include "hw/gpio_lines.h"

#include <gtest/gtest.h>

namespace robotd {
namespace {

const char kNoChip[] = "no GPIO chip named, labelled or at '";

TEST(GpioLines, AChipThatIsNotThereIsAClearErrorForOutputsAndInputs) {
    const auto api = libgpiod_api();
    for (const std::string chip : {"robotd-no-such-chip", "gpiochip987", "987"}) {
        std::string error;
        EXPECT_EQ(api->request_outputs(chip, {3, 4}, {0, 0}, &error), nullptr) << chip;
        EXPECT_EQ(error, kNoChip + chip + "' (see gpiodetect)") << chip;
        error.clear();
        int level = -1;
        EXPECT_EQ(api->request_input(chip, 5, {}, &level, &error), nullptr) << chip;
        EXPECT_EQ(error, kNoChip + chip + "' (see gpiodetect)") << chip;
        EXPECT_EQ(level, -1) << chip;
    }
}

TEST(GpioLines, ADevicePathThatIsNotAGpioChipIsAClearError) {
    std::string error;
    EXPECT_EQ(libgpiod_api()->request_outputs("/dev/null", {0}, {0}, &error), nullptr);
    EXPECT_EQ(error, std::string(kNoChip) + "/dev/null' (see gpiodetect)");
}

TEST(GpioLines, MismatchedLinesAndValuesAreRefusedBeforeAnyChipIsOpened) {
    std::string error;
    EXPECT_EQ(libgpiod_api()->request_outputs("robotd-no-such-chip", {1, 2}, {0}, &error), nullptr);
    EXPECT_NE(error.find("cannot request 2 lines at once"), std::string::npos) << error;
}

}  // namespace
}  // namespace robotd
