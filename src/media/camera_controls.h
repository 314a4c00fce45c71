// The camera controls the owner may set (brightness, contrast, saturation, each as 0..100 %
// of the control's range) and the values wanted, kept so that every camera opened later (a
// replugged one, video turned on again) gets them too. Pure; callers guard concurrent use.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace robotd::media {

constexpr int kControlMinPercent = 0;
constexpr int kControlMaxPercent = 100;

bool is_camera_control(std::string_view name);  // brightness, contrast or saturation
// Empty when `name` is a camera control and `percent` is in 0..100; else one line saying why.
std::string check_camera_control(std::string_view name, int percent);

class CameraControls {
  public:
    // Records the wanted value, replacing an earlier one for the same control; controls keep
    // the order they were first set in, so they are re-applied as the owner gave them.
    // Does not check: callers check_camera_control() first.
    void set(const std::string& name, int percent);
    const std::vector<std::pair<std::string, int>>& values() const { return values_; }

  private:
    std::vector<std::pair<std::string, int>> values_;  // three at most
};

}  // namespace robotd::media
