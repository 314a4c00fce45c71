// Private to config.cpp: the keys of the reference client's letsrobot.conf that robotd
// accepts but does not use yet, so an existing file loads without a warning per key.
#pragma once

#include <string_view>

namespace robotd {

struct UnusedSection {
    std::string_view section;
    std::string_view keys;  // space-separated, spelled as in the reference sample
};

// Every section and key of the reference sample (including its commented-out options
// video_filter and serial_name), minus what config.cpp reads. Key names compare
// case-insensitively, as Python's configparser did for the reference client; section
// names are case-sensitive there too. Sections with no keys ([festival], [owi_arm]) are
// listed so that it is clear they were not forgotten: any key in them is unknown.
constexpr UnusedSection kUnusedKeys[] = {
    {"robot", ""},
    {"camera", "type"},
    {"ffmpeg",
     "ffmpeg_location v4l2-ctl_location audio_codec video_codec video_filter "
     "audio_input_format audio_input_options audio_output_options "
     "video_input_format video_input_options video_output_options"},
    {"ffmpeg-arecord", "arecord_path arecord_format"},
    {"tts", ""},
    {"espeak", ""},
    {"festival", ""},
    {"pico", ""},
    {"polly", "robot_voice owner_voice random_voices access_key secrets_key region_name"},
    {"google_cloud", "ssml_enabled key_file language_code voice voice_pitch voice_speaking_rate"},
    {"cozmo",
     "forward_speed turn_speed volume charge_high charge_low send_online_status "
     "stay_on_dock annotated colour"},
    {"adafruit_pwm", "more_debug"},
    {"owi_arm", ""},
    {"gopigo2", "drive_time turn_time"},
    {"gopigo3", "drive_time turn_time"},
    {"pololu", "drivingSpeed"},
    {"mc33926", "drivingSpeed"},
    {"max7219", "ledrotate"},
    {"messenger", "enable host port username password robot_name"},
    {"logging", "log_file file_level console_level max_size num_backup"},
    {"misc",
     "custom_hardware custom_tts custom_chat custom_video watchdog enable_async "
     "no_chat_server server_override global_mods auto_wifi wpa_template "
     "check_internet check_freq"},
};

}  // namespace robotd
