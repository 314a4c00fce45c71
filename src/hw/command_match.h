// How command and user names compare: ASCII case-insensitively, so "f" cannot slip past a
// rule written for "F" and "Alice" is the owner "alice".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace robotd {

bool iequals(std::string_view a, std::string_view b);
// True when `name` equals one of `list`, ignoring ASCII case.
bool name_in(std::string_view name, const std::vector<std::string>& list);

}  // namespace robotd
