#include "net/http_get.h"

#include <cstring>

#include "core/json.h"
#include "core/version.h"
#include "net/protocols.h"

namespace robotd {

HttpGet::HttpGet(Loop& loop, Done done)
    : loop_(loop), done_(std::move(done)), resolve_(loop.resolver()), timeout_(loop, [this] {
          finish({false, result_.status, std::move(result_.body),
                  "no complete reply within " + std::to_string(req_.timeout_ms) + " ms"});
      }) {}

void HttpGet::start(Request req) {
    abort();
    req_ = std::move(req);
    result_ = HttpResult{};
    busy_ = true;
    body_sent_ = false;
    path_ = req_.server.path + (req_.target.empty() ? "/" : req_.target);
    method_ = req_.method.empty() ? "GET" : req_.method;
    host_header_ = req_.server.authority();
    timeout_.start_ms(req_.timeout_ms);
    resolve_.start(req_.server.host, [this](const std::string& address, const std::string& error) {
        if (address.empty()) {
            finish({false, 0, {}, error});
            return;
        }
        if (address != req_.server.host)
            LOGD(loop_.log(), "net", "%s is %s", req_.server.host.c_str(), address.c_str());
        connect(address);
    });
}

void HttpGet::connect(const std::string& address) {
    address_ = address;
    // May fail synchronously, after CLIENT_CONNECTION_ERROR has already finished us.
    if (!loop_.connect(req_.server, address_, path_, host_header_, method_.c_str(), kProtoHttp,
                       this, &wsi_)) {
        wsi_ = nullptr;
        if (busy_) finish({false, 0, {}, "cannot start a connection to " + req_.server.str()});
    }
}

void HttpGet::detach() {
    resolve_.cancel();
    release_client(&wsi_);
    timeout_.cancel();
}

void HttpGet::abort() {
    detach();
    busy_ = false;
}

void HttpGet::finish(HttpResult r) {
    if (!busy_) return;
    detach();
    busy_ = false;
    done_(r);
}

int HttpGet::on_event(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
    switch (reason) {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
            auto** p = static_cast<unsigned char**>(in);
            unsigned char* end = *p + len;
            const std::string ua = "robotd/" ROBOTD_VERSION;
            if (lws_add_http_header_by_name(wsi,
                                            reinterpret_cast<const unsigned char*>("user-agent:"),
                                            reinterpret_cast<const unsigned char*>(ua.data()),
                                            static_cast<int>(ua.size()), p, end))
                return -1;
            if (!req_.authorization.empty() &&
                lws_add_http_header_by_token(
                    wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                    reinterpret_cast<const unsigned char*>(req_.authorization.data()),
                    static_cast<int>(req_.authorization.size()), p, end))
                return -1;
            if (req_.body.empty()) return 0;
            const std::string length = std::to_string(req_.body.size());
            if (lws_add_http_header_by_token(
                    wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                    reinterpret_cast<const unsigned char*>(req_.content_type.data()),
                    static_cast<int>(req_.content_type.size()), p, end) ||
                lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                             reinterpret_cast<const unsigned char*>(length.data()),
                                             static_cast<int>(length.size()), p, end))
                return -1;
            // The body goes once the head is out: lws asks for it as CLIENT_HTTP_WRITEABLE.
            lws_client_http_body_pending(wsi, 1);
            lws_callback_on_writable(wsi);
            return 0;
        }
        case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
            if (req_.body.empty() || body_sent_) return 0;
            body_sent_ = true;
            std::string buf(LWS_PRE, '\0');
            buf += req_.body;
            auto* p = reinterpret_cast<unsigned char*>(&buf[LWS_PRE]);
            // Small bodies (a settings update) go in one write; lws keeps what the socket
            // did not take and sends it before anything else.
            if (lws_write(wsi, p, req_.body.size(), LWS_WRITE_HTTP_FINAL) <
                static_cast<int>(req_.body.size()))
                return -1;
            lws_client_http_body_pending(wsi, 0);
            return 0;
        }
        case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
            result_.status = static_cast<int>(lws_http_client_http_response(wsi));
            const std::string redirect = refused_redirect(wsi);
            if (redirect.empty()) return 0;
            finish(
                {false,
                 result_.status,
                 {},
                 redirect + ": " +
                     (req_.setting.empty() ? std::string("put the final address in the config")
                                           : "point " + req_.setting + " at the final address")});
            return -1;
        }
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
            char buf[LWS_PRE + 2048];
            char* px = buf + LWS_PRE;
            int lenx = static_cast<int>(sizeof buf - LWS_PRE);
            return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
        }
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
            if (result_.body.size() + len > req_.max_body) {
                finish(
                    {false,
                     result_.status,
                     {},
                     "reply body over the " + std::to_string(req_.max_body / 1024) + " KiB limit"});
                return -1;
            }
            result_.body.append(static_cast<const char*>(in), len);
            return 0;
        case LWS_CALLBACK_COMPLETED_CLIENT_HTTP: {
            HttpResult r = std::move(result_);
            r.ok = r.status >= 200 && r.status < 300;
            if (!r.ok) r.error = "HTTP " + std::to_string(r.status) + " '" + excerpt(r.body) + "'";
            finish(std::move(r));
            return -1;  // one request per connection
        }
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
            forget_client(wsi, &wsi_);  // lws frees it after this callback
            finish({false, result_.status, {}, connection_error(in)});
            return 0;
        }
        case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
            forget_client(wsi, &wsi_);
            finish({false, result_.status, {}, "connection closed before the reply was complete"});
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:  // freed without a close callback first
            if (wsi != wsi_) return 0;
            forget_client(wsi, &wsi_);
            finish({false, result_.status, {}, "connection ended before the reply was complete"});
            return 0;
        default:
            return 0;
    }
}

int http_get_callback(lws* wsi, lws_callback_reasons reason, void*, void* in, size_t len) {
    auto* get = static_cast<HttpGet*>(lws_get_opaque_user_data(wsi));
    if (!get) return lws_callback_http_dummy(wsi, reason, nullptr, in, len);
    return get->on_event(wsi, reason, in, len);
}

}  // namespace robotd
