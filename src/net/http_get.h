// One HTTP(S) request on the loop with a total timeout and a body limit: the transport of
// every discovery and api lookup (GET) and of the settings updates (POST with a body).
// Never blocks; the result arrives by callback.
#pragma once

#include <libwebsockets.h>

#include <functional>
#include <string>

#include "core/url.h"
#include "net/loop.h"

namespace robotd {

struct HttpResult {
    bool ok = false;    // a complete 2xx reply within the limits
    int status = 0;     // HTTP status, 0 when none arrived (a 3xx is an error: never followed)
    std::string body;   // what arrived (also on a non-2xx status)
    std::string error;  // why not ok, one line
};

class HttpGet {
  public:
    using Done = std::function<void(const HttpResult&)>;
    // `done` runs on the loop; it may start() this object again but must not destroy it.
    HttpGet(Loop& loop, Done done);
    ~HttpGet() { abort(); }
    HttpGet(const HttpGet&) = delete;
    HttpGet& operator=(const HttpGet&) = delete;

    struct Request {
        Url server;                 // scheme, host, port and base path
        std::string target;         // "/path?query", appended to the server's path
        std::string authorization;  // header value, or empty
        std::string method = "GET";
        std::string body;          // sent when not empty (with Content-Length)
        std::string content_type;  // for the body: "application/json"
        // The config key that names `server` ("[misc] info_server"), for the owner's hint
        // when the server redirects; empty: a generic hint.
        std::string setting;
        uint32_t timeout_ms = 10000;
        size_t max_body = 64 * 1024;
    };
    // Starts a request; one at a time (a running one is aborted first, without callback).
    void start(Request req);
    void abort();
    bool busy() const { return busy_; }

    // For the protocol callback only.
    int on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  private:
    void connect(const std::string& address);
    void finish(HttpResult r);
    void detach();

    Loop& loop_;
    Done done_;
    ResolveRequest resolve_;
    Timer timeout_;
    Request req_;
    std::string path_, host_header_, address_, method_;
    lws* wsi_ = nullptr;
    bool busy_ = false;
    bool body_sent_ = false;
    HttpResult result_;
};

}  // namespace robotd
