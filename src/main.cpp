// robotd's entry point: wiring only. Parses the command line, loads the config, builds
// the one context (logger, loop, daemon) and runs the loop until SIGTERM/SIGINT.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/log.h>
}

#include "core/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/version.h"
#include "net/loop.h"
#include "robot/daemon.h"

namespace {

using namespace robotd;

void print_diags(const std::vector<ConfigDiag>& diags) {
    for (const auto& d : diags) {
        const char* level = d.level == ConfigDiag::Level::Error     ? "error"
                            : d.level == ConfigDiag::Level::Warning ? "warning"
                                                                    : "note";
        fprintf(stderr, "robotd: %s%s%s: %s\n", d.where.c_str(), d.where.empty() ? "" : ": ", level,
                d.message.c_str());
    }
}

int check_config(const ConfigResult& r) {
    print_diags(r.diags);
    const std::string runnable = r.ok() ? check_runnable(r.config) : "";
    if (!runnable.empty()) fprintf(stderr, "robotd: error: %s\n", runnable.c_str());
    const bool ok = r.ok() && runnable.empty();
    if (ok) fputs(format_config(r.config).c_str(), stdout);
    fprintf(stderr, "robotd: config %s\n", ok ? "OK" : "has errors");
    return ok ? 0 : 2;
}

// The one context: everything the daemon owns, built here and nowhere else.
struct App {
    App(LogLevel level, LogSink sink, const CliOptions& o)
        : log(level, sink), loop(log), daemon(loop, log, o.config_path, o.overrides) {}
    Logger log;
    Loop loop;
    Daemon daemon;  // declared last: destroyed before the loop it uses
};

}  // namespace

int main(int argc, char** argv) {
    const CliParse cli = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    if (!cli.error.empty()) {
        fprintf(stderr, "robotd: %s\n\n%s", cli.error.c_str(), usage_text().c_str());
        return 2;
    }
    const CliOptions& o = cli.options;
    if (o.help) {
        fputs(usage_text().c_str(), stdout);
        return 0;
    }
    if (o.version) {
        printf("robotd %s (libwebsockets %s, mbedTLS)\n", ROBOTD_VERSION,
               lws_get_library_version());
        return 0;
    }

    ConfigResult config = load_config(o.config_path, o.overrides);
    if (o.check_config) return check_config(config);

    const LogSink sink = o.sink == CliOptions::Sink::Syslog   ? LogSink::Syslog
                         : o.sink == CliOptions::Sink::Stderr ? LogSink::Stderr
                         : isatty(STDERR_FILENO)              ? LogSink::Stderr
                                                              : LogSink::Syslog;
    const LogLevel level = o.verbosity > 0 ? LogLevel::Debug : LogLevel::Info;
    int lws_levels = LLL_ERR | LLL_WARN;
    if (o.verbosity > 1) lws_levels |= LLL_NOTICE;
    lws_set_log_level(lws_levels, sink == LogSink::Syslog ? lwsl_emit_syslog : lwsl_emit_stderr);
    // FFmpeg logs through its own process-wide printer: errors only, unless asked (-vv).
    av_log_set_level(o.verbosity > 1 ? AV_LOG_INFO : AV_LOG_ERROR);

    // Signals arrive through a signalfd on the loop, so block them before anything else.
    const sigset_t set = handled_signals();
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    App app(level, sink, o);
    app.log.set_secrets(config_secrets(config.config));
    log_config_diags(app.log, config.diags);
    if (!config.ok()) {
        LOGE(app.log, "robotd", "%s has errors; not starting", o.config_path.c_str());
        return 2;
    }
    if (const std::string why = check_runnable(config.config); !why.empty()) {
        LOGE(app.log, "robotd", "%s", why.c_str());
        return 2;
    }
    std::string error;
    if (!app.loop.start(tls_settings(config.config), &error)) {
        LOGE(app.log, "robotd", "%s", error.c_str());
        return 1;
    }
    app.loop.on_signal([&app](int signo) {
        if (signo == SIGHUP) {
            app.daemon.reload();
            return;
        }
        LOGI(app.log, "robotd", "%s: stopping", strsignal(signo));
        app.daemon.stop();
        app.loop.stop();
    });
    LOGI(app.log, "robotd", "robotd %s starting (pid %d, config %s)", ROBOTD_VERSION, getpid(),
         o.config_path.c_str());
    if (!app.daemon.start(std::move(config.config), &error)) {
        LOGE(app.log, "robotd", "%s", error.c_str());
        return 2;
    }
    app.loop.run();
    LOGI(app.log, "robotd", "stopped");
    return 0;
}
