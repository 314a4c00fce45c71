// A test probe on robotd's real SioClient: connects to a socket.io server, emits one event
// asking for an ack, prints the ack's arguments as JSON on stdout and exits 0 (1 on a
// timeout). No LetsRobot event asks the server for an ack, so this is how the robot-side
// half of acks is tested against the real servers.
//   sio-probe URL EIO(3|4|auto) EVENT JSON_ARG
#include <signal.h>

#include <cstdio>
#include <string>

#include "core/log.h"
#include "core/url.h"
#include "net/loop.h"
#include "net/sio_client.h"

using namespace robotd;

int main(int argc, char** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: sio-probe URL 3|4|auto EVENT JSON_ARG\n");
        return 2;
    }
    const auto url = parse_url(argv[1], "http");
    const std::string mode_text = argv[2];
    const EioMode mode = mode_text == "3"   ? EioMode::V3
                         : mode_text == "4" ? EioMode::V4
                                            : EioMode::Auto;
    if (!url) return 2;
    const sigset_t set = handled_signals();
    sigprocmask(SIG_BLOCK, &set, nullptr);
    Logger log(LogLevel::Warn, LogSink::Stderr);
    Loop loop(log);
    std::string error;
    if (!loop.start(TlsSettings{"", false}, &error)) {
        fprintf(stderr, "%s\n", error.c_str());
        return 1;
    }
    int status = 1;
    const std::string event = argv[3], arg = argv[4];
    SioClient* self = nullptr;
    SioClient client(loop, "probe", "",
                     {[&] {
                          self->emit_with_ack(event, arg, [&](const cJSON* args) {
                              printf("%s\n", json_text(args).c_str());
                              status = 0;
                              loop.stop();
                          });
                      },
                      nullptr, nullptr, nullptr});
    self = &client;
    Timer deadline(loop, [&] { loop.stop(); });
    deadline.start_ms(10000);
    client.open(*url, mode);
    loop.run();
    return status;
}
