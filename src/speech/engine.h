// TTS engines as child processes started without a shell: which program, which argv for one
// message, where the WAV comes back (the child's stdout, or a private temporary file).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace robotd::speech {

enum class EngineType { None, Espeak, Festival, Pico, Flite, Custom };

// "espeak", "festival", "pico", "flite", "custom", "none" (ASCII case-insensitive).
bool parse_engine_type(std::string_view text, EngineType* type);
const char* engine_name(EngineType type);

struct EngineSettings {
    EngineType type = EngineType::None;
    std::string command;      // custom: an argv template, the text on stdin, WAV on stdout
    bool espeak_male = true;  // [espeak] male
    int espeak_voice = 1;     // [espeak] voice_number: the variant en+m<N> / en+f<N>
    std::string pico_voice;   // [pico] voice: en-US, en-GB, de-DE, ...
};

// How one message is spoken.
struct EngineRun {
    std::vector<std::string> argv;
    bool text_on_stdin = true;
    // Empty: the WAV comes on the child's stdout. Else the file it is written to (which the
    // caller made, private, before the start and removes after).
    std::string wav_file;
};

// Whether a program is found (argv[0]: searched in PATH like Child::start does, or a path).
using ProgramFinder = std::function<bool(const std::string& program)>;
bool program_in_path(const std::string& program);

class Engine {
  public:
    // Picks the program for `settings` among those `find` sees. False with `error` set to one
    // line naming what to install (or what is wrong with the custom command); None is a
    // valid engine that speaks nothing.
    bool resolve(const EngineSettings& settings, const ProgramFinder& find, std::string* error);
    EngineType type() const { return settings_.type; }
    bool speaks() const { return settings_.type != EngineType::None && !program_.empty(); }
    // The engine writes only files (pico, flite): run() needs a `wav_file` path.
    bool needs_file() const;
    const std::string& program() const { return program_; }
    // The child to start for `text` (already cut to length); `wav_file` when needs_file().
    EngineRun run(const std::string& text, const std::string& wav_file) const;

  private:
    EngineSettings settings_;
    std::string program_;              // argv[0]: espeak-ng or espeak, text2wave, ...
    std::vector<std::string> custom_;  // the split custom command
};

// A private temporary directory (mode 0700) holding one file made with mkstemps for an engine
// to write its WAV to; both removed when it goes. `path()` is empty when it could not be made.
class TempWav {
  public:
    explicit TempWav(std::string* error);
    ~TempWav();
    TempWav(const TempWav&) = delete;
    TempWav& operator=(const TempWav&) = delete;
    const std::string& path() const { return path_; }
    const std::string& dir() const { return dir_; }

  private:
    std::string dir_;
    std::string path_;
};

}  // namespace robotd::speech
