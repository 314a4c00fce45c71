#include "media/camera_controls.h"

#include <algorithm>
#include <array>

namespace robotd::media {

namespace {
// The controls Source::set_control() knows (V4L2's user-class CIDs of the same names).
constexpr std::array<std::string_view, 3> kControls{"brightness", "contrast", "saturation"};
}  // namespace

bool is_camera_control(std::string_view name) {
    return std::find(kControls.begin(), kControls.end(), name) != kControls.end();
}

std::string check_camera_control(std::string_view name, int percent) {
    if (!is_camera_control(name)) {
        // Bounded: the name may come from a chat message.
        const std::string shown(name.substr(0, 32));
        return "unknown camera control '" + shown + "' (brightness, contrast or saturation)";
    }
    if (percent < kControlMinPercent || percent > kControlMaxPercent) {
        return std::string(name) + " " + std::to_string(percent) + " is out of range " +
               std::to_string(kControlMinPercent) + ".." + std::to_string(kControlMaxPercent);
    }
    return {};
}

void CameraControls::set(const std::string& name, int percent) {
    for (auto& [n, p] : values_) {
        if (n == name) {
            p = percent;
            return;
        }
    }
    values_.emplace_back(name, percent);
}

}  // namespace robotd::media
