// The control session: commands in, identification out, and a stop whenever it drops.
#include "net/sio/codec.h"
#include "robot/sessions.h"

namespace robotd {

void route_control(Link& link, const Config& config, Drive& drive, Discovery& discovery) {
    link.identify("robot_id", [&config] { return sio::json_quote(config.robot.robot_id); });
    link.on("command_to_robot", [&drive](const cJSON* arg) { drive.command(arg, "control"); });
    // Nobody can send a stop while the link is down: stop now.
    link.on_disconnected([&drive] { drive.stop("control session lost"); });
    link.on_failing([&discovery](int failures) {
        if (failures % 3 == 0) discovery.refresh(LookupId::Control);
    });
}

}  // namespace robotd
