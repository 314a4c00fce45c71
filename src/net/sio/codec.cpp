// Socket.IO packets (protocol 4 on Engine.IO 3, protocol 5 on Engine.IO 4) inside Engine.IO
// message packets: decode with validation, encode, the robot's builders, event parsing.
#include "net/sio/codec.h"

#include <limits>

namespace robotd::sio {

namespace {

// Namespaces are short path-like names; a bound keeps a hostile one out of log lines.
constexpr size_t kMaxNamespace = 256;
// Connect error messages go to the log: keep them to one bounded line.
constexpr size_t kMaxMessage = 200;

std::nullopt_t fail(std::string* error, std::string why) {
    if (error) *error = std::move(why);
    return std::nullopt;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// `text` with control bytes replaced and cut to `max` bytes on a UTF-8 boundary: server text
// (which may be any language) for a log line.
std::string printable(std::string_view text, size_t max) {
    bool cut = false;
    if (text.size() > max) {
        size_t n = max;
        while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
        text = text.substr(0, n);
        cut = true;
    }
    std::string out;
    out.reserve(text.size() + 3);
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    if (cut) out += "...";
    return out;
}

// Checks the JSON payload against what the packet type may carry.
bool valid_payload(Type t, std::string_view data, std::string* error) {
    if (data.empty()) {
        if (t == Type::Event || t == Type::BinaryEvent) {
            fail(error, std::string(type_name(t)) + " without a payload");
            return false;
        }
        return true;
    }
    if (t == Type::Disconnect) {
        fail(error, "disconnect with a payload: '" + excerpt(data) + "'");
        return false;
    }
    std::string why;
    const JsonPtr doc = json_parse(data, &why);
    if (!doc) {
        fail(error, std::string(type_name(t)) + " payload is " + why);
        return false;
    }
    const char* want = nullptr;
    switch (t) {
        case Type::Connect:
            if (!cJSON_IsObject(doc.get())) want = "an object";
            break;
        case Type::Event:
        case Type::BinaryEvent:
            if (!cJSON_IsArray(doc.get()) || !doc->child) want = "a non-empty array";
            break;
        case Type::Ack:
        case Type::BinaryAck:
            if (!cJSON_IsArray(doc.get())) want = "an array";
            break;
        case Type::Disconnect:
        case Type::ConnectError:  // protocol 4 may send any JSON (err.data), 5 a string/object
            break;
    }
    if (want) {
        fail(error,
             std::string(type_name(t)) + " payload is not " + want + ": '" + excerpt(data) + "'");
        return false;
    }
    return true;
}

}  // namespace

bool operator==(const Packet& a, const Packet& b) {
    return a.type == b.type && a.nsp == b.nsp && a.id == b.id && a.data == b.data &&
           a.attachments == b.attachments;
}

const char* type_name(Type t) {
    switch (t) {
        case Type::Connect:
            return "connect";
        case Type::Disconnect:
            return "disconnect";
        case Type::Event:
            return "event";
        case Type::Ack:
            return "ack";
        case Type::ConnectError:
            return "connect_error";
        case Type::BinaryEvent:
            return "binary_event";
        case Type::BinaryAck:
            return "binary_ack";
    }
    return "?";
}

std::optional<Packet> decode(std::string_view text, std::string* error) {
    if (text.empty()) return fail(error, "empty socket.io packet");
    if (text[0] < '0' || text[0] > '6')
        return fail(error, "unknown socket.io packet type in '" + excerpt(text) + "'");
    Packet p;
    p.type = static_cast<Type>(text[0] - '0');
    size_t i = 1;

    if (is_binary(p.type)) {
        // Count the digits before '-', refusing as soon as the count passes the bound.
        const size_t start = i;
        uint64_t n = 0;
        while (i < text.size() && is_digit(text[i])) {
            n = n * 10 + static_cast<uint64_t>(text[i] - '0');
            if (n > kMaxAttachments)
                return fail(error, "too many attachments (over " + std::to_string(kMaxAttachments) +
                                       ") in '" + excerpt(text) + "'");
            ++i;
        }
        if (i == start || i == text.size() || text[i] != '-')
            return fail(error, std::string(type_name(p.type)) +
                                   " without an attachment count and '-': '" + excerpt(text) + "'");
        if (n == 0)
            return fail(error, "binary packet with no attachments: '" + excerpt(text) + "'");
        p.attachments = static_cast<uint32_t>(n);
        ++i;
    }

    // "/nsp," up to the first comma; a packet may also end right after the name ("0/admin").
    if (i < text.size() && text[i] == '/') {
        const size_t comma = text.find(',', i);
        const size_t end = comma == std::string_view::npos ? text.size() : comma;
        const std::string_view nsp = text.substr(i, end - i);
        if (nsp.size() > kMaxNamespace)
            return fail(error, "namespace longer than " + std::to_string(kMaxNamespace) +
                                   " bytes: '" + excerpt(nsp) + "'");
        for (char c : nsp) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f)
                return fail(error, "control character in namespace '" + excerpt(nsp) + "'");
        }
        p.nsp.assign(nsp);
        i = comma == std::string_view::npos ? text.size() : comma + 1;
    }

    // The ack id: the digits right before the JSON.
    if (i < text.size() && is_digit(text[i])) {
        uint64_t id = 0;
        constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
        for (; i < text.size() && is_digit(text[i]); ++i) {
            const auto d = static_cast<uint64_t>(text[i] - '0');
            if (id > (kMax - d) / 10)
                return fail(error, "ack id beyond 64 bits in '" + excerpt(text) + "'");
            id = id * 10 + d;
        }
        p.id = id;
    }
    if ((p.type == Type::Ack || p.type == Type::BinaryAck) && !p.id)
        return fail(error,
                    std::string(type_name(p.type)) + " without an id: '" + excerpt(text) + "'");

    const std::string_view data = text.substr(i);
    if (!valid_payload(p.type, data, error)) return std::nullopt;
    p.data.assign(data);
    return p;
}

std::string encode(const Packet& p) {
    std::string out;
    out.reserve(p.nsp.size() + p.data.size() + 32);
    out += static_cast<char>('0' + static_cast<int>(p.type));
    if (is_binary(p.type)) {
        out += std::to_string(p.attachments);
        out += '-';
    }
    if (!p.nsp.empty() && p.nsp != "/") {
        if (p.nsp.front() != '/') out += '/';
        out += p.nsp;
        out += ',';
    }
    if (p.id) out += std::to_string(*p.id);
    out += p.data;
    return out;
}

std::string json_quote(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out += kHex[u >> 4];
                    out += kHex[u & 0xF];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

std::string event(std::string_view name, std::string_view json_arg, std::optional<uint64_t> ack_id,
                  std::string_view nsp) {
    Packet p;
    p.type = Type::Event;
    p.nsp.assign(nsp);
    p.id = ack_id;
    p.data = "[" + json_quote(name);
    if (!json_arg.empty()) {
        p.data += ',';
        p.data += json_arg;
    }
    p.data += ']';
    return encode(p);
}

std::string ack(uint64_t id, std::string_view json_args_array, std::string_view nsp) {
    Packet p;
    p.type = Type::Ack;
    p.nsp.assign(nsp);
    p.id = id;
    p.data.assign(json_args_array.empty() ? std::string_view("[]") : json_args_array);
    return encode(p);
}

std::string connect(std::string_view nsp, std::string_view auth_json) {
    Packet p;
    p.type = Type::Connect;
    p.nsp.assign(nsp);
    p.data.assign(auth_json);
    return encode(p);
}

std::optional<Event> parse_event(const Packet& p, std::string* error) {
    if (p.type != Type::Event && p.type != Type::BinaryEvent)
        return fail(error, std::string("not an event but a ") + type_name(p.type));
    std::string why;
    JsonPtr doc = json_parse(p.data, &why);
    if (!doc) return fail(error, "event payload is " + why);
    if (!cJSON_IsArray(doc.get()))
        return fail(error, "event payload is not an array: '" + excerpt(p.data) + "'");
    const cJSON* first = doc->child;
    if (!cJSON_IsString(first) || !first->valuestring)
        return fail(error, "event name is not a string: '" + excerpt(p.data) + "'");
    Event ev;
    ev.name = first->valuestring;
    ev.id = p.id;
    // What is left of the array after the name is exactly the argument list.
    cJSON_DeleteItemFromArray(doc.get(), 0);
    ev.args = std::move(doc);
    return ev;
}

std::string connect_error_message(const Packet& p) {
    constexpr const char* kNone = "(no reason given)";
    if (p.data.empty()) return kNone;
    const JsonPtr doc = json_parse(p.data, nullptr);
    std::optional<std::string> msg;
    if (cJSON_IsString(doc.get()) && doc->valuestring) {
        msg = doc->valuestring;
    } else if (cJSON_IsObject(doc.get())) {
        msg = json_string(doc.get(), "message");
    }
    if (!msg) return excerpt(p.data, kMaxMessage);
    // An empty text (or one cJSON cut at a NUL) would make a blank log line.
    return msg->empty() ? kNone : printable(*msg, kMaxMessage);
}

}  // namespace robotd::sio
