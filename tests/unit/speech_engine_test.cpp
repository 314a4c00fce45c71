// TTS engines: the argv of each (festival, pico and flite are not installed here: their argv
// is checked without running them), a missing engine named with its package, the private
// temporary file, and espeak-ng really run to a WAV of plausible length.
#include "speech/engine.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "loop_harness.h"
#include "net/child.h"
#include "speech/wav.h"

using namespace robotd;
using namespace robotd::speech;

namespace {

// A PATH holding exactly `present`: a fake at the boundary of what this machine has installed.
ProgramFinder fake_path(std::set<std::string> present) {
    return [present](const std::string& p) { return present.count(p) > 0; };
}

EngineSettings settings(EngineType type) {
    EngineSettings s;
    s.type = type;
    return s;
}

using Argv = std::vector<std::string>;

}  // namespace

TEST(SpeechEngine, TypesParseInAnyCase) {
    EngineType t = EngineType::None;
    EXPECT_TRUE(parse_engine_type("ESPEAK", &t));
    EXPECT_EQ(t, EngineType::Espeak);
    EXPECT_TRUE(parse_engine_type("Custom", &t));
    EXPECT_EQ(t, EngineType::Custom);
    EXPECT_FALSE(parse_engine_type("polly", &t));
    EXPECT_STREQ(engine_name(EngineType::Flite), "flite");
}

TEST(SpeechEngine, EspeakPrefersEspeakNgAndTakesTheReferenceVoices) {
    Engine e;
    std::string error;
    EngineSettings s = settings(EngineType::Espeak);
    s.espeak_male = true;
    s.espeak_voice = 3;
    ASSERT_TRUE(e.resolve(s, fake_path({"espeak", "espeak-ng"}), &error)) << error;
    EngineRun r = e.run("hello", "");
    EXPECT_EQ(r.argv, (Argv{"espeak-ng", "--stdout", "-b", "1", "-v", "en+m3"}));
    EXPECT_TRUE(r.text_on_stdin);
    EXPECT_TRUE(r.wav_file.empty());
    s.espeak_male = false;
    ASSERT_TRUE(e.resolve(s, fake_path({"espeak"}), &error)) << error;
    EXPECT_EQ(e.run("hello", "").argv, (Argv{"espeak", "--stdout", "-b", "1", "-v", "en+f3"}));
    s.espeak_voice = 7;  // espeak-ng's female variants end at f5
    ASSERT_TRUE(e.resolve(s, fake_path({"espeak"}), &error)) << error;
    EXPECT_EQ(e.run("hello", "").argv.back(), "en+f5");
}

TEST(SpeechEngine, FestivalPicoAndFliteArgv) {
    Engine e;
    std::string error;
    const auto all = fake_path({"text2wave", "pico2wave", "flite"});
    ASSERT_TRUE(e.resolve(settings(EngineType::Festival), all, &error)) << error;
    EXPECT_FALSE(e.needs_file());
    EngineRun r = e.run("hi there", "");
    EXPECT_EQ(r.argv, (Argv{"text2wave"}));
    EXPECT_TRUE(r.text_on_stdin);

    EngineSettings pico = settings(EngineType::Pico);
    pico.pico_voice = "en-GB";
    ASSERT_TRUE(e.resolve(pico, all, &error)) << error;
    EXPECT_TRUE(e.needs_file());
    r = e.run("-rf hi", "/tmp/d/x.wav");
    EXPECT_EQ(r.argv, (Argv{"pico2wave", "-l", "en-GB", "-w", "/tmp/d/x.wav", "--", "-rf hi"}));
    EXPECT_FALSE(r.text_on_stdin);
    EXPECT_EQ(r.wav_file, "/tmp/d/x.wav");

    ASSERT_TRUE(e.resolve(settings(EngineType::Flite), all, &error)) << error;
    EXPECT_TRUE(e.needs_file());
    r = e.run("-o hi", "/tmp/d/y.wav");
    EXPECT_EQ(r.argv, (Argv{"flite", "-t", "-o hi", "-o", "/tmp/d/y.wav"}));
    EXPECT_FALSE(r.text_on_stdin);
}

TEST(SpeechEngine, CustomIsSplitWithoutAShell) {
    Engine e;
    std::string error;
    EngineSettings s = settings(EngineType::Custom);
    s.command = "my-tts --voice 'a b' $HOME;x";
    ASSERT_TRUE(e.resolve(s, fake_path({"my-tts"}), &error)) << error;
    const EngineRun r = e.run("text", "");
    EXPECT_EQ(r.argv, (Argv{"my-tts", "--voice", "a b", "$HOME;x"}));
    EXPECT_TRUE(r.text_on_stdin);
    EXPECT_TRUE(r.wav_file.empty());
}

TEST(SpeechEngine, AMissingEngineIsOneLineNamingThePackage) {
    Engine e;
    std::string error;
    const auto none = fake_path({});
    const std::pair<EngineType, const char*> cases[] = {
        {EngineType::Espeak,
         "neither espeak-ng nor espeak is installed (install the espeak-ng "
         "package)"},
        {EngineType::Festival, "'text2wave' is not installed (install the festival package)"},
        {EngineType::Pico, "install the libttspico-utils"},
        {EngineType::Flite, "'flite' is not installed (install the flite package)"},
    };
    for (const auto& [type, text] : cases) {
        error.clear();
        EXPECT_FALSE(e.resolve(settings(type), none, &error));
        EXPECT_NE(error.find(text), std::string::npos) << error;
        EXPECT_EQ(error.find('\n'), std::string::npos);
        EXPECT_FALSE(e.speaks());
    }
    EngineSettings s = settings(EngineType::Custom);
    s.command = "robotd-no-such-engine --wav";
    EXPECT_FALSE(e.resolve(s, program_in_path, &error));
    EXPECT_NE(error.find("'robotd-no-such-engine' is not found"), std::string::npos) << error;
    ASSERT_TRUE(e.resolve(settings(EngineType::None), none, &error));
    EXPECT_FALSE(e.speaks());
}

TEST(SpeechEngine, TheTemporaryWavIsPrivateAndRemoved) {
    std::string dir, path, error;
    {
        TempWav t(&error);
        ASSERT_FALSE(t.path().empty()) << error;
        dir = t.dir();
        path = t.path();
        struct stat st;
        ASSERT_EQ(stat(dir.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0700u);
        EXPECT_EQ(path.substr(path.size() - 4), ".wav");
        EXPECT_EQ(access(path.c_str(), F_OK), 0);
    }
    EXPECT_NE(access(path.c_str(), F_OK), 0);
    EXPECT_NE(access(dir.c_str(), F_OK), 0);
}

class SpeechEspeak : public LoopTest {};

TEST_F(SpeechEspeak, EspeakNgReallyMakesAWavOfPlausibleLength) {
    Engine e;
    std::string error;
    EngineSettings s = settings(EngineType::Espeak);
    s.espeak_voice = 3;
    ASSERT_TRUE(e.resolve(s, program_in_path, &error)) << error << " (make deps installs it)";
    const EngineRun run = e.run("Hello, I am a robot.", "");
    Child child(loop_);
    bool exited = false;
    int status = -1;
    child.on_exit([&](int st) {
        exited = true;
        status = st;
    });
    ASSERT_TRUE(child.start(run.argv, Child::Pipes{true, true}, &error)) << error;
    const std::string text = "Hello, I am a robot.\n";
    ASSERT_EQ(write(child.stdin_fd(), text.data(), text.size()), ssize_t(text.size()));
    child.close_stdin();
    WavParser parser;
    bool eof = false;
    // The pipe holds less than the WAV: read as it comes, or the engine would wait on us.
    ASSERT_TRUE(run_until(
        [&] {
            uint8_t buf[8192];
            ssize_t n;
            while (!eof && (n = read(child.stdout_fd(), buf, sizeof buf)) != 0) {
                if (n < 0) return false;
                EXPECT_TRUE(parser.feed(buf, size_t(n))) << parser.error();
            }
            eof = true;
            return exited;
        },
        10000));
    EXPECT_EQ(status, 0);
    ASSERT_TRUE(parser.finish()) << parser.error();
    Wav wav = parser.take();
    EXPECT_EQ(wav.format.bits, 16u);
    EXPECT_EQ(wav.format.channels, 1u);
    EXPECT_GT(wav.pcm.size(), 1000u);
    EXPECT_GT(wav.seconds(), 0.3);
    EXPECT_LT(wav.seconds(), 10.0);
}
