// Reassembly of Socket.IO binary packets: the text packet announces N attachments, which then
// arrive as N Engine.IO binary messages; bounded in count and bytes, no I/O.
#include "net/sio/codec.h"

#include <cmath>

namespace robotd::sio {

namespace {

// Every {"_placeholder":true,"num":N} must point at one of the announced attachments, or
// the consumer would index past them. Recursion depth is bounded by cJSON's nesting limit.
bool placeholders_in_range(const cJSON* node, uint32_t count) {
    if (cJSON_IsObject(node) &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "_placeholder"))) {
        const cJSON* num = cJSON_GetObjectItemCaseSensitive(node, "num");
        if (!cJSON_IsNumber(num)) return false;
        const double d = num->valuedouble;
        return d >= 0 && d < count && d == std::floor(d);
    }
    for (const cJSON* c = node ? node->child : nullptr; c; c = c->next)
        if (!placeholders_in_range(c, count)) return false;
    return true;
}

// Why packet `p` cannot be assembled, or empty when it can.
std::string check(const Packet& p) {
    if (!is_binary(p.type)) {
        if (p.attachments != 0) return std::string(type_name(p.type)) + " with attachments";
        return {};
    }
    if (p.attachments == 0 || p.attachments > kMaxAttachments)
        return "binary packet with " + std::to_string(p.attachments) + " attachments";
    if (p.data.empty()) return {};
    const JsonPtr doc = json_parse(p.data, nullptr);
    if (!doc) return "binary packet payload is not JSON";
    if (!placeholders_in_range(doc.get(), p.attachments))
        return "binary packet placeholder outside its " + std::to_string(p.attachments) +
               " attachments: '" + excerpt(p.data) + "'";
    return {};
}

}  // namespace

BinaryAssembler::BinaryAssembler(size_t max_bytes) : max_bytes_(max_bytes) {}

bool BinaryAssembler::feed_packet(Packet p, std::string* error) {
    std::string why;
    if (complete()) {
        why = std::string(type_name(packet_->type)) + " never taken, discarded";
    } else if (pending()) {
        why = std::string(type_name(packet_->type)) +
              " discarded: " + std::to_string(attachments_.size()) + " of " +
              std::to_string(packet_->attachments) + " attachments before the next packet";
    }
    reset();
    if (const std::string bad = check(p); !bad.empty()) {
        why += (why.empty() ? "" : "; ") + bad;
    } else {
        packet_ = std::move(p);
    }
    if (why.empty()) return true;
    if (error) *error = std::move(why);
    return false;
}

bool BinaryAssembler::feed_attachment(std::string_view bytes, std::string* error) {
    if (!pending()) {
        if (error) *error = "binary message with no binary packet waiting for it";
        return false;
    }
    if (bytes.size() > max_bytes_ - bytes_) {
        if (error)
            *error = std::string(type_name(packet_->type)) + " discarded: attachments over " +
                     std::to_string(max_bytes_) + " bytes";
        reset();
        return false;
    }
    bytes_ += bytes.size();
    attachments_.emplace_back(bytes);
    return true;
}

std::optional<BinaryAssembler::Whole> BinaryAssembler::take() {
    if (!complete()) return std::nullopt;
    Whole w{std::move(*packet_), std::move(attachments_)};
    reset();
    return w;
}

void BinaryAssembler::reset() {
    packet_.reset();
    attachments_.clear();
    bytes_ = 0;
}

}  // namespace robotd::sio
