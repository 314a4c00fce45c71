// libFuzzer target for the config parser (core/config.h). The input is a config file; a line
// "--set" splits it: every line after it is a --set override applied on top. Without one,
// the file is parsed alone and, again, each of its lines is tried as an override.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "fuzz_check.h"

namespace {

using namespace robotd;
using fuzz::require;

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        out.emplace_back(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    }
    return out;
}

void check_result(const ConfigResult& r, std::string_view in) {
    for (const auto& d : r.diags) require(!d.message.empty(), "diagnostic without a message", in);
    for (const auto& s : config_secrets(r.config)) require(!s.empty(), "empty secret listed", in);
    const std::string text = format_config(r.config);
    require(!text.empty(), "format_config wrote nothing", in);
}

// What --check-config prints is itself a config robotd reads back to the same thing.
void check_fixed_point(const ConfigResult& r, std::string_view in) {
    const std::string once = format_config(r.config);
    const ConfigResult again = parse_config(once, "formatted");
    require(again.ok(), "formatted config does not parse", in);
    require(format_config(again.config) == once, "formatted config reads back differently", in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view kSplit = "\n--set\n";
    if (const size_t at = in.find(kSplit); at != std::string_view::npos) {
        const auto r = parse_config(std::string(in.substr(0, at)), "fuzz.conf",
                                    lines_of(in.substr(at + kSplit.size())));
        check_result(r, in);
        return 0;
    }
    const std::string file(in);
    const auto r = parse_config(file, "fuzz.conf");
    check_result(r, in);
    if (r.ok()) check_fixed_point(r, in);
    check_result(parse_config("", "empty.conf", lines_of(in)), in);
    return 0;
}
