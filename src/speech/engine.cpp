#include "speech/engine.h"

#include "net/child.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/argv.h"
#include "core/text.h"

namespace robotd::speech {

namespace {

struct Named {
    EngineType type;
    const char* name;
};
constexpr Named kNames[] = {{EngineType::Espeak, "espeak"}, {EngineType::Festival, "festival"},
                            {EngineType::Pico, "pico"},     {EngineType::Flite, "flite"},
                            {EngineType::Custom, "custom"}, {EngineType::None, "none"}};

}  // namespace

bool parse_engine_type(std::string_view text, EngineType* type) {
    for (const auto& n : kNames)
        if (iequals(trim(text), n.name)) {
            *type = n.type;
            return true;
        }
    return false;
}

const char* engine_name(EngineType type) {
    for (const auto& n : kNames)
        if (n.type == type) return n.name;
    return "?";
}

bool program_in_path(const std::string& program) {
    std::string path, error;
    return resolve_program(program, &path, &error) && executable_file(path);
}

bool Engine::resolve(const EngineSettings& settings, const ProgramFinder& find,
                     std::string* error) {
    settings_ = settings;
    program_.clear();
    custom_.clear();
    auto need = [&](const char* program, const char* package) {
        if (find(program)) {
            program_ = program;
            return true;
        }
        *error = std::string("[tts] type ") + engine_name(settings.type) + ": '" + program +
                 "' is not installed (install the " + package + " package)";
        return false;
    };
    switch (settings.type) {
        case EngineType::None:
            return true;
        case EngineType::Espeak:
            // Debian's espeak-ng; the original espeak takes the same options.
            if (find("espeak-ng")) {
                program_ = "espeak-ng";
                return true;
            }
            if (find("espeak")) {
                program_ = "espeak";
                return true;
            }
            *error =
                "[tts] type espeak: neither espeak-ng nor espeak is installed (install the "
                "espeak-ng package)";
            return false;
        case EngineType::Festival:
            return need("text2wave", "festival");
        case EngineType::Pico:
            return need("pico2wave", "libttspico-utils (Debian non-free)");
        case EngineType::Flite:
            return need("flite", "flite");
        case EngineType::Custom: {
            std::string why;
            if (!split_argv(settings.command, &custom_, &why)) {
                *error = "[tts] command: " + why;
                return false;
            }
            if (!find(custom_[0])) {
                *error = "[tts] command: '" + custom_[0] +
                         "' is not found (PATH: " + (getenv("PATH") ? getenv("PATH") : "") + ")";
                custom_.clear();
                return false;
            }
            program_ = custom_[0];
            return true;
        }
    }
    return false;
}

bool Engine::needs_file() const {
    return settings_.type == EngineType::Pico || settings_.type == EngineType::Flite;
}

EngineRun Engine::run(const std::string& text, const std::string& wav_file) const {
    EngineRun r;
    switch (settings_.type) {
        case EngineType::None:
            break;
        case EngineType::Espeak: {
            // The reference's voices: English with the variant m<N> or f<N>. espeak-ng has
            // f1..f5 only (and quietly uses its default for a number it lacks).
            int n = settings_.espeak_voice;
            if (!settings_.espeak_male && n > 5) n = 5;
            const std::string voice =
                std::string("en+") + (settings_.espeak_male ? "m" : "f") + std::to_string(n);
            // -b 1: the text is UTF-8, whatever the locale robotd runs in.
            r.argv = {program_, "--stdout", "-b", "1", "-v", voice};
            break;
        }
        case EngineType::Festival:
            // No text file: text2wave reads its stdin; no -o: the WAV goes to stdout.
            r.argv = {program_};
            break;
        case EngineType::Pico:
            // pico2wave takes the text only as an argument and writes only a file whose name
            // ends in .wav; "--" keeps a message starting with '-' from being an option.
            r.argv = {
                program_, "-l",     settings_.pico_voice.empty() ? "en-US" : settings_.pico_voice,
                "-w",     wav_file, "--",
                text};
            r.text_on_stdin = false;
            r.wav_file = wav_file;
            break;
        case EngineType::Flite:
            // -t: the next argument is the text, whatever it starts with.
            r.argv = {program_, "-t", text, "-o", wav_file};
            r.text_on_stdin = false;
            r.wav_file = wav_file;
            break;
        case EngineType::Custom:
            r.argv = custom_;
            break;
    }
    return r;
}

TempWav::TempWav(std::string* error) {
    const char* env = getenv("TMPDIR");
    std::string dir = std::string(env && *env ? env : "/tmp") + "/robotd-tts-XXXXXX";
    // mkdtemp makes it 0700: nobody else can swap the file for a link or read the speech.
    if (!mkdtemp(&dir[0])) {
        *error = "cannot make a temporary directory in " + dir.substr(0, dir.rfind('/')) + ": " +
                 strerror(errno);
        return;
    }
    dir_ = dir;
    std::string file = dir_ + "/speech-XXXXXX.wav";
    const int fd = mkstemps(&file[0], 4);
    if (fd < 0) {
        *error = "cannot make a temporary file in " + dir_ + ": " + strerror(errno);
        return;
    }
    close(fd);
    path_ = file;
}

TempWav::~TempWav() {
    if (!path_.empty()) unlink(path_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
}

}  // namespace robotd::speech
