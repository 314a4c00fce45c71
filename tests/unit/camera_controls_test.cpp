// The camera controls the owner may set: which names and values pass, and the store of wanted
// values that every newly opened camera gets.
#include "media/camera_controls.h"

#include <gtest/gtest.h>

#include <string>

using namespace robotd::media;

namespace {
bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}
}  // namespace

TEST(CameraControls, KnownNamesOnly) {
    EXPECT_TRUE(is_camera_control("brightness"));
    EXPECT_TRUE(is_camera_control("contrast"));
    EXPECT_TRUE(is_camera_control("saturation"));
    EXPECT_FALSE(is_camera_control("Brightness"));  // chat commands arrive lower-cased
    EXPECT_FALSE(is_camera_control("hue"));
    EXPECT_FALSE(is_camera_control(""));
}

TEST(CameraControls, CheckNamesTheProblem) {
    EXPECT_EQ(check_camera_control("brightness", 0), "");
    EXPECT_EQ(check_camera_control("contrast", 100), "");
    EXPECT_EQ(check_camera_control("saturation", 37), "");
    const std::string unknown = check_camera_control("hue", 50);
    EXPECT_TRUE(has(unknown, "unknown camera control 'hue'")) << unknown;
    EXPECT_TRUE(has(unknown, "brightness, contrast or saturation")) << unknown;
    EXPECT_EQ(check_camera_control("brightness", 101), "brightness 101 is out of range 0..100");
    EXPECT_EQ(check_camera_control("contrast", -1), "contrast -1 is out of range 0..100");
    // A long name is cut short in the message.
    EXPECT_LT(check_camera_control(std::string(500, 'x'), 50).size(), 120u);
}

TEST(CameraControls, StoreKeepsTheNewestValueInFirstSetOrder) {
    CameraControls c;
    EXPECT_TRUE(c.values().empty());
    c.set("contrast", 40);
    c.set("brightness", 60);
    c.set("contrast", 45);
    // The newest contrast, brightness, and no saturation, in the order first set.
    const std::vector<std::pair<std::string, int>> want{{"contrast", 45}, {"brightness", 60}};
    EXPECT_EQ(c.values(), want);
    CameraControls copy = c;  // what a new video stream starts with
    c.set("saturation", 0);
    EXPECT_EQ(copy.values().size(), 2u);
    EXPECT_EQ(c.values().size(), 3u);
}
