// Small text helpers every module uses: ASCII case-insensitive comparison (so "f" cannot slip
// past a rule written for "F", and "Alice" is the owner "alice"), lower-casing and trimming.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace robotd {

bool iequals(std::string_view a, std::string_view b);
// True when `name` equals one of `list`, ignoring ASCII case.
bool name_in(std::string_view name, const std::vector<std::string>& list);
// ASCII lower case (bytes outside A-Z unchanged, so UTF-8 passes through).
std::string lower(std::string_view s);
// Without leading and trailing blanks (space, tab, CR, LF, FF, VT).
std::string_view trim(std::string_view s);

}  // namespace robotd
