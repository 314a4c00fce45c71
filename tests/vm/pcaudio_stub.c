// A stand-in for libpcaudio.so.0 on the virtual board, so that Debian's espeak-ng loads without
// PulseAudio: the real library links libpulse and libpulse-simple, whose dependency tree (D-Bus,
// systemd, X11, libsndfile and its codecs) would more than double the initramfs. espeak-ng asks
// pcaudio for an audio device only when it plays sound itself; writing a WAV (--stdout, -w),
// as robotd has it do, never does. Here no device can be made, and every call says so.
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct audio_object;

struct audio_object *create_audio_device_object(const char *device, const char *application_name,
                                                const char *description) {
    (void)device;
    (void)application_name;
    (void)description;
    return NULL;
}

int audio_object_open(struct audio_object *object, int format, uint32_t rate, uint8_t channels) {
    (void)object;
    (void)format;
    (void)rate;
    (void)channels;
    return ENODEV;
}

void audio_object_close(struct audio_object *object) { (void)object; }

void audio_object_destroy(struct audio_object *object) { (void)object; }

int audio_object_write(struct audio_object *object, const void *data, size_t bytes) {
    (void)object;
    (void)data;
    (void)bytes;
    return ENODEV;
}

int audio_object_drain(struct audio_object *object) {
    (void)object;
    return ENODEV;
}

int audio_object_flush(struct audio_object *object) {
    (void)object;
    return ENODEV;
}

const char *audio_object_strerror(struct audio_object *object, int error) {
    (void)object;
    (void)error;
    return "no audio output on this board (libpcaudio stand-in; espeak-ng writes WAV only)";
}
