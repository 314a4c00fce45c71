#include "net/writable_watch.h"

#include <fcntl.h>

#include <cstring>

#include "net/protocols.h"

namespace robotd {

WritableWatch::WritableWatch(Loop& loop, std::function<void()> ready, Want want)
    : loop_(loop),
      ready_(std::move(ready)),
      want_(want),
      ready_timer_(loop, [this] { ready_(); }) {}

bool WritableWatch::arm(int fd) {
    if (fd < 0) return false;
    if (wsi_ && fd != fd_) release();
    if (!wsi_) {
        const int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup < 0) return false;
        lws_adopt_desc_t desc;
        memset(&desc, 0, sizeof desc);
        // The base vhost is never retired (a TLS change retires client vhosts).
        desc.vh = loop_.base_vhost();
        desc.type = LWS_ADOPT_RAW_FILE_DESC;
        desc.fd.filefd = dup;
        desc.vh_prot_name = kProtoWritable;
        desc.opaque = this;
        // On failure lws closes the duplicate itself.
        wsi_ = lws_adopt_descriptor_vhost_via_info(&desc);
        if (!wsi_) return false;
        fd_ = fd;
        if (want_ == Want::Readable) return true;  // lws polls for POLLIN from the start
        // Only POLLOUT matters; a tty's input must not wake the loop.
        lws_rx_flow_control(wsi_, 0);
    }
    if (want_ == Want::Readable) {
        lws_rx_flow_control(wsi_, 1);  // POLLIN again, now the owner has read what was there
        return true;
    }
    lws_callback_on_writable(wsi_);
    return true;
}

void WritableWatch::release() {
    ready_timer_.cancel();
    fd_ = -1;
    if (!wsi_) return;
    lws* wsi = wsi_;
    wsi_ = nullptr;
    lws_set_opaque_user_data(wsi, nullptr);
    // Never called from this wsi's own callback (ready_ runs from a timer), so a synchronous
    // close is safe, and the duplicate is closed before release() returns.
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

void WritableWatch::handle(lws* wsi, lws_callback_reasons reason) {
    if (wsi != wsi_) return;
    switch (reason) {
        case LWS_CALLBACK_RAW_WRITEABLE_FILE:
            ready_timer_.start_ms(0);
            break;
        case LWS_CALLBACK_RAW_RX_FILE:
            // lws leaves the reading to us: stop POLLIN (or it would call again at once) until
            // the owner, outside this callback, has read and armed again.
            lws_rx_flow_control(wsi, 0);
            ready_timer_.start_ms(0);
            break;
        case LWS_CALLBACK_RAW_CLOSE_FILE:
            // lws closed it (POLLERR: the reader is gone; or the vhost went): say so, the
            // owner's next write finds out what happened.
            lws_set_opaque_user_data(wsi, nullptr);
            wsi_ = nullptr;
            fd_ = -1;
            ready_timer_.start_ms(0);
            break;
        default:
            break;
    }
}

int writable_watch_callback(lws* wsi, lws_callback_reasons reason, void*, void*, size_t) {
    if (auto* watch = static_cast<WritableWatch*>(lws_get_opaque_user_data(wsi)))
        watch->handle(wsi, reason);
    return 0;
}

}  // namespace robotd
