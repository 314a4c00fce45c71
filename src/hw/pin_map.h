// Pin maps: which GPIO chip line a board's BCM or BOARD (40-pin header) pin number is, read
// from board/<name>/pins (compiled in) or a file of the same format; auto-selected by model.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace robotd {

// A line of a GPIO chip; `chip` is a name (gpiochip0), a label or a /dev path.
struct GpioLine {
    std::string chip;
    unsigned line = 0;
    bool operator==(const GpioLine& o) const { return chip == o.chip && line == o.line; }
};

enum class PinNumbering { Bcm, Board };
const char* numbering_name(PinNumbering n);  // "BCM", "BOARD"

// Where auto-selection reads the board's model.
constexpr const char* kDeviceTreeModel = "/proc/device-tree/model";

// The text format, one entry a line, `#` starting a comment:
//   bcm <N> <chip> <line>     board <N> <chip> <line>     model <text>
// A `model` line selects the map when the device tree's model contains <text>.
class PinMap {
  public:
    // False with `error` ("name:line: ...") on a malformed line, a pin given twice, or no pins.
    static bool parse(std::string_view text, const std::string& name, PinMap* map,
                      std::string* error);

    const std::string& name() const { return name_; }
    bool matches_model(std::string_view model) const;
    // The line of `pin`; false with an error naming the pin, the numbering and the map.
    bool find(PinNumbering numbering, int pin, GpioLine* line, std::string* error) const;

  private:
    std::string name_;
    std::vector<std::string> models_;
    std::map<int, GpioLine> bcm_, board_;
};

// The maps of board/*/pins, built into robotd (a generated source holds their text).
struct BuiltinPinMap {
    std::string_view name;  // the directory: rpi4, qemu-aarch64-virt, ...
    std::string_view text;
};
extern const BuiltinPinMap kBuiltinPinMaps[];
extern const size_t kBuiltinPinMapCount;
std::string builtin_pin_map_names();  // "qemu-aarch64-virt, rpi3, ..."

// The map `setting` names: "auto" (the built-in map whose model line matches the text of
// `model_path`), a built-in name, or a file path (with a '/'). Reads a small file at most.
bool load_pin_map(const std::string& setting, const std::string& model_path, PinMap* map,
                  std::string* error);

// For --check-config, where the board may not be the robot's: false (and nothing loaded, no
// error) when `setting` is auto and `model_path` cannot be read (not a device-tree board).
bool pin_map_knowable(const std::string& setting, const std::string& model_path);

}  // namespace robotd
