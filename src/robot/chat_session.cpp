// The chat session and the chat handler: messages logged, the owner's camera controls acted on.
#include "media/camera_controls.h"
#include "net/sio/codec.h"
#include "robot/chat.h"
#include "robot/sessions.h"

namespace robotd {

void route_chat(Link& link, const Config& config, ChatHandler& chat, Discovery& discovery) {
    link.identify("identify_robot_id",
                  [&config] { return sio::json_quote(config.robot.robot_id); });
    link.on("chat_message_with_name", [&chat](const cJSON* arg) { chat.message(arg, "chat"); });
    link.on_failing([&discovery](int failures) {
        if (failures % 3 == 0) discovery.refresh(LookupId::Chat);
    });
}

void ChatHandler::message(const cJSON* payload, const char* session) {
    std::string error;
    auto m = parse_chat_message(payload, &error);
    if (!m) {
        LOGW(log_, session, "chat message ignored: %s", error.c_str());
        return;
    }
    if (!m->robot_id.empty() && m->robot_id != config_.robot.robot_id) return;
    if (!m->is_command) {
        LOGI(log_, session, "%s: %s", m->name.c_str(), m->text.c_str());
        return;
    }
    if (media::is_camera_control(m->command)) {
        camera_command(*m, session);
        return;
    }
    // Parsed here; acting on the other chat commands (ranks, TTS, settings) is the chat/TTS
    // work.
    LOGI(log_, session, "chat command %s from %s (not acted on yet)", command_text(*m).c_str(),
         m->name.c_str());
}

// ".brightness N", ".contrast N", ".saturation N": owner only (PROTOCOL.md).
void ChatHandler::camera_command(const ChatMessage& m, const char* session) {
    const std::string text = command_text(m);
    const char* who = m.name.empty() ? "(anonymous)" : m.name.c_str();
    if (chat_rank(policy_, m.name, m.anonymous) != ChatRank::Owner) {
        // An anonymous sender may carry the owner's name: say why that is not enough.
        LOGI(log_, session, "chat command %s from %s ignored: only the owner may set %s%s",
             text.c_str(), who, m.command.c_str(),
             m.anonymous ? " (an anonymous sender never counts as the owner)" : "");
        return;
    }
    int percent = 0;
    std::string error;
    if (!parse_percent_argument(m.words, &percent, &error)) {
        LOGI(log_, session, "chat command %s from %s ignored: %s", text.c_str(), who,
             error.c_str());
        return;
    }
    LOGI(log_, session, "chat command %s from %s: setting the camera's %s to %d %%", text.c_str(),
         who, m.command.c_str(), percent);
    if (media_.camera_control) media_.camera_control(m.command, percent);
}

}  // namespace robotd
