#include "robot/lookups.h"

namespace robotd {

std::string path_segment(std::string_view text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool plain = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                           (u >= '0' && u <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (plain) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::vector<LookupSpec> plan_lookups(const Config& c) {
    const Url& info = c.misc.info_server;
    const std::string robot = path_segment(c.robot.robot_id);
    const std::string camera = path_segment(c.robot.camera_id);
    std::vector<LookupSpec> plan = {
        // The reference client asks with ?version=2; servers that ignore it answer the same.
        {LookupId::Control, "control", info, "/get_control_host_port/" + robot + "?version=2"},
        {LookupId::Chat, "chat", info, "/get_chat_host_port/" + robot},
        {LookupId::Owner, "owner", info, "/get_robot_owner/" + robot},
        {LookupId::Settings, "robot settings", c.misc.api_server, "/api/v1/robots/" + robot},
    };
    const bool video = !c.camera.no_camera, audio = !c.camera.no_mic;
    if (video || audio)
        plan.push_back(
            {LookupId::RelayHost, "relay host", info, "/get_websocket_relay_host/" + camera});
    if (video)
        plan.push_back({LookupId::VideoPort, "video port", info, "/get_video_port/" + camera});
    if (audio)
        plan.push_back({LookupId::AudioPort, "audio port", info, "/get_audio_port/" + camera});
    if (!c.misc.secret_key.empty())
        plan.push_back({LookupId::Wifi, "wifi login", info,
                        "/get_wifi_login/" + path_segment(c.misc.secret_key)});
    return plan;
}

LookupSpec moderators_lookup(const Config& c, std::string_view owner) {
    return {LookupId::Moderators, "moderators", c.misc.api_server,
            "/api/v1/accounts/" + path_segment(owner)};
}

}  // namespace robotd
