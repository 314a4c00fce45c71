#include "core/cli.h"

namespace robotd {

CliParse parse_cli(const std::vector<std::string>& args) {
    CliParse r;
    auto& o = r.options;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        // Accept both "--opt value" and "--opt=value" for the options that take a value.
        auto value = [&](const char* name, std::string* out) {
            const std::string flag = name;
            if (a == flag) {
                if (i + 1 >= args.size()) {
                    r.error = flag + " needs a value";
                    return true;
                }
                *out = args[++i];
                return true;
            }
            if (a.rfind(flag + "=", 0) == 0) {
                *out = a.substr(flag.size() + 1);
                return true;
            }
            return false;
        };
        std::string v;
        if (value("--config", &o.config_path) || value("-c", &o.config_path)) {
        } else if (value("--set", &v)) {
            if (r.error.empty()) o.overrides.push_back(v);
        } else if (a == "--check-config") {
            o.check_config = true;
        } else if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--version" || a == "-V") {
            o.version = true;
        } else if (a.size() >= 2 && a[0] == '-' &&
                   a.find_first_not_of('v', 1) == std::string::npos) {
            o.verbosity += static_cast<int>(a.size() - 1);
        } else if (a == "--verbose") {
            ++o.verbosity;
        } else if (a == "--syslog") {
            o.sink = CliOptions::Sink::Syslog;
        } else if (a == "--stderr") {
            o.sink = CliOptions::Sink::Stderr;
        } else {
            r.error = "unknown argument '" + a + "'";
        }
        if (!r.error.empty()) return r;
    }
    return r;
}

std::string usage_text() {
    return "Usage: robotd [--config FILE] [--set section.key=value ...] [options]\n"
           "\n"
           "The robot side of a LetsRobot telepresence robot: looks up its servers, keeps\n"
           "its socket.io sessions, drives the hardware and streams video and audio.\n"
           "\n"
           "Options:\n"
           "  -c, --config FILE     INI file in the letsrobot.conf layout\n"
           "                        (default /etc/robotd/robotd.conf)\n"
           "      --set S.K=VALUE   override one key, e.g. --set misc.eio=4 (repeatable)\n"
           "      --check-config    validate, print the effective config (secrets masked),\n"
           "                        exit 0 when valid, 2 when not\n"
           "  -v, --verbose         more log (-vv: also libwebsockets' notices)\n"
           "      --syslog          log to syslog (the default when stderr is not a terminal);\n"
           "                        stderr when no syslog daemon listens on /dev/log\n"
           "      --stderr          log to stderr even when it is not a terminal\n"
           "  -h, --help            this text\n"
           "  -V, --version         print the version\n"
           "\n"
           "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP re-reads the config.\n"
           "Errors that stop robotd from starting always reach stderr, whatever the log.\n"
           "Exit status: 0 clean stop, 1 runtime failure, 2 bad command line or config.\n";
}

}  // namespace robotd
