// The user session (TLS): removed messages, the woot room's chat, blocked and timed-out users.
#include "core/json.h"
#include "robot/sessions.h"

namespace robotd {

void route_user(Link& link, const Config& config, ChatHandler& chat) {
    Logger& log = link.log();
    // Delayed TTS drops a message removed before it is spoken.
    link.on("message_removed", [&chat](const cJSON* arg) { chat.removed(arg); });
    link.on("chat_message_with_name", [&config, &chat](const cJSON* arg) {
        // Only the configured woot room is heard on the user socket.
        if (config.misc.woot_room.empty() ||
            json_string(arg, "room").value_or("") != config.misc.woot_room)
            return;
        chat.message(arg, "user");
    });
    for (const char* event : {"user_blocked", "user_timeout"}) {
        link.on(event, [&log, event](const cJSON* arg) {
            LOGI(log, "user", "%s: %s", event, excerpt(json_text(arg), 120).c_str());
        });
    }
}

}  // namespace robotd
