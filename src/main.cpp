// robotd's entry point: wiring only. Parses the command line, loads the config, builds
// the one context (logger, loop, daemon) and runs the loop until SIGTERM/SIGINT.
#include <syslog.h>  // _PATH_LOG
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
#include "hw/watchdog.h"
#include "net/loop.h"
#include "net/sd_notify.h"
#include "robot/daemon.h"

namespace {

using namespace robotd;

void print_diags(const std::vector<ConfigDiag>& diags) {
    for (const auto& d : diags) {
        const char* level = d.level == ConfigDiag::Level::Error     ? "error"
                            : d.level == ConfigDiag::Level::Warning ? "warning"
                                                                    : "note";
        // A message may quote a value from the file: escaped like any log line.
        fprintf(stderr, "robotd: %s%s%s: %s\n", escape_log_text(d.where).c_str(),
                d.where.empty() ? "" : ": ", level, escape_log_text(d.message).c_str());
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

// Where log lines go: as asked (syslog by default without a terminal), but stderr when no
// syslog daemon listens (containers, minimal images): a daemon that logs nowhere is silent
// about why it stopped. `fallback` says why syslog was not taken.
LogSink choose_sink(const CliOptions& o, std::string* fallback) {
    const bool want_syslog = o.sink == CliOptions::Sink::Syslog ||
                             (o.sink == CliOptions::Sink::Auto && !isatty(STDERR_FILENO));
    if (!want_syslog) return LogSink::Stderr;
    return syslog_reachable(_PATH_LOG, fallback) ? LogSink::Syslog : LogSink::Stderr;
}

// The one context: everything the daemon owns, built here and nowhere else.
struct App {
    App(LogLevel level, LogSink sink, const CliOptions& o, NotifyEnv notify_env)
        : log(level, sink),
          loop(log),
          notify(loop, std::move(notify_env)),
          watchdog(loop),
          daemon(loop, log, o.config_path, o.overrides) {}
    Logger log;
    Loop loop;
    SdNotify notify;
    HwWatchdog watchdog;  // destroyed after the daemon: the magic close ends a clean exit
    Daemon daemon;        // declared last: destroyed before the loop it uses
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

    std::string no_syslog;
    const LogSink sink = choose_sink(o, &no_syslog);
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

    // systemd's variables are robotd's alone: taken out before any child can inherit them.
    App app(level, sink, o, take_notify_env());
    // Until robotd runs, every error also reaches stderr: whoever started it sees why not.
    app.log.set_errors_to_stderr(true);
    if (!no_syslog.empty())
        LOGW(app.log, "robotd", "syslog is not available (%s); logging to stderr",
             no_syslog.c_str());
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
            app.notify.reloading();
            app.daemon.reload();
            app.notify.ready();  // a refused file keeps the running config: ready either way
            return;
        }
        LOGI(app.log, "robotd", "%s: stopping", strsignal(signo));
        app.notify.stopping();
        app.daemon.stop();
        app.loop.stop();
    });
    LOGI(app.log, "robotd", "robotd %s starting (pid %d, config %s)", ROBOTD_VERSION, getpid(),
         o.config_path.c_str());
    // Opened before the loop runs (its ioctls are not for the loop); a device that cannot be
    // opened is an error line and robotd runs without it.
    const Config::Misc& misc = config.config.misc;
    if (!misc.watchdog_device.empty())
        app.watchdog.open(misc.watchdog_device, misc.watchdog_timeout);
    if (!app.daemon.start(std::move(config.config), &error)) {
        LOGE(app.log, "robotd", "%s", error.c_str());
        return 2;
    }
    app.log.set_errors_to_stderr(false);
    app.watchdog.start();
    app.notify.follow_status([&app] { return app.daemon.status(); });
    app.notify.start_watchdog();
    // READY=1 from the loop's first pass: the config is loaded and the loop runs.
    Timer ready(app.loop, [&app] { app.notify.ready(); });
    ready.start_ms(0);
    app.loop.run();
    LOGI(app.log, "robotd", "stopped");
    return 0;
}
