/* mjpeg_feeder: the virtual board's MJPEG camera. It writes JPEG files, one per frame, into
 * the output side of a v4l2loopback device at a steady rate; a reader of the capture side
 * (robotd) sees a camera that gives MJPG at that size and rate, as a USB webcam does.
 *
 * usage: mjpeg_feeder [-b] DEVICE WIDTH HEIGHT FPS FILE.jpg...
 *   -b  once the first frame is in (from then on the device is a capture device), go on in
 *       the background and return: a reader may open DEVICE as soon as this returns.
 * The files are sent in a loop until the feeder is killed. Each must be a JPEG of exactly
 * WIDTH x HEIGHT (checked: a reader trusts the size the device announces).
 *
 * Built for the board by tests/vm/make-image.sh with aarch64-linux-gnu-gcc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct frame {
    const char* path;
    unsigned char* data;
    size_t size;
};

static void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mjpeg_feeder: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static long parse_number(const char* what, const char* text, long min, long max) {
    char* end;
    errno = 0;
    const long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        die("%s must be a number in %ld..%ld, not '%s'", what, min, max, text);
    return v;
}

/* The picture size in a JPEG's frame header (SOFn), found by walking the marker segments
 * that precede it. Returns 0, or -1 when the data is not a JPEG or has no frame header. */
static int jpeg_size(const unsigned char* p, size_t n, unsigned* width, unsigned* height) {
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) return -1; /* SOI */
    size_t i = 2;
    while (i + 4 <= n) {
        if (p[i] != 0xFF) return -1;
        const unsigned char m = p[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { /* markers without a length */
            i += 2;
            continue;
        }
        const size_t len = ((size_t)p[i + 2] << 8) | p[i + 3]; /* includes its own 2 bytes */
        if (len < 2 || i + 2 + len > n) return -1;
        /* SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range:
         * length, precision, height, width. */
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (len < 8) return -1;
            *height = ((unsigned)p[i + 5] << 8) | p[i + 6];
            *width = ((unsigned)p[i + 7] << 8) | p[i + 8];
            return 0;
        }
        if (m == 0xDA || m == 0xD9) return -1; /* scan or end before any frame header */
        i += 2 + len;
    }
    return -1;
}

static struct frame load(const char* path, unsigned width, unsigned height) {
    struct frame f = {path, NULL, 0};
    FILE* file = fopen(path, "rb");
    if (!file) die("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(file), &st) < 0) die("%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size <= 0) die("%s is not a non-empty file", path);
    f.size = (size_t)st.st_size;
    f.data = malloc(f.size);
    if (!f.data) die("out of memory for %s", path);
    if (fread(f.data, 1, f.size, file) != f.size) die("cannot read %s", path);
    fclose(file);
    unsigned w, h;
    if (jpeg_size(f.data, f.size, &w, &h) < 0) die("%s is not a JPEG (no frame header)", path);
    if (w != width || h != height)
        die("%s is %ux%u, not the %ux%u asked for", path, w, h, width, height);
    return f;
}

/* One frame into the loopback: one write() is one buffer, i.e. one frame for the reader, so
 * a short write would be a torn picture. */
static void send_frame(int fd, const char* device, const struct frame* f) {
    const ssize_t n = write(fd, f->data, f->size);
    if (n < 0) die("%s: write %s: %s", device, f->path, strerror(errno));
    if ((size_t)n != f->size)
        die("%s: write %s: %zd of %zu bytes taken", device, f->path, n, f->size);
}

int main(int argc, char** argv) {
    int background = 0;
    if (argc > 1 && strcmp(argv[1], "-b") == 0) {
        background = 1;
        argv++;
        argc--;
    }
    if (argc < 6) {
        fprintf(stderr, "usage: mjpeg_feeder [-b] DEVICE WIDTH HEIGHT FPS FILE.jpg...\n");
        return 2;
    }
    const char* device = argv[1];
    const unsigned width = (unsigned)parse_number("WIDTH", argv[2], 16, 8192);
    const unsigned height = (unsigned)parse_number("HEIGHT", argv[3], 16, 8192);
    const long fps = parse_number("FPS", argv[4], 1, 240);

    const int count = argc - 5;
    struct frame* frames = calloc((size_t)count, sizeof *frames);
    if (!frames) die("out of memory");
    size_t largest = 0;
    for (int i = 0; i < count; i++) {
        frames[i] = load(argv[5 + i], width, height);
        if (frames[i].size > largest) largest = frames[i].size;
    }

    const int fd = open(device, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("cannot open %s: %s", device, strerror(errno));
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0)
        die("%s is not a V4L2 device: %s", device, strerror(errno));
    const unsigned caps =
        (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    /* v4l2loopback with exclusive_caps=1 announces OUTPUT only while nobody writes to it. */
    if (!(caps & V4L2_CAP_VIDEO_OUTPUT))
        die("%s (%s) is not a video output device (another feeder writing to it?)", device,
            (const char*)cap.card);

    /* The format the capture side will give. The loopback sizes its buffers by the format
     * (not by sizeimage), and write() cuts what does not fit: check they hold every file. */
    struct v4l2_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    fmt.fmt.pix.width = width;
    fmt.fmt.pix.height = height;
    fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
    fmt.fmt.pix.field = V4L2_FIELD_NONE;
    fmt.fmt.pix.sizeimage = (unsigned)largest;
    if (ioctl(fd, VIDIOC_S_FMT, &fmt) < 0)
        die("%s: VIDIOC_S_FMT MJPG %ux%u: %s", device, width, height, strerror(errno));
    if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_MJPEG || fmt.fmt.pix.width != width ||
        fmt.fmt.pix.height != height)
        die("%s: asked for MJPG %ux%u, the driver set %.4s %ux%u", device, width, height,
            (const char*)&fmt.fmt.pix.pixelformat, fmt.fmt.pix.width, fmt.fmt.pix.height);
    if (fmt.fmt.pix.sizeimage < largest)
        die("%s: buffers of %u bytes cannot take a %zu-byte JPEG", device, fmt.fmt.pix.sizeimage,
            largest);

    /* The rate the capture side announces (VIDIOC_G_PARM); not every driver takes it. */
    struct v4l2_streamparm parm;
    memset(&parm, 0, sizeof parm);
    parm.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    parm.parm.output.timeperframe.numerator = 1;
    parm.parm.output.timeperframe.denominator = (unsigned)fps;
    if (ioctl(fd, VIDIOC_S_PARM, &parm) < 0)
        fprintf(stderr, "mjpeg_feeder: %s: VIDIOC_S_PARM %ld fps: %s (ignored)\n", device, fps,
                strerror(errno));

    /* The first frame makes the loopback a capture device (exclusive_caps): before it, a
     * reader would find no camera there. */
    send_frame(fd, device, &frames[0]);
    printf("mjpeg_feeder: %s: MJPG %ux%u at %ld fps, %d file(s)\n", device, width, height, fps,
           count);
    fflush(stdout);
    if (background) {
        const pid_t pid = fork();
        if (pid < 0) die("fork: %s", strerror(errno));
        if (pid > 0) return 0; /* the caller goes on; the child keeps feeding */
    }

    /* Absolute deadlines: the rate does not drift with the time each write takes. After a
     * stall (the board paused) the schedule restarts from now instead of bursting. */
    const long period_ns = 1000000000L / fps;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (unsigned long i = 1;; i++) {
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        const long long late_ns =
            (long long)(now.tv_sec - next.tv_sec) * 1000000000LL + (now.tv_nsec - next.tv_nsec);
        if (late_ns > period_ns) next = now;
        int err;
        while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL)) == EINTR) {
        }
        if (err) die("clock_nanosleep: %s", strerror(err));
        send_frame(fd, device, &frames[i % (unsigned long)count]);
    }
}
