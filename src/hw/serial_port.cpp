#include "hw/serial_port.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace robotd {

bool baud_to_speed(int baud, speed_t* speed) {
    switch (baud) {
#define ROBOTD_BAUD(n) \
    case n:            \
        *speed = B##n; \
        return true;
        ROBOTD_BAUD(50)
        ROBOTD_BAUD(75)
        ROBOTD_BAUD(110)
        ROBOTD_BAUD(134)
        ROBOTD_BAUD(150)
        ROBOTD_BAUD(200)
        ROBOTD_BAUD(300)
        ROBOTD_BAUD(600)
        ROBOTD_BAUD(1200)
        ROBOTD_BAUD(1800)
        ROBOTD_BAUD(2400)
        ROBOTD_BAUD(4800)
        ROBOTD_BAUD(9600)
        ROBOTD_BAUD(19200)
        ROBOTD_BAUD(38400)
        ROBOTD_BAUD(57600)
        ROBOTD_BAUD(115200)
        ROBOTD_BAUD(230400)
        ROBOTD_BAUD(460800)
        ROBOTD_BAUD(500000)
        ROBOTD_BAUD(576000)
        ROBOTD_BAUD(921600)
        ROBOTD_BAUD(1000000)
        ROBOTD_BAUD(1152000)
        ROBOTD_BAUD(1500000)
        ROBOTD_BAUD(2000000)
        ROBOTD_BAUD(2500000)
        ROBOTD_BAUD(3000000)
        ROBOTD_BAUD(3500000)
        ROBOTD_BAUD(4000000)
#undef ROBOTD_BAUD
        default:
            return false;
    }
}

UniqueFd open_serial_port(const std::string& path, int baud, int* err, std::string* error) {
    speed_t speed;
    if (!baud_to_speed(baud, &speed)) {
        *err = EINVAL;
        *error = "no termios speed for " + std::to_string(baud) + " bit/s";
        return {};
    }
    // Non-blocking: the open never waits for carrier, and every write on the loop returns
    // at once. O_NOCTTY: the board never becomes robotd's controlling terminal.
    UniqueFd fd(open(path.c_str(), O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd.valid()) {
        *err = errno;
        *error = strerror(*err);
        return {};
    }
    termios t;
    if (tcgetattr(fd.get(), &t) != 0) {
        *err = errno;
        *error = *err == ENOTTY ? "not a serial port (not a terminal)" : strerror(*err);
        return {};
    }
    cfmakeraw(&t);  // no echo, no line editing, no CR/LF translation, 8 bits, no parity
    t.c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS);
    t.c_cflag |= CS8 | CREAD | CLOCAL;  // CLOCAL: the modem lines never block or hang us up
    t.c_iflag &= ~(IXON | IXOFF | IXANY);
    // HUPCL on, as the kernel's default and the reference client's pyserial leave it: the
    // last close drops DTR, so the next open raises it again and resets an Arduino, whose
    // firmware then starts with its motors off before the stop robotd sends first. Without
    // it DTR stays up across robotd restarts and a board keeps whatever it was last told.
    t.c_cflag |= HUPCL;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, speed) != 0 || cfsetospeed(&t, speed) != 0) {
        *err = errno;
        *error = "cannot set " + std::to_string(baud) + " bit/s: " + strerror(*err);
        return {};
    }
    if (tcsetattr(fd.get(), TCSANOW, &t) != 0) {
        *err = errno;
        *error = std::string("cannot set the port up: ") + strerror(*err);
        return {};
    }
    // tcsetattr succeeds when any one change took: a driver that refused the rate says so
    // only when read back.
    termios check;
    if (tcgetattr(fd.get(), &check) != 0) {
        *err = errno;
        *error = strerror(*err);
        return {};
    }
    if (cfgetospeed(&check) != speed || (check.c_cflag & CSIZE) != CS8) {
        *err = EINVAL;
        *error = "the port refused " + std::to_string(baud) + " bit/s 8N1";
        return {};
    }
    *err = 0;
    error->clear();
    return fd;
}

}  // namespace robotd
