// libFuzzer target for the Engine.IO and Socket.IO codecs: every decoder on the raw input,
// the round-trip invariants of what decodes, and the binary assembler on a split input.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "net/eio/codec.h"
#include "net/sio/codec.h"

namespace {

using namespace robotd;
using fuzz::printable_line;
using fuzz::require;

// The assembler's byte limit: small, so the fuzzer reaches the over-limit path.
constexpr size_t kAssemblerLimit = 32;
// connect_error_message() bounds its text to 200 bytes plus "...".
constexpr size_t kMaxMessage = 203;

void check_eio(std::string_view in) {
    for (auto v : {eio::Version::V3, eio::Version::V4}) {
        std::string err;
        if (const auto p = eio::decode_frame(v, in, false, &err)) {
            require(!p->binary, "text frame decoded as binary", in);
            require(eio::encode_text(p->type, p->data) == in, "eio text round trip", in);
        } else {
            require(!err.empty(), "eio text error without a reason", in);
        }
        err.clear();
        if (const auto p = eio::decode_frame(v, in, true, &err)) {
            require(p->binary && p->type == eio::Type::Message, "binary frame type", in);
            require(eio::encode_binary(v, p->data) == in, "eio binary round trip", in);
        } else {
            require(v == eio::Version::V3 && !err.empty(), "eio binary refused", in);
        }
    }
    std::string err;
    if (const auto h = eio::parse_open(in, &err)) {
        require(!h->sid.empty(), "handshake without sid", in);
        require(h->ping_interval_ms >= 1 && h->ping_interval_ms <= 0x7fffffffu &&
                    h->ping_timeout_ms >= 1 && h->ping_timeout_ms <= 0x7fffffffu &&
                    h->max_payload >= 1,
                "handshake values out of range", in);
    } else {
        require(!err.empty(), "open error without a reason", in);
    }
}

void check_packet(const sio::Packet& p, std::string_view in) {
    const std::string text = sio::encode(p);
    std::string err;
    const auto again = sio::decode(text, &err);
    require(again.has_value(), "re-encoded packet does not decode", in);
    require(*again == p, "sio round trip", in);
    require(sio::encode(*again) == text, "sio encoding is not canonical", in);

    if (p.type == sio::Type::Event || p.type == sio::Type::BinaryEvent) {
        if (const auto ev = sio::parse_event(p, &err)) {
            require(cJSON_IsArray(ev->args.get()), "event args not an array", in);
            require(ev->id == p.id, "event id lost", in);
            // Rebuilt through the builder, the event keeps its name (cJSON strings stop at
            // a NUL, so a name holding "\u0000" cannot survive any round trip).
            if (p.type == sio::Type::Event && ev->name.find('\0') == std::string::npos) {
                const auto rebuilt = sio::decode(sio::event(ev->name, "{}", p.id, p.nsp), &err);
                require(rebuilt.has_value(), "rebuilt event does not decode", in);
                const auto ev2 = sio::parse_event(*rebuilt, &err);
                require(ev2 && ev2->name == ev->name, "rebuilt event name", in);
            }
        } else {
            require(!err.empty(), "parse_event error without a reason", in);
        }
    } else {
        require(!sio::parse_event(p, &err), "non-event parsed as an event", in);
    }
    if (p.type == sio::Type::Ack) {
        const auto a = sio::decode(sio::ack(*p.id, p.data.empty() ? "[]" : p.data, p.nsp), &err);
        require(a && a->id == p.id && a->nsp == p.nsp, "rebuilt ack", in);
    }
    if (p.type == sio::Type::Connect) {
        const auto c = sio::decode(sio::connect(p.nsp, p.data), &err);
        require(c && c->nsp == p.nsp && c->data == p.data, "rebuilt connect", in);
    }
    const std::string msg = sio::connect_error_message(p);
    require(!msg.empty() && msg.size() <= kMaxMessage && printable_line(msg),
            "connect error message not one bounded line", in);
}

void check_sio(std::string_view in) {
    std::string err;
    if (const auto p = sio::decode(in, &err)) {
        require(p->attachments <= sio::kMaxAttachments, "attachments over the bound", in);
        require(sio::is_binary(p->type) == (p->attachments > 0), "attachments on non-binary", in);
        check_packet(*p, in);
    } else {
        require(!err.empty() && err.find('\n') == std::string::npos, "sio error not one line", in);
    }
    // The same bytes as a whole Engine.IO frame, as the client sees them.
    if (const auto e = eio::decode_frame(eio::Version::V4, in, false, nullptr);
        e && e->type == eio::Type::Message) {
        if (const auto p = sio::decode(e->data, nullptr)) check_packet(*p, in);
    }
}

// Lines of the input drive the assembler: "B..." is an attachment, anything else a packet.
void check_assembler(std::string_view in) {
    sio::BinaryAssembler a(kAssemblerLimit);
    while (!in.empty()) {
        const size_t nl = in.find('\n');
        const std::string_view line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
        std::string err;
        bool ok = false;
        if (!line.empty() && line[0] == 'B') {
            ok = a.feed_attachment(line.substr(1), &err);
        } else if (auto p = sio::decode(line, nullptr)) {
            ok = a.feed_packet(std::move(*p), &err);
        } else {
            continue;
        }
        require(ok || !err.empty(), "assembler error without a reason", line);
        require(!(a.pending() && a.complete()), "pending and complete at once", line);
        if (a.complete()) {
            const auto w = a.take();
            require(w.has_value(), "complete but nothing to take", line);
            require(w->attachments.size() == w->packet.attachments, "attachment count", line);
            size_t bytes = 0;
            for (const auto& s : w->attachments) bytes += s.size();
            require(bytes <= kAssemblerLimit, "attachments over the limit", line);
            require(!a.pending() && !a.complete(), "state after take", line);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    check_eio(in);
    check_sio(in);
    check_assembler(in);
    return 0;
}
