#include "hw/gpio_device.h"

namespace robotd {

GpioDevice::GpioDevice(std::shared_ptr<GpioApi> api, std::vector<GpioLine> lines)
    : api_(std::move(api)) {
    for (size_t i = 0; i < lines.size(); ++i) {
        auto chip = chips_.begin();
        while (chip != chips_.end() && chip->name != lines[i].chip) ++chip;
        if (chip == chips_.end()) chip = chips_.insert(chips_.end(), Chip{lines[i].chip});
        chip->lines.push_back(lines[i].line);
        chip->outputs.push_back(i);
    }
    describe_ = "GPIO";
    for (const Chip& c : chips_) {
        describe_ += (&c == &chips_.front() ? " " : " + ") + c.name +
                     (c.lines.size() == 1 ? " line " : " lines ");
        for (size_t i = 0; i < c.lines.size(); ++i)
            describe_ += (i ? "," : "") + std::to_string(c.lines[i]);
    }
}

GpioDevice::~GpioDevice() = default;

std::vector<int> GpioDevice::levels_of(const Chip& chip, const DeviceWorker::Outputs& out) const {
    std::vector<int> levels;
    levels.reserve(chip.outputs.size());
    for (size_t i : chip.outputs) levels.push_back(i < out.size() && out[i] != 0 ? 1 : 0);
    return levels;
}

bool GpioDevice::open(const DeviceWorker::Outputs& safe, std::string* error) {
    close();
    safe_ = safe;
    for (Chip& c : chips_) {
        // The request itself sets the safe levels: a line left high by a killed robotd is
        // low again the moment it is ours.
        c.levels = levels_of(c, safe);
        c.request = api_->request_outputs(c.name, c.lines, c.levels, error);
        if (!c.request) {
            close();
            return false;
        }
    }
    return true;
}

bool GpioDevice::apply(const DeviceWorker::Outputs& out, std::string* error) {
    for (Chip& c : chips_) {
        std::vector<int> levels = levels_of(c, out);
        if (!c.request) {
            *error = c.name + ": not open";
            return false;
        }
        if (levels == c.levels) continue;  // one ioctl less on the other chips
        if (!c.request->set(levels, error)) {
            c.request.reset();  // no good any more; close() sets the other chips safe
            return false;
        }
        c.levels = std::move(levels);
    }
    return true;
}

void GpioDevice::close() {
    for (Chip& c : chips_) {
        if (!c.request) continue;
        std::vector<int> safe = levels_of(c, safe_);
        std::string error;  // best effort: the chip may be going too
        if (safe != c.levels) c.request->set(safe, &error);
        c.request.reset();
    }
}

}  // namespace robotd
