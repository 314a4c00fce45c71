// What viewers send the robot, parsed from socket.io payloads: command_to_robot (drive
// commands) and custom_event (pointer events). Pure functions, no I/O; untrusted input.
#pragma once

#include <cjson/cJSON.h>

#include <optional>
#include <string>

#include "hw/driver.h"

namespace robotd {

struct CommandMessage {
    std::string robot_id;
    DriveCommand command;  // received_us is left 0: the session stamps it
};

// command_to_robot {robot_id, command, user, key_position, anonymous}. `user` is a string or
// {username, anonymous}; anonymous may be a bool, 0/1 or "true"/"false" (anything else
// counts as anonymous: fewer rights). robot_id may be a string or an integer. key_position
// is lower-cased; an unknown one is "". A missing or invalid command or robot_id: nullopt
// with `error` set.
std::optional<CommandMessage> parse_command(const cJSON* payload, std::string* error);

struct PointerMessage {
    std::string robot_id;
    PointerEvent event;
};

// custom_event {data, robot_id}: data is "kind:x:y" (x, y in 0..1, e.g. "mousedown:0.52:0.31")
// or an object holding that string under "data" or "event", with optional user / username /
// anonymous (in the object or beside it). Anything else: nullopt with `error` set.
std::optional<PointerMessage> parse_custom_event(const cJSON* payload, std::string* error);

}  // namespace robotd
