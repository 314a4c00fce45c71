#include "hw/pin_map.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/text.h"

namespace robotd {

namespace {

// A pin map is a few kilobytes: the cap keeps a mistaken path from being read without end.
constexpr size_t kMaxPinMapFile = 64 * 1024;

std::vector<std::string_view> words_of(std::string_view text) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        const size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
        if (i > start) out.push_back(text.substr(start, i - start));
    }
    return out;
}

bool number(std::string_view text, long max, long* value) {
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, *value);
    return !text.empty() && ec == std::errc() && stop == end && *value >= 0 && *value <= max;
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// The whole of a small file, or false with `error`.
bool read_small_file(const std::string& path, std::string* text, std::string* error) {
    errno = 0;
    const std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) {
        *error = std::strerror(errno != 0 ? errno : EIO);
        return false;
    }
    char buf[4096];
    size_t n = 0;
    text->clear();
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        text->append(buf, n);
        if (text->size() > kMaxPinMapFile) {
            *error = "larger than 64 KiB: not a pin map";
            return false;
        }
    }
    if (std::ferror(f.get())) {
        *error = std::strerror(EIO);
        return false;
    }
    return true;
}

const BuiltinPinMap* find_builtin(std::string_view name) {
    for (size_t i = 0; i < kBuiltinPinMapCount; ++i)
        if (kBuiltinPinMaps[i].name == name) return &kBuiltinPinMaps[i];
    return nullptr;
}

std::string pin_list(const std::map<int, GpioLine>& pins) {
    std::string out;
    for (const auto& [pin, line] : pins) out += (out.empty() ? "" : ",") + std::to_string(pin);
    return out;
}

// The device tree's model string ends in a NUL.
std::string_view model_text(std::string_view text) {
    while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
    return trim(text);
}

}  // namespace

const char* numbering_name(PinNumbering n) {
    return n == PinNumbering::Bcm ? "BCM" : "BOARD";
}

bool PinMap::parse(std::string_view text, const std::string& name, PinMap* map,
                   std::string* error) {
    PinMap out;
    out.name_ = name;
    int line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        if (const size_t hash = line.find('#'); hash != std::string_view::npos)
            line = line.substr(0, hash);
        line = trim(line);
        if (line.empty()) continue;
        const std::string where = name + ":" + std::to_string(line_no) + ": ";
        const std::vector<std::string_view> w = words_of(line);
        if (w[0] == "model" && w.size() > 1) {
            out.models_.emplace_back(trim(line.substr(5)));
            continue;
        }
        long pin = 0, offset = 0;
        if ((w[0] != "bcm" && w[0] != "board") || w.size() != 4 || !number(w[1], 1023, &pin) ||
            !number(w[3], 65535, &offset)) {
            *error = where + "expected 'bcm PIN CHIP LINE', 'board PIN CHIP LINE' or 'model TEXT'";
            return false;
        }
        auto& pins = w[0] == "bcm" ? out.bcm_ : out.board_;
        if (!pins.emplace(int(pin), GpioLine{std::string(w[2]), unsigned(offset)}).second) {
            *error = where + std::string(w[0]) + " pin " + std::to_string(pin) + " is mapped twice";
            return false;
        }
    }
    if (out.bcm_.empty() && out.board_.empty()) {
        *error = name + ": maps no pins";
        return false;
    }
    *map = std::move(out);
    return true;
}

bool PinMap::matches_model(std::string_view model) const {
    for (const std::string& m : models_)
        if (model.find(m) != std::string_view::npos) return true;
    return false;
}

bool PinMap::find(PinNumbering numbering, int pin, GpioLine* line, std::string* error) const {
    const auto& pins = numbering == PinNumbering::Bcm ? bcm_ : board_;
    const auto it = pins.find(pin);
    if (it == pins.end()) {
        *error = std::string(numbering_name(numbering)) + " pin " + std::to_string(pin) +
                 " is not a GPIO in pin map " + name_ +
                 (pins.empty() ? " (it maps no " + std::string(numbering_name(numbering)) + " pins)"
                               : " (its " + std::string(numbering_name(numbering)) +
                                     " pins: " + pin_list(pins) + ")");
        return false;
    }
    *line = it->second;
    return true;
}

std::string builtin_pin_map_names() {
    std::string out;
    for (size_t i = 0; i < kBuiltinPinMapCount; ++i)
        out += (i ? ", " : "") + std::string(kBuiltinPinMaps[i].name);
    return out;
}

bool load_pin_map(const std::string& setting, const std::string& model_path, PinMap* map,
                  std::string* error) {
    const std::string choose =
        "set [gpio] pin_map to one of " + builtin_pin_map_names() + ", or a pin map file";
    if (setting == "auto") {
        std::string text, why;
        if (!read_small_file(model_path, &text, &why)) {
            *error = "pin_map auto: cannot read the board's model from " + model_path + " (" + why +
                     "): " + choose;
            return false;
        }
        const std::string_view model = model_text(text);
        for (size_t i = 0; i < kBuiltinPinMapCount; ++i) {
            PinMap candidate;
            if (!PinMap::parse(kBuiltinPinMaps[i].text, std::string(kBuiltinPinMaps[i].name),
                               &candidate, error))
                return false;
            if (candidate.matches_model(model)) {
                *map = std::move(candidate);
                return true;
            }
        }
        *error = "pin_map auto: no built-in pin map for this board ('" + std::string(model) +
                 "'): " + choose;
        return false;
    }
    if (const BuiltinPinMap* b = find_builtin(setting))
        return PinMap::parse(b->text, std::string(b->name), map, error);
    if (setting.find('/') == std::string::npos) {
        *error = "pin_map '" + setting + "' is not a built-in board (" + builtin_pin_map_names() +
                 "); a pin map file needs a path with a '/'";
        return false;
    }
    std::string text, why;
    if (!read_small_file(setting, &text, &why)) {
        *error = "pin_map " + setting + ": " + why;
        return false;
    }
    return PinMap::parse(text, setting, map, error);
}

bool pin_map_knowable(const std::string& setting, const std::string& model_path) {
    if (setting != "auto") return true;
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(model_path.c_str(), "rb"));
    return f != nullptr;
}

}  // namespace robotd
