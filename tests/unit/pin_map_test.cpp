// Pin maps: the built-in boards' BCM and BOARD numbers, auto-selection from a device-tree
// model file, files of the same format, and errors that name the pin, numbering and map.
#include "hw/pin_map.h"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.h"

namespace robotd {
namespace {

GpioLine line_of(const PinMap& map, PinNumbering n, int pin) {
    GpioLine line;
    std::string error;
    EXPECT_TRUE(map.find(n, pin, &line, &error)) << error;
    return line;
}

PinMap builtin(const std::string& name) {
    PinMap map;
    std::string error;
    EXPECT_TRUE(load_pin_map(name, "/nonexistent", &map, &error)) << error;
    return map;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

TEST(PinMap, EveryBoardOfTheTreeIsBuiltInAndParses) {
    EXPECT_EQ(builtin_pin_map_names(), "qemu-aarch64-virt, rpi3, rpi4, rpi5, rpizero2w");
    for (size_t i = 0; i < kBuiltinPinMapCount; ++i) {
        PinMap map;
        std::string error;
        EXPECT_TRUE(PinMap::parse(kBuiltinPinMaps[i].text, std::string(kBuiltinPinMaps[i].name),
                                  &map, &error))
            << error;
    }
}

TEST(PinMap, RaspberryPiBcmIsTheLineAndBoardFollowsTheHeader) {
    const PinMap rpi4 = builtin("rpi4");
    EXPECT_EQ(line_of(rpi4, PinNumbering::Bcm, 17), (GpioLine{"pinctrl-bcm2711", 17}));
    EXPECT_EQ(line_of(rpi4, PinNumbering::Bcm, 0), (GpioLine{"pinctrl-bcm2711", 0}));
    // The header: physical pin 11 is GPIO 17, 12 is 18, 15 is 22, 16 is 23, 40 is 21.
    EXPECT_EQ(line_of(rpi4, PinNumbering::Board, 11), (GpioLine{"pinctrl-bcm2711", 17}));
    EXPECT_EQ(line_of(rpi4, PinNumbering::Board, 12), (GpioLine{"pinctrl-bcm2711", 18}));
    EXPECT_EQ(line_of(rpi4, PinNumbering::Board, 15), (GpioLine{"pinctrl-bcm2711", 22}));
    EXPECT_EQ(line_of(rpi4, PinNumbering::Board, 16), (GpioLine{"pinctrl-bcm2711", 23}));
    EXPECT_EQ(line_of(rpi4, PinNumbering::Board, 40), (GpioLine{"pinctrl-bcm2711", 21}));
    EXPECT_EQ(line_of(rpi4, PinNumbering::Board, 3), (GpioLine{"pinctrl-bcm2711", 2}));
    for (const char* name : {"rpi3", "rpizero2w"}) {
        const PinMap m = builtin(name);
        EXPECT_EQ(line_of(m, PinNumbering::Bcm, 27), (GpioLine{"pinctrl-bcm2835", 27})) << name;
        EXPECT_EQ(line_of(m, PinNumbering::Board, 37), (GpioLine{"pinctrl-bcm2835", 26})) << name;
    }
    EXPECT_EQ(line_of(builtin("rpi5"), PinNumbering::Board, 7), (GpioLine{"pinctrl-rp1", 4}));
}

TEST(PinMap, TheVirtualBoardSplitsItsPinsOverThePl061AndTheSimulatedChip) {
    const PinMap virt = builtin("qemu-aarch64-virt");
    const int on_pl061[] = {17, 18, 22, 23, 24, 27, 5, 6};
    for (unsigned i = 0; i < 8; ++i)
        EXPECT_EQ(line_of(virt, PinNumbering::Bcm, on_pl061[i]), (GpioLine{"9030000.pl061", i}));
    EXPECT_EQ(line_of(virt, PinNumbering::Bcm, 16), (GpioLine{"robotd-sim", 16}));
    EXPECT_EQ(line_of(virt, PinNumbering::Bcm, 0), (GpioLine{"robotd-sim", 0}));
    // The reference sample's l298n pins are the PL061's first four lines.
    EXPECT_EQ(line_of(virt, PinNumbering::Board, 11), (GpioLine{"9030000.pl061", 0}));
    EXPECT_EQ(line_of(virt, PinNumbering::Board, 12), (GpioLine{"9030000.pl061", 1}));
    EXPECT_EQ(line_of(virt, PinNumbering::Board, 15), (GpioLine{"9030000.pl061", 2}));
    EXPECT_EQ(line_of(virt, PinNumbering::Board, 16), (GpioLine{"9030000.pl061", 3}));
    EXPECT_EQ(line_of(virt, PinNumbering::Board, 36), (GpioLine{"robotd-sim", 16}));
}

TEST(PinMap, AnUnknownPinNamesThePinTheNumberingAndTheMap) {
    const PinMap rpi4 = builtin("rpi4");
    GpioLine line;
    std::string error;
    EXPECT_FALSE(rpi4.find(PinNumbering::Board, 6, &line, &error));  // a ground pin
    EXPECT_EQ(error.find("BOARD pin 6 is not a GPIO in pin map rpi4 (its BOARD pins: 3,5,7,"), 0u)
        << error;
    EXPECT_FALSE(rpi4.find(PinNumbering::Bcm, 28, &line, &error));  // not on the header
    EXPECT_EQ(error.find("BCM pin 28 is not a GPIO in pin map rpi4"), 0u) << error;
}

TEST(PinMap, AutoPicksTheBoardWhoseModelTheDeviceTreeNames) {
    TempDir dir;
    const std::string model = dir.file("model");
    const struct {
        std::string text;
        std::string map;
    } cases[] = {{std::string("Raspberry Pi 4 Model B Rev 1.4") + '\0', "rpi4"},
                 {std::string("Raspberry Pi 3 Model B Plus Rev 1.3") + '\0', "rpi3"},
                 {std::string("Raspberry Pi Zero 2 W Rev 1.0") + '\0', "rpizero2w"},
                 {std::string("Raspberry Pi 5 Model B Rev 1.0") + '\0', "rpi5"},
                 {std::string("linux,dummy-virt") + '\0', "qemu-aarch64-virt"}};
    for (const auto& c : cases) {
        write_file(model, c.text);
        PinMap map;
        std::string error;
        ASSERT_TRUE(load_pin_map("auto", model, &map, &error)) << error;
        EXPECT_EQ(map.name(), c.map);
    }
    write_file(model, std::string("Pine64 RockPro64 v2.1") + '\0');
    PinMap map;
    std::string error;
    EXPECT_FALSE(load_pin_map("auto", model, &map, &error));
    EXPECT_NE(error.find("no built-in pin map for this board ('Pine64 RockPro64 v2.1')"),
              std::string::npos)
        << error;
    EXPECT_NE(error.find("set [gpio] pin_map to one of qemu-aarch64-virt, rpi3"), std::string::npos)
        << error;
    EXPECT_FALSE(load_pin_map("auto", dir.path() + "/none", &map, &error));
    EXPECT_NE(error.find("cannot read the board's model"), std::string::npos) << error;
    EXPECT_FALSE(pin_map_knowable("auto", dir.path() + "/none"));
    EXPECT_TRUE(pin_map_knowable("auto", model));
    EXPECT_TRUE(pin_map_knowable("rpi4", dir.path() + "/none"));
}

TEST(PinMap, AFileInTheSameFormatAndItsErrors) {
    TempDir dir;
    const std::string path = dir.file("pins");
    write_file(
        path,
        "# my board\nmodel Acme Bot\n  bcm 4 gpiochip2 7   # the LED\nboard 7 /dev/gpiochip2 "
        "7\n");
    PinMap map;
    std::string error;
    ASSERT_TRUE(load_pin_map(path, "/nonexistent", &map, &error)) << error;
    EXPECT_EQ(line_of(map, PinNumbering::Bcm, 4), (GpioLine{"gpiochip2", 7}));
    EXPECT_EQ(line_of(map, PinNumbering::Board, 7), (GpioLine{"/dev/gpiochip2", 7}));
    EXPECT_TRUE(map.matches_model("The Acme Bot rev 2"));
    EXPECT_FALSE(map.matches_model("Acme"));

    EXPECT_FALSE(PinMap::parse("bcm 4 chip 1\nbcm 4 chip 2\n", "x", &map, &error));
    EXPECT_EQ(error, "x:2: bcm pin 4 is mapped twice");
    EXPECT_FALSE(PinMap::parse("\nbcm four chip 1\n", "x", &map, &error));
    EXPECT_EQ(error, "x:2: expected 'bcm PIN CHIP LINE', 'board PIN CHIP LINE' or 'model TEXT'");
    EXPECT_FALSE(PinMap::parse("bcm 4 chip\n", "x", &map, &error));
    EXPECT_EQ(error.find("x:1: expected"), 0u);
    EXPECT_FALSE(PinMap::parse("model Something\n", "x", &map, &error));
    EXPECT_EQ(error, "x: maps no pins");
    EXPECT_FALSE(load_pin_map("rpi9", "/nonexistent", &map, &error));
    EXPECT_NE(error.find("pin_map 'rpi9' is not a built-in board"), std::string::npos) << error;
    EXPECT_FALSE(load_pin_map(dir.path() + "/missing", "/nonexistent", &map, &error));
    EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

}  // namespace
}  // namespace robotd
