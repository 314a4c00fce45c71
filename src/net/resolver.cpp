#include "net/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "net/loop.h"

namespace robotd {

// Shared with the workers: they outlive neither the answers' owner nor the lws context,
// because `open` is cleared (under the lock) before either goes away.
struct Resolver::Inbox {
    std::mutex mutex;
    bool open = true;
    lws_context* context = nullptr;
    struct Answer {
        uint64_t ticket;
        std::string address, error;
    };
    std::vector<Answer> answers;
};

Resolver::Resolver(Loop& loop) : loop_(loop), inbox_(std::make_shared<Inbox>()) {}

Resolver::~Resolver() {
    std::lock_guard<std::mutex> lock(inbox_->mutex);
    inbox_->open = false;
}

std::optional<std::string> Resolver::literal(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1)
        return host;
    return std::nullopt;
}

namespace {

void lookup(const std::string& host, std::string* address, std::string* error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || !res) {
        *error = std::string("cannot resolve '") + host + "': " + gai_strerror(rc);
        return;
    }
    // IPv4 first when both exist: a robot's network is more often v4-only than v6-only.
    const addrinfo* pick = res;
    for (const addrinfo* a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw =
        pick->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(pick->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(pick->ai_addr)->sin6_addr);
    if (inet_ntop(pick->ai_family, raw, text, sizeof text))
        *address = text;
    else
        *error = "cannot format the address of '" + host + "'";
    freeaddrinfo(res);
}

}  // namespace

uint64_t Resolver::resolve(const std::string& host, Done done) {
    const uint64_t ticket = next_ticket_++;
    waiting_.emplace(ticket, std::move(done));
    inbox_->context = loop_.context();
    std::shared_ptr<Inbox> inbox = inbox_;
    auto post = [inbox, ticket](std::string address, std::string error) {
        std::lock_guard<std::mutex> lock(inbox->mutex);
        if (!inbox->open) return;
        inbox->answers.push_back({ticket, std::move(address), std::move(error)});
        lws_cancel_service(inbox->context);
    };
    try {
        std::thread([post, host] {
            std::string address, error;
            lookup(host, &address, &error);
            post(std::move(address), std::move(error));
        }).detach();
    } catch (const std::system_error& e) {
        // No thread to be had (memory, limits): an answer like any other failure, retried.
        post({}, std::string("cannot start a resolver thread: ") + e.what());
    }
    return ticket;
}

void Resolver::cancel(uint64_t ticket) {
    waiting_.erase(ticket);
}

void ResolveRequest::start(const std::string& host, Resolver::Done done) {
    cancel();
    if (auto address = Resolver::literal(host)) {
        done(*address, {});
        return;
    }
    ticket_ = resolver_.resolve(
        host, [this, done = std::move(done)](const std::string& address, const std::string& error) {
            ticket_ = 0;
            done(address, error);
        });
}

void ResolveRequest::cancel() {
    if (ticket_) resolver_.cancel(ticket_);
    ticket_ = 0;
}

void Resolver::deliver() {
    std::vector<Inbox::Answer> answers;
    {
        std::lock_guard<std::mutex> lock(inbox_->mutex);
        answers.swap(inbox_->answers);
    }
    for (auto& a : answers) {
        auto it = waiting_.find(a.ticket);
        if (it == waiting_.end()) continue;  // cancelled meanwhile
        Done done = std::move(it->second);
        waiting_.erase(it);
        done(a.address, a.error);
    }
}

}  // namespace robotd
