// Socket.IO packets (protocol 4 on Engine.IO 3, protocol 5 on Engine.IO 4) inside Engine.IO
// message packets: decode with validation, encode, the robot's builders, binary reassembly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace robotd::sio {

enum class Type {
    Connect = 0,
    Disconnect = 1,
    Event = 2,
    Ack = 3,
    ConnectError = 4,
    BinaryEvent = 5,
    BinaryAck = 6
};

// The most attachments one binary packet may announce (socket.io's own default limit is 10).
constexpr uint32_t kMaxAttachments = 64;

struct Packet {
    Type type = Type::Event;
    std::string nsp = "/";
    std::optional<uint64_t> id;  // ack id
    std::string data;            // raw JSON text after the header, may be empty
    uint32_t attachments = 0;    // binary packets only
};

bool operator==(const Packet& a, const Packet& b);
inline bool operator!=(const Packet& a, const Packet& b) {
    return !(a == b);
}

// "event", "connect_error", ... for log lines.
const char* type_name(Type t);
inline bool is_binary(Type t) {
    return t == Type::BinaryEvent || t == Type::BinaryAck;
}

// Decodes the data of one Engine.IO Message packet ("2[\"ev\",1]", "40", "451-[...]",
// "2/admin,12[...]", "44{\"message\":\"x\"}", "44\"not authorized\"").
// Layout: type digit, [attachments "-" (binary only)], ["/nsp" ","], [ack id digits], [JSON].
// The JSON must parse with nothing after it; per type: connect an object, disconnect
// nothing, event a non-empty array, ack an array, connect error any JSON. Attachments are
// 1..kMaxAttachments, ids fit uint64. Junk gives nullopt and a one-line reason.
std::optional<Packet> decode(std::string_view text, std::string* error);

// The inverse of decode(), without the Engine.IO "4" prefix. The default namespace is never
// written ("/," is not sent); a namespace without its leading '/' gets one.
std::string encode(const Packet& p);

// Builders for what the robot sends; each result is the data of one Engine.IO message.
// JSON arguments are raw JSON text the caller vouches for (they are not re-validated).
// An event with one argument (none when `json_arg` is empty), optionally asking for an ack:
// event("robot_id", "\"robot1\"") == "2[\"robot_id\",\"robot1\"]".
std::string event(std::string_view name, std::string_view json_arg,
                  std::optional<uint64_t> ack_id = {}, std::string_view nsp = "/");
// The answer to an event that asked for an ack: a "[...]" array ("[]" when empty).
std::string ack(uint64_t id, std::string_view json_args_array, std::string_view nsp = "/");
// The namespace connect (EIO4 must send it first); may carry an auth object.
std::string connect(std::string_view nsp = "/", std::string_view auth_json = {});

// A JSON string literal for `s` (quotes and escapes added).
std::string json_quote(std::string_view s);

// An event's name and arguments: the payload must be a JSON array whose first element is a
// string; args is an owned array of the remaining elements (possibly empty). Takes Event
// and BinaryEvent packets (placeholders stay in args as {"_placeholder":true,"num":N}).
struct Event {
    std::string name;
    JsonPtr args;
    std::optional<uint64_t> id;
};
std::optional<Event> parse_event(const Packet& p, std::string* error);

// A connect error's message: a JSON string (protocol 4) or an object with a "message" key
// (protocol 5); anything else gives its excerpt. Control characters are replaced and the
// result is bounded, so it can go straight into a log line.
std::string connect_error_message(const Packet& p);

// Collects a binary event/ack and its attachments (which arrive as separate Engine.IO binary
// messages, in placeholder order). Feed it every decoded packet: a non-binary one completes
// at once; a binary one waits for its attachments. A new packet while one is pending is an
// error: the old one is discarded and reported, the new one is still taken in. Attachment
// bytes of one packet are bounded by `max_bytes`; over it, the packet is discarded.
//
//   if (!assembler.feed_packet(std::move(p), &err)) log(err);
//   if (auto whole = assembler.take()) dispatch(*whole);
class BinaryAssembler {
  public:
    explicit BinaryAssembler(size_t max_bytes);

    // Both return false and a one-line reason on protocol errors.
    bool feed_packet(Packet p, std::string* error);
    bool feed_attachment(std::string_view bytes, std::string* error);

    bool pending() const { return packet_.has_value() && !complete(); }
    bool complete() const {
        return packet_.has_value() && attachments_.size() == packet_->attachments;
    }

    struct Whole {
        Packet packet;
        std::vector<std::string> attachments;
    };
    std::optional<Whole> take();  // the whole packet once complete(), then empty again
    void reset();

  private:
    size_t max_bytes_;
    size_t bytes_ = 0;
    std::optional<Packet> packet_;
    std::vector<std::string> attachments_;
};

}  // namespace robotd::sio
