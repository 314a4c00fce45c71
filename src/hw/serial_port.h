// The serial port's device calls: open a tty and set it up raw, 8N1, no flow control, at a
// standard rate. Both can stall on a wedged USB adapter: robotd makes them off the loop.
#pragma once

#include <termios.h>

#include <string>

#include "core/unique_fd.h"

namespace robotd {

// The termios speed for `baud` bit/s; false for a rate termios has no constant for.
bool baud_to_speed(int baud, speed_t* speed);

// Opens `path` read-write, O_NONBLOCK | O_NOCTTY | O_CLOEXEC, and sets it raw 8N1 at `baud`
// with no flow control. HUPCL stays on (see the .cpp). On failure: an invalid fd, `*err` the
// errno and `*error` one line saying what failed ("not a serial port", "cannot set 9600
// bit/s: ...").
UniqueFd open_serial_port(const std::string& path, int baud, int* err, std::string* error);

}  // namespace robotd
