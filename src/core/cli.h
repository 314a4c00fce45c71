// The command line: robotd --config FILE [--set section.key=value ...] [options].
#pragma once

#include <string>
#include <vector>

namespace robotd {

struct CliOptions {
    std::string config_path = "/etc/robotd/robotd.conf";
    std::vector<std::string> overrides;  // "section.key=value", in order
    bool check_config = false;
    bool help = false;
    bool version = false;
    int verbosity = 0;  // each -v adds one
    enum class Sink { Auto, Stderr, Syslog } sink = Sink::Auto;
};

struct CliParse {
    CliOptions options;
    std::string error;  // non-empty: print it with the usage, exit 2
};

CliParse parse_cli(const std::vector<std::string>& args);  // args exclude argv[0]
std::string usage_text();

}  // namespace robotd
