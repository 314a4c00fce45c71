// Tells its owner, on the loop, when a descriptor it writes to without blocking (a pipe, a
// FIFO, a socket) can take more, or (Want::Readable) when one it reads has data (a GPIO line's
// edge events): an lws-adopted poll instead of a polling timer or thread.
#pragma once

#include <libwebsockets.h>

#include <functional>

#include "net/loop.h"

namespace robotd {

class WritableWatch {
  public:
    enum class Want { Writable, Readable };
    // `ready` runs on the loop (never inside an lws callback, so it may arm or release this
    // watch) once the armed descriptor is writable (readable), or has failed for good (its
    // reader is gone: a write then says EPIPE; a read says why).
    WritableWatch(Loop& loop, std::function<void()> ready, Want want = Want::Writable);
    ~WritableWatch() { release(); }
    WritableWatch(const WritableWatch&) = delete;
    WritableWatch& operator=(const WritableWatch&) = delete;

    // Asks for one `ready` call about `fd`. The loop polls a duplicate of it, so the caller
    // keeps owning and closing `fd`; call release() before closing it (the duplicate would
    // keep a pipe open: its reader would never see EOF). False when it cannot be watched.
    // Readable: the owner reads from `fd` until it would block, then arms again.
    bool arm(int fd);
    // Stops watching and closes the duplicate now.
    void release();
    bool armed() const { return wsi_ != nullptr || ready_timer_.armed(); }

    // For the protocol callback only.
    void handle(lws* wsi, lws_callback_reasons reason);

  private:
    Loop& loop_;
    std::function<void()> ready_;
    Want want_;
    lws* wsi_ = nullptr;
    int fd_ = -1;        // the caller's descriptor, of which wsi_ polls a duplicate
    Timer ready_timer_;  // runs `ready` after the lws callback has returned
};

}  // namespace robotd
