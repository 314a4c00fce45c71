// Engine.IO framing over WebSocket (protocol 3 and 4): one frame to one packet and back, the
// open handshake, and the request path. Pure functions, no I/O: the client owns direction.
#include "net/eio/codec.h"

#include <limits>

#include "core/json.h"

namespace robotd::eio {

namespace {

// EIO3 binary frames carry the packet type as a raw byte, not as a digit.
constexpr char kBinaryMessageByte = 0x04;

// JS timers take at most 2^31-1 ms; larger values would also overflow interval + timeout.
constexpr long long kMaxTimerMs = std::numeric_limits<int32_t>::max();

// Sets the one-line reason; converts to any empty optional.
std::nullopt_t fail(std::string* error, std::string why) {
    if (error) *error = std::move(why);
    return std::nullopt;
}

// A positive integer member in [1, max]; absent leaves `out` unchanged.
bool read_positive(const cJSON* obj, const char* key, long long max, uint32_t& out,
                   std::string* error) {
    if (!cJSON_GetObjectItemCaseSensitive(obj, key)) return true;
    const auto v = json_int(obj, key);
    if (!v || *v < 1 || *v > max) {
        fail(error, std::string("open packet: bad ") + key + " (want an integer 1.." +
                        std::to_string(max) + ")");
        return false;
    }
    out = static_cast<uint32_t>(*v);
    return true;
}

}  // namespace

bool operator==(const Packet& a, const Packet& b) {
    return a.type == b.type && a.binary == b.binary && a.data == b.data;
}

const char* type_name(Type t) {
    switch (t) {
        case Type::Open:
            return "open";
        case Type::Close:
            return "close";
        case Type::Ping:
            return "ping";
        case Type::Pong:
            return "pong";
        case Type::Message:
            return "message";
        case Type::Upgrade:
            return "upgrade";
        case Type::Noop:
            return "noop";
    }
    return "?";
}

std::optional<Packet> decode_frame(Version v, std::string_view frame, bool binary_frame,
                                   std::string* error) {
    Packet p;
    if (binary_frame) {
        p.type = Type::Message;
        p.binary = true;
        if (v == Version::V3) {
            if (frame.empty()) return fail(error, "empty binary frame (EIO3 needs a type byte)");
            if (frame[0] != kBinaryMessageByte)
                return fail(error, "binary frame: leading byte " +
                                       std::to_string(static_cast<unsigned char>(frame[0])) +
                                       ", want 4 (message)");
            frame.remove_prefix(1);
        }
        // EIO4: the frame is the attachment as is; an empty one is a valid empty buffer.
        p.data.assign(frame);
        return p;
    }
    if (frame.empty()) return fail(error, "empty text frame");
    const char c = frame[0];
    if (c == 'b') return fail(error, "base64 binary packet: not expected over WebSocket");
    if (c < '0' || c > '6')
        return fail(error, "unknown packet type '" + excerpt(frame.substr(0, 1)) + "' in '" +
                               excerpt(frame) + "'");
    p.type = static_cast<Type>(c - '0');
    p.data.assign(frame.substr(1));
    return p;
}

std::string encode_text(Type t, std::string_view data) {
    std::string out;
    out.reserve(1 + data.size());
    out += static_cast<char>('0' + static_cast<int>(t));
    out += data;
    return out;
}

std::string encode_binary(Version v, std::string_view bytes) {
    std::string out;
    out.reserve(1 + bytes.size());
    if (v == Version::V3) out += kBinaryMessageByte;
    out += bytes;
    return out;
}

std::optional<Handshake> parse_open(std::string_view json, std::string* error) {
    std::string why;
    const JsonPtr doc = json_parse(json, &why);
    if (!doc) return fail(error, "open packet: " + why);
    if (!cJSON_IsObject(doc.get()))
        return fail(error, "open packet: not a JSON object: '" + excerpt(json) + "'");

    Handshake h;
    const auto sid = json_string(doc.get(), "sid");
    if (!sid || sid->empty())
        return fail(error, "open packet: no sid (keys: " + json_keys(doc.get()) + ")");
    h.sid = *sid;

    if (!read_positive(doc.get(), "pingInterval", kMaxTimerMs, h.ping_interval_ms, error) ||
        !read_positive(doc.get(), "pingTimeout", kMaxTimerMs, h.ping_timeout_ms, error) ||
        !read_positive(doc.get(), "maxPayload", std::numeric_limits<uint32_t>::max(), h.max_payload,
                       error))
        return std::nullopt;

    // Informational only here (we connect over WebSocket directly), but a wrong shape means
    // a server we do not understand.
    if (const cJSON* ups = cJSON_GetObjectItemCaseSensitive(doc.get(), "upgrades")) {
        if (!cJSON_IsArray(ups)) return fail(error, "open packet: upgrades is not an array");
        const cJSON* u = nullptr;
        cJSON_ArrayForEach(u, ups) {
            if (!cJSON_IsString(u) || !u->valuestring)
                return fail(error, "open packet: upgrades holds a non-string");
            h.upgrades.emplace_back(u->valuestring);
        }
    }
    return h;
}

std::string ws_path(Version v, std::string_view base) {
    std::string_view query;
    if (const auto q = base.find('?'); q != std::string_view::npos) {
        query = base.substr(q + 1);
        base = base.substr(0, q);
    }
    std::string out;
    if (base.empty() || base.front() != '/') out += '/';
    out += base;
    if (out.back() != '/') out += '/';
    out += "?EIO=";
    out += v == Version::V3 ? '3' : '4';
    out += "&transport=websocket";
    if (!query.empty()) {
        out += '&';
        out += query;
    }
    return out;
}

}  // namespace robotd::eio
