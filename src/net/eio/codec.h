// Engine.IO framing over WebSocket (protocol 3 and 4): one frame to one packet and back, the
// open handshake, and the request path. Pure functions, no I/O: the client owns direction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace robotd::eio {

enum class Version { V3 = 3, V4 = 4 };

enum class Type { Open = 0, Close = 1, Ping = 2, Pong = 3, Message = 4, Upgrade = 5, Noop = 6 };

struct Packet {
    Type type = Type::Noop;
    std::string data;     // after the type digit (text), or the raw bytes (binary message)
    bool binary = false;  // a binary message (an attachment)
};

bool operator==(const Packet& a, const Packet& b);
inline bool operator!=(const Packet& a, const Packet& b) {
    return !(a == b);
}

// "open", "close", ... for log lines.
const char* type_name(Type t);

// One WebSocket frame to one Engine.IO packet. EIO3 binary frames start with a 0x04 byte
// before the payload; EIO4 binary frames are the payload itself. Errors (empty text frame,
// unknown type digit, base64 "b" packets, a binary frame with a bad leading byte on EIO3)
// give nullopt and a one-line reason in `error`.
std::optional<Packet> decode_frame(Version v, std::string_view frame, bool binary_frame,
                                   std::string* error);

// A text frame: the type digit, then data ("2", "3probe", "4" + a Socket.IO packet).
std::string encode_text(Type t, std::string_view data = {});

// A binary message frame carrying `bytes` (EIO3 puts the 0x04 type byte first).
std::string encode_binary(Version v, std::string_view bytes);

struct Handshake {
    std::string sid;
    uint32_t ping_interval_ms = 25000;
    uint32_t ping_timeout_ms = 20000;
    uint32_t max_payload = 1000000;  // EIO4 sends it; EIO3 does not: keep the default
    std::vector<std::string> upgrades;
};

// The data of an Open packet: a JSON object with a non-empty "sid"; pingInterval and
// pingTimeout (1 ms .. 2^31-1 ms, defaults when absent), maxPayload and upgrades optional.
std::optional<Handshake> parse_open(std::string_view json, std::string* error);

// The request path of a direct WebSocket connection: "<base>?EIO=4&transport=websocket".
// `base` gets a leading and a trailing '/' when missing (engine.io matches "/socket.io/").
std::string ws_path(Version v, std::string_view base = "/socket.io/");

}  // namespace robotd::eio
