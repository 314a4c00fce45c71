#include "hw/command_match.h"

namespace robotd {

namespace {
char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool name_in(std::string_view name, const std::vector<std::string>& list) {
    for (const auto& item : list)
        if (iequals(name, item)) return true;
    return false;
}

}  // namespace robotd
