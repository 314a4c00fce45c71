// The state file on disk: written atomically off the caller's thread and read back, a
// missing file quietly the defaults, a corrupt one a warning and the defaults, an unwritable
// place a warning and no crash.
#include "robot/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "stderr_capture.h"
#include "temp_dir.h"

using namespace robotd;

TEST(StateFile, SavedStateIsReadBack) {
    TempDir dir;
    const std::string path = dir.file("state.json");
    Logger log(LogLevel::Info, LogSink::Stderr);
    Moderation m;
    std::string why;
    m.ban("Troll", &why);
    m.table_mode = true;
    {
        StateFile f(log, path);
        f.save("stale");  // replaced before or after: the last one wins
        f.save(moderation_to_json(m, Moderation{}));
        f.wait_idle();
        EXPECT_GE(f.written(), 1u);
    }
    EXPECT_EQ(slurp(path), moderation_to_json(m, Moderation{}));
    StateFile f(log, path);
    const Moderation r = f.load(Moderation{}, 0, 0);
    EXPECT_TRUE(r.is_banned("troll"));
    EXPECT_TRUE(r.table_mode);
}

TEST(StateFile, MissingIsTheDefaultsQuietlyCorruptIsOneWarning) {
    TempDir dir;
    const std::string path = dir.file("state.json");
    Logger log(LogLevel::Info, LogSink::Stderr);
    Moderation defaults;
    defaults.anon_tts = false;
    {
        StderrCapture cap;
        StateFile f(log, path);
        EXPECT_FALSE(f.load(defaults, 0, 0).anon_tts);
        EXPECT_EQ(cap.text().find("state"), std::string::npos) << cap.text();
    }
    std::ofstream(path) << "{\"anon_tts\": tr";  // truncated
    StderrCapture cap;
    StateFile f(log, path);
    EXPECT_FALSE(f.load(defaults, 0, 0).anon_tts);
    const std::string text = cap.text();
    EXPECT_NE(text.find("not a valid state file"), std::string::npos) << text;
}

TEST(StateFile, AnUnwritablePlaceIsOneWarningPerOutage) {
    TempDir dir;
    const std::string file = dir.file("plain-file");
    std::ofstream(file) << "x";
    Logger log(LogLevel::Info, LogSink::Stderr);
    StderrCapture cap;
    {
        // A path under a regular file: every write fails, even as root.
        StateFile f(log, file + "/state.json");
        f.save("{}");
        f.wait_idle();
        f.save("{}");
        f.wait_idle();
        EXPECT_EQ(f.written(), 0u);
    }
    const std::string text = cap.text();
    const size_t first = text.find("cannot save the chat choices");
    ASSERT_NE(first, std::string::npos) << text;
    EXPECT_EQ(text.find("cannot save the chat choices", first + 1), std::string::npos) << text;
}
