// Speech on a real loop, played to ALSA's `null` device: espeak-ng end to end, a full queue
// drops its oldest, a hanging engine is killed and the next message spoken, a missing engine
// is one error line and speech off, mute stops and clears, messages are cut on a character.
#include "speech/speech.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "loop_harness.h"
#include "net/reaper.h"
#include "speech_test_util.h"
#include "stderr_capture.h"
#include "temp_dir.h"

using namespace robotd;
using namespace robotd::speech;

TEST(SpeechCut, CutsOnACharacterBoundary) {
    bool cut = true;
    EXPECT_EQ(cut_utf8("hello", 5, &cut), "hello");
    EXPECT_FALSE(cut);
    EXPECT_EQ(cut_utf8("hello", 3, &cut), "hel");
    EXPECT_TRUE(cut);
    // "héllo wörld": é and ö are two bytes each; the cut never splits one.
    EXPECT_EQ(cut_utf8("h\xC3\xA9llo", 2, &cut), "h\xC3\xA9");
    EXPECT_EQ(cut_utf8("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 1, &cut), "\xF0\x9F\x98\x80");
    EXPECT_TRUE(cut);
}

TEST(SpeechCut, InvalidUtf8IsCutToo) {
    // Stray continuation bytes belong to no character: each counts as one, so max_length
    // bounds every text (and its write to the engine's stdin pipe), valid UTF-8 or not.
    bool cut = false;
    EXPECT_EQ(cut_utf8(std::string(100000, '\x80'), 4, &cut).size(), 4u);
    EXPECT_TRUE(cut);
    // A lead byte takes at most its own continuation bytes.
    EXPECT_EQ(cut_utf8("\xC3\xA9\xA9\xA9", 2, &cut), "\xC3\xA9\xA9");
    EXPECT_TRUE(cut);
    EXPECT_EQ(cut_utf8("a\xE2\x82\xAC", 2, &cut), "a\xE2\x82\xAC");
    EXPECT_FALSE(cut);
}

class SpeechTest : public LoopTest {
  protected:
    void SetUp() override {
        LoopTest::SetUp();
        wav_ = dir_.file("tone.wav");
        write_wav_file(wav_, tone_wav(0.05));
        log_file_ = dir_.file("said");
    }
    // A custom engine: it appends the text it was given to log_file_, then (unless the text
    // starts with "hang", when it sleeps) writes the tone; it never runs a shell on the text.
    SpeechSettings custom() {
        SpeechSettings s;
        s.engine.type = EngineType::Custom;
        s.engine.command =
            "sh -c 'read -r t; printf \"%s\\n\" \"$t\" >> \"$0\"; case \"$t\" in "
            "hang*) exec sleep 60;; esac; cat \"$1\"' " +
            log_file_ + " " + wav_;
        s.speaker_device = "null";
        return s;
    }
    TempDir dir_{"robotd-speech"};
    std::string wav_, log_file_;
};

TEST_F(SpeechTest, EspeakNgIsSpokenToTheNullDevice) {
    SpeechSettings s;
    s.engine.type = EngineType::Espeak;
    s.speaker_device = "null";
    s.volume = 50;
    Speech speech(loop_, s);
    ASSERT_TRUE(speech.enabled());
    speech.say("Hello from the robot.", "alice");
    EXPECT_FALSE(speech.idle());
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    EXPECT_EQ(speech.stats().spoken, 1u);
    EXPECT_EQ(speech.stats().failed, 0u);
}

TEST_F(SpeechTest, AFullQueueDropsTheOldestWaitingMessage) {
    SpeechSettings s = custom();
    s.queue = 2;
    Speech speech(loop_, s);
    ASSERT_TRUE(speech.enabled());
    for (const char* text : {"one", "two", "three", "four", "five"}) speech.say(text, "bob");
    // "one" is being made; two and three waited and gave way to four and five.
    EXPECT_EQ(speech.waiting(), 2u);
    EXPECT_EQ(speech.stats().dropped, 2u);
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    EXPECT_EQ(slurp(log_file_), "one\nfour\nfive\n");
    EXPECT_EQ(speech.stats().spoken, 3u);
}

TEST_F(SpeechTest, AHangingEngineIsKilledAndTheNextMessageSpoken) {
    SpeechSettings s = custom();
    s.timeout_s = 1;
    StderrCapture log;
    Speech speech(loop_, s);
    speech.say("hang forever", "carol");
    speech.say("after", "carol");
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    log.restore();
    EXPECT_EQ(speech.stats().killed, 1u);
    EXPECT_EQ(speech.stats().spoken, 1u);
    EXPECT_EQ(slurp(log_file_), "hang forever\nafter\n");
    EXPECT_EQ(log.count("did not finish within 1 s; killed it"), 1u) << log.text();
    // The killed engine does not outlive its kill grace.
    EXPECT_TRUE(run_until([&] { return loop_.reaper().alive() == 0; }, 10000));
}

TEST_F(SpeechTest, AMissingEngineIsOneErrorLineAndSpeechOff) {
    SpeechSettings s;
    s.engine.type = EngineType::Custom;
    s.engine.command = "robotd-no-such-engine --wav";
    s.speaker_device = "null";
    StderrCapture log;
    Speech speech(loop_, s);
    speech.say("anyone there?", "dave");
    speech.say("hello?", "dave");
    run_for(100);
    log.restore();
    EXPECT_FALSE(speech.enabled());
    EXPECT_TRUE(speech.idle());
    EXPECT_EQ(log.count("'robotd-no-such-engine' is not found"), 1u) << log.text();
    EXPECT_EQ(log.count("speech is off"), 1u) << log.text();
    EXPECT_EQ(speech.stats().failed, 0u);
    // A reload that names an engine that exists turns it on.
    speech.reconfigure(custom());
    EXPECT_TRUE(speech.enabled());
}

TEST_F(SpeechTest, MuteStopsWhatIsBeingMadeAndClearsTheQueue) {
    SpeechSettings s = custom();
    Speech speech(loop_, s);
    speech.say("hang on", "erin");
    speech.say("two", "erin");
    speech.say("three", "erin");
    ASSERT_TRUE(run_until([&] { return slurp(log_file_) == "hang on\n"; }, 10000));
    speech.mute(true);
    EXPECT_TRUE(speech.muted());
    EXPECT_TRUE(speech.idle());
    EXPECT_EQ(speech.waiting(), 0u);
    speech.say("while muted", "erin");
    EXPECT_TRUE(speech.idle());
    EXPECT_TRUE(run_until([&] { return loop_.reaper().alive() == 0; }, 10000));
    speech.mute(false);
    speech.say("back", "erin");
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    EXPECT_EQ(slurp(log_file_), "hang on\nback\n");
    EXPECT_EQ(speech.stats().spoken, 1u);
    EXPECT_EQ(speech.stats().killed, 0u);
}

TEST_F(SpeechTest, ALongMessageIsCutAndAnEngineWritingJunkFails) {
    SpeechSettings s = custom();
    s.max_length = 4;
    StderrCapture log;
    Speech speech(loop_, s);
    speech.say("abcdefgh", "gina");
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    EXPECT_EQ(slurp(log_file_), "abcd\n");
    EXPECT_EQ(speech.stats().cut, 1u);
    EXPECT_EQ(speech.stats().spoken, 1u);
    // An engine that prints text instead of a WAV.
    SpeechSettings junk = custom();
    junk.engine.command = "sh -c 'cat; echo oops, this is no WAV'";
    speech.reconfigure(junk);
    speech.say("text", "gina");
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    log.restore();
    EXPECT_EQ(speech.stats().failed, 1u);
    EXPECT_EQ(log.count("not a WAV stream"), 1u) << log.text();
}

TEST_F(SpeechTest, SpeechTurnedOffByAReloadStopsTheMessageInTheMaking) {
    SpeechSettings s = custom();
    s.engine.command = "sh -c 'cat >/dev/null; sleep 1; cat \"$0\"' " + wav_;
    Speech speech(loop_, s);
    speech.say("one", "fay");
    speech.say("two", "fay");
    ASSERT_FALSE(speech.idle());
    SpeechSettings off = s;
    off.engine.type = EngineType::None;
    speech.reconfigure(off);
    EXPECT_FALSE(speech.enabled());
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    run_for(1500);  // past the engine's own end: nothing is played after "speech is off"
    EXPECT_EQ(speech.stats().spoken, 0u);
    EXPECT_TRUE(speech.idle());
    EXPECT_TRUE(run_until([&] { return loop_.reaper().alive() == 0; }, 10000));
}

// pico2wave is non-free (not in Debian main, not on this machine): a fake of that name in a
// PATH directory of the test's own writes what pico2wave would, a finished WAV at its -w file
// (or junk when the text says so). The player thread reads it, not the loop.
TEST_F(SpeechTest, AFileEnginesWavIsReadOffTheLoopAndAJunkFileIsOneError) {
    const std::string bin = dir_.file("fake-pico-bin");
    ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
    const std::string fake = bin + "/pico2wave";
    std::ofstream(fake) << "#!/bin/sh\n"
                           "while [ $# -gt 0 ]; do case \"$1\" in -w) out=$2; shift 2;; --) shift;"
                           " break;; *) shift;; esac; done\n"
                           "printf '%s\\n' \"$1\" >> '" +
                               log_file_ +
                               "'\n"
                               "case \"$1\" in junk*) echo no wav > \"$out\";; *) cat '" +
                               wav_ + "' > \"$out\";; esac\n";
    ASSERT_EQ(chmod(fake.c_str(), 0755), 0);
    const std::string old_path = getenv("PATH") ? getenv("PATH") : "";
    setenv("PATH", (bin + ":" + old_path).c_str(), 1);
    SpeechSettings s;
    s.engine.type = EngineType::Pico;
    s.speaker_device = "null";
    StderrCapture log;
    Speech speech(loop_, s);
    ASSERT_TRUE(speech.enabled());
    const std::string tmp = dir_.file("tmp");
    ASSERT_EQ(mkdir(tmp.c_str(), 0755), 0);
    const std::string old_tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "";
    setenv("TMPDIR", tmp.c_str(), 1);
    speech.say("junk please", "hal");
    speech.say("hello", "hal");
    ASSERT_TRUE(run_until([&] { return speech.idle(); }, 20000));
    if (old_tmp.empty())
        unsetenv("TMPDIR");
    else
        setenv("TMPDIR", old_tmp.c_str(), 1);
    log.restore();
    EXPECT_EQ(slurp(log_file_), "junk please\nhello\n");
    EXPECT_EQ(speech.stats().failed, 1u);
    EXPECT_EQ(speech.stats().spoken, 1u);
    EXPECT_EQ(log.count("message from hal not spoken: pico2wave: "), 1u) << log.text();
    // Each message's private directory went with it.
    DIR* d = opendir(tmp.c_str());
    ASSERT_NE(d, nullptr);
    int entries = 0;
    while (dirent* e = readdir(d)) entries += e->d_name[0] != '.';
    closedir(d);
    EXPECT_EQ(entries, 0);
}
