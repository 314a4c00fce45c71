// Host name resolution off the loop: getaddrinfo can block for seconds on a bad network,
// so each query runs on a short-lived worker thread and its answer comes back to the loop
// through lws_cancel_service(). Address literals are answered at once, without a thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace robotd {

class Loop;

class Resolver {
  public:
    // `address` is numeric ("192.0.2.1", "2001:db8::1") or empty with `error` set.
    using Done = std::function<void(const std::string& address, const std::string& error)>;

    explicit Resolver(Loop& loop);
    ~Resolver();  // forgets every query; a worker still in getaddrinfo exits on its own
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // The numeric form when `host` is an address literal, else nothing.
    static std::optional<std::string> literal(const std::string& host);

    // Starts a query; `done` runs later on the loop. Returns a ticket for cancel().
    uint64_t resolve(const std::string& host, Done done);
    void cancel(uint64_t ticket);
    // On the loop, after a wake-up: delivers finished queries.
    void deliver();

  private:
    struct Inbox;
    Loop& loop_;
    std::shared_ptr<Inbox> inbox_;
    std::map<uint64_t, Done> waiting_;
    uint64_t next_ticket_ = 1;
};

// One outstanding resolution owned by a connection: restarting or destroying it cancels
// the previous query, so an answer never reaches a connection that moved on.
class ResolveRequest {
  public:
    explicit ResolveRequest(Resolver& resolver) : resolver_(resolver) {}
    ~ResolveRequest() { cancel(); }
    ResolveRequest(const ResolveRequest&) = delete;
    ResolveRequest& operator=(const ResolveRequest&) = delete;

    // An address literal is answered at once, before start() returns; a name later, on the
    // loop.
    void start(const std::string& host, Resolver::Done done);
    void cancel();

  private:
    Resolver& resolver_;
    uint64_t ticket_ = 0;
};

}  // namespace robotd
