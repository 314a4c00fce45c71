// Native ALSA microphone capture: S16 interleaved from a PCM (hw:1,0, plughw:..., default, or
// a sound card named by its id or name), resampled when the device cannot give our rate.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "media/source.h"

namespace robotd::media {

struct AlsaCard {
    int index = -1;
    std::string id;        // short and stable: "Device", "PCH", "Loopback"
    std::string name;      // "USB PnP Sound Device"
    std::string longname;  // "C-Media Electronics Inc. USB PnP Sound Device at usb-..."
};

// The sound cards present now.
std::vector<AlsaCard> list_alsa_cards();

// The ALSA PCM to open for a mic_device string (pure: `cards` from list_alsa_cards()).
// "1,0" or "1" -> "hw:1,0"; anything with a colon (hw:1,0, plughw:CARD=x,DEV=0) and the
// standard PCM names (default, sysdefault, pulse, ...) as they are; a card's id or name
// (exact, else a unique case-insensitive part of its name), optionally followed by ",DEV",
// -> "hw:CARD=<id>,DEV=<n>", which survives reboots where card numbers do not. An unknown
// word is passed through too: it may be a PCM defined in asound.conf. "" on error.
std::string alsa_pcm_name(const std::string& device, const std::vector<AlsaCard>& cards,
                          std::string* error);

// Opens `pcm` (an ALSA PCM name, see alsa_pcm_name) for capture.
std::unique_ptr<Source> open_alsa_source(const std::string& pcm, int sample_rate, int channels,
                                         Logger& log, std::string* error);

}  // namespace robotd::media
