// A real WebSocket server (an lws vhost on the test's loop, 127.0.0.1, an ephemeral port)
// whose every frame the test scripts: how the socket.io client meets servers that misbehave.
#pragma once

#include <libwebsockets.h>

#include <array>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "net/loop.h"

namespace robotd {

class ScriptedWsServer {
  public:
    struct Conn {
        lws* wsi = nullptr;
        bool open = true;
        std::vector<std::string> received;  // text frames from the client, in order
        std::deque<std::string> out;        // frames waiting to be written
        bool close_after_out = false;
    };

    // `on_open(id)` and `on_text(id, text)` script the server's side.
    explicit ScriptedWsServer(Loop& loop, int port = 0) : loop_(loop) {
        protocols_[0] = {"scripted", &ScriptedWsServer::callback, 0, 0, 0, this, 0};
        protocols_[1] = {nullptr, nullptr, 0, 0, 0, nullptr, 0};
        lws_context_creation_info info;
        memset(&info, 0, sizeof info);
        info.vhost_name = "scripted";
        info.port = port;
        info.iface = "127.0.0.1";
        info.protocols = protocols_.data();
        vhost_ = lws_create_vhost(loop.context(), &info);
        if (vhost_) port_ = lws_get_vhost_listen_port(vhost_);
    }
    ~ScriptedWsServer() { stop(); }
    ScriptedWsServer(const ScriptedWsServer&) = delete;
    ScriptedWsServer& operator=(const ScriptedWsServer&) = delete;

    bool ok() const { return vhost_ != nullptr; }
    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // Closes the listener and every connection (as a server that dies). lws finishes the
    // closes later: each connection is cut loose from this object first.
    void stop() {
        if (!vhost_) return;
        for (auto& [id, c] : conns_) {
            if (c.open) lws_set_opaque_user_data(c.wsi, nullptr);
            c.open = false;
        }
        ids_.clear();
        lws_vhost_destroy(vhost_);
        vhost_ = nullptr;
    }

    std::function<void(int id)> on_open;
    std::function<void(int id, const std::string& text)> on_text;

    void send(int id, std::string text) {
        Conn& c = conns_.at(id);
        if (!c.open) return;
        c.out.push_back(std::move(text));
        lws_callback_on_writable(c.wsi);
    }
    // Closes one connection once what is queued has been written.
    void close(int id) {
        Conn& c = conns_.at(id);
        if (!c.open) return;
        c.close_after_out = true;
        lws_callback_on_writable(c.wsi);
    }

    int connections() const { return int(conns_.size()); }  // ever accepted
    int open_connections() const {
        int n = 0;
        for (const auto& [id, c] : conns_) n += c.open ? 1 : 0;
        return n;
    }
    int max_open() const { return max_open_; }
    const Conn& conn(int id) const { return conns_.at(id); }
    int last() const { return next_id_ - 1; }

  private:
    // Only a new connection finds the server through the protocol (the vhost is alive then);
    // every later callback through the connection's own pointer, which stop() clears.
    static int callback(lws* wsi, lws_callback_reasons reason, void*, void* in, size_t len) {
        if (reason == LWS_CALLBACK_ESTABLISHED) {
            const lws_protocols* p = lws_get_protocol(wsi);
            if (!p || !p->user) return -1;
            lws_set_opaque_user_data(wsi, p->user);
        }
        auto* self = static_cast<ScriptedWsServer*>(lws_get_opaque_user_data(wsi));
        return self ? self->event(wsi, reason, in, len) : 0;
    }

    int event(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
        switch (reason) {
            case LWS_CALLBACK_ESTABLISHED: {
                const int id = next_id_++;
                ids_[wsi] = id;
                conns_[id].wsi = wsi;
                max_open_ = std::max(max_open_, open_connections());
                if (on_open) on_open(id);
                return 0;
            }
            case LWS_CALLBACK_RECEIVE: {
                const auto it = ids_.find(wsi);
                if (it == ids_.end()) return 0;
                rx_[wsi].append(static_cast<const char*>(in), len);
                if (!lws_is_final_fragment(wsi)) return 0;
                std::string text;
                text.swap(rx_[wsi]);
                conns_[it->second].received.push_back(text);
                if (on_text) on_text(it->second, text);
                return 0;
            }
            case LWS_CALLBACK_SERVER_WRITEABLE: {
                const auto it = ids_.find(wsi);
                if (it == ids_.end()) return 0;
                Conn& c = conns_[it->second];
                if (!c.out.empty()) {
                    std::string frame(LWS_PRE, '\0');
                    frame += c.out.front();
                    c.out.pop_front();
                    const size_t n = frame.size() - LWS_PRE;
                    if (lws_write(wsi, reinterpret_cast<unsigned char*>(&frame[LWS_PRE]), n,
                                  LWS_WRITE_TEXT) < int(n))
                        return -1;
                    lws_callback_on_writable(wsi);
                    return 0;
                }
                return c.close_after_out ? -1 : 0;
            }
            case LWS_CALLBACK_CLOSED: {
                const auto it = ids_.find(wsi);
                if (it != ids_.end()) {
                    conns_[it->second].open = false;
                    ids_.erase(it);
                }
                rx_.erase(wsi);
                lws_set_opaque_user_data(wsi, nullptr);
                return 0;
            }
            default:
                return 0;
        }
    }

    Loop& loop_;
    std::array<lws_protocols, 2> protocols_{};
    lws_vhost* vhost_ = nullptr;
    int port_ = 0;
    int next_id_ = 0;
    int max_open_ = 0;
    std::map<lws*, int> ids_;
    std::map<int, Conn> conns_;
    std::map<lws*, std::string> rx_;
};

}  // namespace robotd
