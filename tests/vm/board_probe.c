/* board_probe: the virtual board's end of the timing benches (tests/bench). Its standard input
 * and output are one connection to the host (busybox `nc HOST PORT -e board_probe ...`); for
 * each byte the host sends it answers one line with the guest's CLOCK_MONOTONIC in ns, the
 * clock the kernel stamps GPIO edge events and (trace_clock = mono) trace events with. From
 * the host's send and receive times around each answer the host maps the guest's clock onto
 * its own. One process answers every byte: no fork or exec between the host's clock and ours.
 *
 * usage: board_probe clock              any byte: "<ns>\n"
 *        board_probe set CHIP LINE      '0'/'1': drives LINE of CHIP (/dev/gpiochipN, held as
 *                                       an output from the start, low) to that level;
 *                                       "<ns before> <ns after>\n" around the line set
 *        board_probe pull FILE          '0'/'1': writes pull-down/pull-up to FILE (gpio-sim's
 *                                       sim_gpioN/pull: the line's input follows, and an edge
 *                                       request on it sees the edge); "<ns before> <ns after>\n"
 *   Any other byte gets the plain "<ns>\n" answer in every mode.
 *        board_probe pipe CHIP LINE     a consumer for robotd's pipe driver (`[pipe] command`):
 *                                       drives LINE high on each "command":"F" line of its
 *                                       standard input, low on each "command":"stop"; silent
 *
 * Built for the board by tests/vm/make-image.sh with aarch64-linux-gnu-gcc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("board_probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void answer(const char* text) {
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, text, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) exit(0); /* the host hung up */
        text += n;
        len -= (size_t)n;
    }
}

/* LINE of CHIP as an output at level 0, for the v2 uAPI's set-values ioctl; returns its fd. */
static int request_output(const char* chip, unsigned line) {
    int fd = open(chip, O_RDWR | O_CLOEXEC);
    if (fd < 0) die("%s: %s", chip, strerror(errno));
    struct gpio_v2_line_request req;
    memset(&req, 0, sizeof req);
    req.offsets[0] = line;
    req.num_lines = 1;
    req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT;
    req.config.num_attrs = 1;
    req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
    req.config.attrs[0].attr.values = 0;
    req.config.attrs[0].mask = 1;
    snprintf(req.consumer, sizeof req.consumer, "board_probe");
    if (ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0)
        die("%s line %u: %s", chip, line, strerror(errno));
    close(fd);
    return req.fd;
}

static void set_line(int fd, int level) {
    struct gpio_v2_line_values v = {.bits = (unsigned)level, .mask = 1};
    if (ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0) die("set values: %s", strerror(errno));
}

/* robotd's pipe lines are compact JSON ({"type":"command","command":"F",...}). */
static int pipe_consumer(const char* chip, unsigned line) {
    const int fd = request_output(chip, line);
    char text[4096];
    while (fgets(text, sizeof text, stdin)) {
        if (strstr(text, "\"command\":\"F\"")) set_line(fd, 1);
        else if (strstr(text, "\"command\":\"stop\"")) set_line(fd, 0);
    }
    return 0;
}

int main(int argc, char** argv) {
    enum { CLOCK, SET, PULL } mode;
    int fd = -1;
    if (argc == 4 && strcmp(argv[1], "pipe") == 0)
        return pipe_consumer(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
    if (argc == 2 && strcmp(argv[1], "clock") == 0) {
        mode = CLOCK;
    } else if (argc == 4 && strcmp(argv[1], "set") == 0) {
        mode = SET;
        fd = request_output(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
    } else if (argc == 3 && strcmp(argv[1], "pull") == 0) {
        mode = PULL;
        fd = open(argv[2], O_WRONLY | O_CLOEXEC);
        if (fd < 0) die("%s: %s", argv[2], strerror(errno));
    } else {
        die("usage: board_probe clock | set /dev/gpiochipN LINE | pull FILE | pipe /dev/gpiochipN LINE");
    }
    /* Small answers go out at once (no Nagle wait for the previous one's ACK). */
    int one = 1;
    setsockopt(STDOUT_FILENO, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    char in[64], out[64];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, in, sizeof in);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        for (ssize_t i = 0; i < n; i++) {
            const int level = in[i] == '1' ? 1 : in[i] == '0' ? 0 : -1;
            if (mode == CLOCK || level < 0) {
                snprintf(out, sizeof out, "%lld\n", mono_ns());
                answer(out);
                continue;
            }
            long long before, after;
            if (mode == SET) {
                before = mono_ns();
                set_line(fd, level);
                after = mono_ns();
            } else {
                const char* what = level ? "pull-up" : "pull-down";
                before = mono_ns();
                if (pwrite(fd, what, strlen(what), 0) < 0) die("%s: %s", argv[2], strerror(errno));
                after = mono_ns();
            }
            snprintf(out, sizeof out, "%lld %lld\n", before, after);
            answer(out);
        }
    }
}
