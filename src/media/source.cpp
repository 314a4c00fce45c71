// The capture source factory: a config device string to the native V4L2 or ALSA source, or to
// the libav source when it names a libavdevice/libavformat input ("lavfi:...", "v4l2:...").
#include "media/source.h"

#include "media/alsa_source.h"
#include "media/lavf_source.h"
#include "media/v4l2_source.h"

namespace robotd::media {

namespace {

const char kVideoForms[] =
    "camera_device is a V4L2 device path (/dev/video0) or FORMAT:URL with a libav input "
    "format (lavfi:testsrc=size=640x480:rate=25, v4l2:/dev/video1)";
const char kAudioForms[] =
    "mic_device is an ALSA PCM (hw:1,0, plughw:1,0, default), a sound card's id or name, "
    "card,device (1,0), or FORMAT:URL with a libav input format (lavfi:sine, alsa:hw:1,0, "
    "pulse:default)";

}  // namespace

std::string format_prefix(const std::string& device) {
    const auto colon = device.find(':');
    if (colon == std::string::npos || colon == 0) return "";
    for (size_t i = 0; i < colon; ++i) {
        const char c = device[i];
        const bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!word) return "";
    }
    return device.substr(0, colon);
}

std::string mic_device_or_num(const std::string& mic_device, const std::string& mic_num) {
    if (!mic_device.empty()) return mic_device;
    if (mic_num.empty()) return "";
    return "hw:" + mic_num;
}

std::unique_ptr<Source> open_video_source(const std::string& device, int width, int height, int fps,
                                          Logger& log, std::string* error,
                                          const VideoOptions& options) {
    if (width < 16 || height < 16 || width > 4096 || height > 4096 || width % 2 || height % 2) {
        *error = "bad video size " + std::to_string(width) + "x" + std::to_string(height) +
                 " (even, 16..4096)";
        return nullptr;
    }
    if (fps < 1 || fps > 120) {
        *error = "bad frame rate " + std::to_string(fps);
        return nullptr;
    }
    const std::string prefix = format_prefix(device);
    // Only a prefix libav knows is a format: a path may contain colons too
    // (/dev/v4l/by-path/...-usb-0:1.3:1.0-video-index0), and starts with '/' besides.
    if (!prefix.empty() && is_lavf_input_format(prefix))
        return open_lavf_video(prefix, device.substr(prefix.size() + 1), width, height, fps, log,
                               error);
    if (!device.empty() && device[0] == '/')
        return open_v4l2_source(device, width, height, fps, log, error, options);
    if (!prefix.empty())
        *error =
            "camera_device '" + device + "': unknown input format '" + prefix + "'; " + kVideoForms;
    else
        *error = "camera_device '" + device + "' is not a device path; " + kVideoForms;
    return nullptr;
}

std::unique_ptr<Source> open_audio_source(const std::string& device, int sample_rate, int channels,
                                          Logger& log, std::string* error) {
    if (sample_rate < 8000 || sample_rate > 192000) {
        *error = "bad audio sample rate " + std::to_string(sample_rate);
        return nullptr;
    }
    if (channels < 1 || channels > 8) {
        *error = "bad audio channel count " + std::to_string(channels);
        return nullptr;
    }
    const std::string prefix = format_prefix(device);
    // "hw:1,0" has a colon too: ALSA's unless libav knows the prefix as a format.
    if (!prefix.empty() && is_lavf_input_format(prefix))
        return open_lavf_audio(prefix, device.substr(prefix.size() + 1), sample_rate, channels, log,
                               error);
    const std::string pcm = alsa_pcm_name(device, list_alsa_cards(), error);
    if (pcm.empty()) return nullptr;
    auto source = open_alsa_source(pcm, sample_rate, channels, log, error);
    if (!source && error->rfind("cannot open", 0) == 0) {
        // The name itself was not understood: say what the key takes.
        *error += "; ";
        if (!prefix.empty() && prefix != "hw" && prefix != "plughw")
            *error += "'" + prefix + "' is not a libav input format either; ";
        *error += kAudioForms;
    }
    return source;
}

}  // namespace robotd::media
