// A scripted HTTP/1.1 server on loopback, on a thread of its own: the far end of HttpGet and
// Upload in unit tests (a fake at the network boundary, which the tests cannot otherwise reach).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.h"

namespace robotd {

class FakeHttpServer {
  public:
    struct Request {
        std::string method, target;
        std::string head;  // the request line and headers, as received
        std::string body;  // a Content-Length body (awaited before the script runs)
    };
    // What to do once a request's head has arrived: send `bytes` (raw, may be empty), then
    // close, or else hold the connection, reading and counting whatever else comes (a body
    // that never ends), until drop_all(). `delay_ms`: a slow server, silent that long first.
    struct Reply {
        std::string bytes;
        bool hold = false;
        uint32_t delay_ms = 0;
    };
    using Script = std::function<Reply(const Request&)>;

    // A complete reply with Content-Length and Connection: close.
    static Reply answer(int status, const std::string& headers = {}, const std::string& body = {}) {
        return {"HTTP/1.1 " + std::to_string(status) + " Scripted\r\n" + headers +
                    "Content-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body,
                false};
    }
    static Reply hold() { return {{}, true}; }
    static Reply later(uint32_t delay_ms, Reply reply) {
        reply.delay_ms = delay_ms;
        return reply;
    }

    // The calling thread's signal mask is inherited: block the daemon's signals first.
    explicit FakeHttpServer(Script script) : script_(std::move(script)) {
        listen_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t alen = sizeof a;
        if (bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            listen(listen_.get(), 16) != 0 ||
            getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &alen) != 0)
            return;  // port() stays 0: the test fails on it
        port_ = ntohs(a.sin_port);
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return;
        wake_rd_.reset(p[0]);
        wake_wr_.reset(p[1]);
        thread_ = std::thread([this] { run(); });
    }
    ~FakeHttpServer() {
        stop_ = true;
        poke();
        if (thread_.joinable()) thread_.join();
    }
    FakeHttpServer(const FakeHttpServer&) = delete;
    FakeHttpServer& operator=(const FakeHttpServer&) = delete;

    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<Request> requests() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }
    size_t request_count() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_.size();
    }
    uint64_t accepted() const { return accepted_.load(); }
    uint64_t body_bytes() const { return body_bytes_.load(); }
    size_t open_connections() const { return open_.load(); }
    // Closes every connection (held ones end with EOF at the client).
    void drop_all() {
        drop_ = true;
        poke();
    }

  private:
    struct Conn {
        UniqueFd fd;
        std::string in;
        bool answered = false;  // from now on only count and discard
        Reply pending;          // a delayed reply, sent at `due`
        std::chrono::steady_clock::time_point due;
        bool waiting = false;
    };

    void poke() {
        if (wake_wr_.valid()) (void)!write(wake_wr_.get(), "x", 1);
    }

    void run() {
        std::vector<Conn> conns;
        while (!stop_) {
            if (drop_.exchange(false)) conns.clear();
            open_ = conns.size();
            std::vector<pollfd> fds{{listen_.get(), POLLIN, 0}, {wake_rd_.get(), POLLIN, 0}};
            for (auto& c : conns) fds.push_back({c.fd.get(), POLLIN, 0});
            int wait_ms = -1;
            const auto now = std::chrono::steady_clock::now();
            for (auto& c : conns) {
                if (!c.waiting) continue;
                const auto left =
                    std::chrono::duration_cast<std::chrono::milliseconds>(c.due - now).count();
                const int ms = left < 0 ? 0 : int(left) + 1;
                if (wait_ms < 0 || ms < wait_ms) wait_ms = ms;
            }
            if (poll(fds.data(), fds.size(), wait_ms) < 0) continue;
            for (auto& c : conns) {
                if (!c.waiting || std::chrono::steady_clock::now() < c.due) continue;
                c.waiting = false;
                if (!send_reply(c, c.pending)) c.fd.reset();
            }
            char buf[16384];
            if (fds[1].revents) {
                while (read(wake_rd_.get(), buf, sizeof buf) > 0) {
                }
            }
            for (size_t i = 0; i < conns.size(); ++i) {
                if (!fds[i + 2].revents || !conns[i].fd.valid()) continue;
                Conn& c = conns[i];
                const ssize_t n = read(c.fd.get(), buf, sizeof buf);
                if (n <= 0) {
                    c.fd.reset();  // EOF or error: removed below
                    continue;
                }
                if (c.answered) {
                    body_bytes_ += uint64_t(n);
                    continue;
                }
                c.in.append(buf, size_t(n));
                if (!serve(c)) c.fd.reset();
            }
            for (size_t i = conns.size(); i-- > 0;)
                if (!conns[i].fd.valid()) conns.erase(conns.begin() + long(i));
            if (fds[0].revents) {
                UniqueFd fd(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
                if (fd.valid()) {
                    ++accepted_;
                    conns.push_back({std::move(fd), {}, false, {}, {}, false});
                }
            }
        }
    }

    // A complete head has arrived (or not yet): answers it. False: close the connection.
    bool serve(Conn& c) {
        const size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) return true;
        Request r;
        r.head = c.in.substr(0, end + 4);
        const size_t length = content_length(r.head);
        if (c.in.size() < end + 4 + length) return true;  // the body is still coming
        r.body = c.in.substr(end + 4, length);
        const size_t sp1 = r.head.find(' '), sp2 = r.head.find(' ', sp1 + 1);
        if (sp1 != std::string::npos && sp2 != std::string::npos) {
            r.method = r.head.substr(0, sp1);
            r.target = r.head.substr(sp1 + 1, sp2 - sp1 - 1);
        }
        body_bytes_ += c.in.size() - (end + 4);
        c.in.clear();
        c.answered = true;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back(r);
        }
        const Reply reply = script_(r);
        if (reply.delay_ms > 0) {
            c.pending = reply;
            c.due = std::chrono::steady_clock::now() + std::chrono::milliseconds(reply.delay_ms);
            c.waiting = true;
            return true;
        }
        return send_reply(c, reply);
    }

    bool send_reply(Conn& c, const Reply& reply) {
        size_t sent = 0;
        while (sent < reply.bytes.size()) {
            const ssize_t n = send(c.fd.get(), reply.bytes.data() + sent, reply.bytes.size() - sent,
                                   MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += size_t(n);
        }
        // A reply ends our side only: the client closes when it has read it (closing with
        // its unread bytes here would reset the connection under the reply).
        if (!reply.hold) shutdown(c.fd.get(), SHUT_WR);
        return true;
    }

    static size_t content_length(const std::string& head) {
        std::string lower;
        for (char ch : head) lower += char(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        const size_t at = lower.find("\r\ncontent-length:");
        if (at == std::string::npos) return 0;
        return size_t(std::strtoul(lower.c_str() + at + 17, nullptr, 10));
    }

    Script script_;
    UniqueFd listen_, wake_rd_, wake_wr_;
    int port_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false}, drop_{false};
    std::atomic<uint64_t> accepted_{0}, body_bytes_{0};
    std::atomic<size_t> open_{0};
    mutable std::mutex mutex_;
    std::vector<Request> requests_;
};

}  // namespace robotd
