#include "core/log.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/unique_fd.h"

using namespace robotd;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Every byte as %XX, in upper or lower case hex.
std::string percent_all(const std::string& s, bool upper) {
    std::string out;
    char buf[4];
    for (unsigned char c : s) {
        std::snprintf(buf, sizeof buf, upper ? "%%%02X" : "%%%02x", c);
        out += buf;
    }
    return out;
}

std::string logged(Logger& log, LogLevel level, const char* text) {
    testing::internal::CaptureStderr();
    log.log(level, "t", "%s", text);
    return testing::internal::GetCapturedStderr();
}

}  // namespace

// ---- Masking ----

TEST(LogMask, SecretsAreMaskedEverywhereInALine) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    log.set_secrets({"hello", "", "k3y"});
    EXPECT_EQ(log.mask("POST /hello/640/480/ key=k3y again hello"),
              "POST /****/640/480/ key=**** again ****");
}

TEST(LogMask, ASecretInsideTheMaskIsNotALoop) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    log.set_secrets({"*"});
    EXPECT_EQ(log.mask("a*b"), "a****b");
}

TEST(LogMask, PercentEncodedOnlyTheReservedBytes) {
    // What a path segment encoder makes of a key with reserved characters.
    const std::vector<std::string> secrets = {"my key/1?&=#"};
    EXPECT_EQ(mask_secrets("GET /my%20key%2F1%3F%26%3D%23/640/480", secrets), "GET /****/640/480");
    EXPECT_EQ(mask_secrets("GET /my%20key%2f1%3f%26%3d%23/640/480", secrets), "GET /****/640/480");
    EXPECT_EQ(mask_secrets("q=my+key%2F1%3F%26%3D%23&x=1", secrets), "q=****&x=1");
}

TEST(LogMask, PercentEncodedEveryByteInEitherCase) {
    const std::string secret = "s3cr-t";
    for (bool upper : {true, false}) {
        const std::string line = "/get_wifi_login/" + percent_all(secret, upper) + "?v=2";
        EXPECT_EQ(mask_secrets(line, {secret}), "/get_wifi_login/****?v=2") << line;
    }
    // A mix of encoded and plain bytes, and UTF-8 encoded byte by byte.
    EXPECT_EQ(mask_secrets("a s%33c%72-t b", {secret}), "a **** b");
    EXPECT_EQ(mask_secrets("x=p%C3%A4ss", {"p\xC3\xA4ss"}), "x=****");
}

TEST(LogMask, SpaceAsPlusOrPercent20OrItself) {
    const std::vector<std::string> secrets = {"open sesame"};
    EXPECT_EQ(mask_secrets("[open+sesame]", secrets), "[****]");
    EXPECT_EQ(mask_secrets("[open%20sesame]", secrets), "[****]");
    EXPECT_EQ(mask_secrets("[open sesame]", secrets), "[****]");
    // A '+' that is really in the secret is itself, and %2B.
    EXPECT_EQ(mask_secrets("[a+b] [a%2Bb] [a b]", {"a+b"}), "[****] [****] [a b]");
}

TEST(LogMask, JsonEscapedForms) {
    const std::string secret = "p\"w\\d/\u00e9\xF0\x9F\x98\x80";  // ", \, /, é and an emoji
    EXPECT_EQ(mask_secrets("{\"k\":\"p\\\"w\\\\d\\/\\u00e9\\ud83d\\ude00\"}", {secret}),
              "{\"k\":\"****\"}");
    EXPECT_EQ(mask_secrets("{\"k\":\"p\\\"w\\\\d/\\u00E9\xF0\x9F\x98\x80\"}", {secret}),
              "{\"k\":\"****\"}");
    // Every character as \uXXXX.
    EXPECT_EQ(mask_secrets("\"\\u0061\\u0062\\u0063\"", {"abc"}), "\"****\"");
}

TEST(LogMask, OverlappingSecretsBecomeOneMask) {
    const std::vector<std::string> secrets = {"abcd", "cdef"};
    EXPECT_EQ(mask_secrets("xabcdefx", secrets), "x****x");
    EXPECT_EQ(mask_secrets("xcdabcdefx", secrets), "xcd****x");
    EXPECT_EQ(mask_secrets("xcdefabcdx", secrets), "x********x");  // adjacent, one each
    EXPECT_EQ(mask_secrets("abcdXcdef", secrets), "****X****");
}

TEST(LogMask, ASecretInsideAnotherIsMaskedWithIt) {
    // Whichever order they are registered in, no tail of the longer one shows.
    for (const auto& secrets :
         {std::vector<std::string>{"key", "monkeys"}, std::vector<std::string>{"monkeys", "key"}}) {
        EXPECT_EQ(mask_secrets("[monkeys] [key] [mon%6Beys]", secrets), "[****] [****] [****]");
    }
}

TEST(LogMask, NothingElseChanges) {
    const std::string text = "100% of %zz and a+b \\u00zz \\";
    EXPECT_EQ(mask_secrets(text, {"hunter2"}), text);
    EXPECT_EQ(mask_secrets(text, {}), text);
}

TEST(LogMask, MaskingComesBeforeTheCap) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    const std::string secret = "SECRETVALUE123";
    log.set_secrets({secret});
    // The secret straddles the cap: cutting first would leave "SECRE" at the line's end.
    const std::string text = std::string(kLogLineMax - 5, 'x') + secret + " tail";
    const std::string line = log.render(text);
    EXPECT_FALSE(contains(line, "SECR")) << line.substr(kLogLineMax - 20);
    EXPECT_TRUE(contains(line, "more bytes cut]")) << line.substr(kLogLineMax - 20);
    const std::string out = logged(log, LogLevel::Info, text.c_str());
    EXPECT_FALSE(contains(out, "SECR")) << out.substr(out.size() - 60);
    // Percent-encoded, the secret is three times as long, and still not cut in half.
    const std::string encoded = std::string(kLogLineMax - 10, 'y') + percent_all(secret, true);
    EXPECT_FALSE(contains(log.render(encoded), "%53%45")) << log.render(encoded).substr(2000);
}

// ---- Escaping ----

TEST(LogEscape, ANewlineCannotForgeALine) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    const std::string out =
        logged(log, LogLevel::Info, "chat from bob: hi\n[   12.345] I robotd: config reloaded\r");
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_TRUE(contains(out, "hi\\n[   12.345] I robotd: config reloaded\\r\n")) << out;
}

TEST(LogEscape, TerminalEscapesAreShownNotSent) {
    EXPECT_EQ(escape_log_text("\x1b[2Jgone"), "\\x1b[2Jgone");
    EXPECT_EQ(escape_log_text("a\tb\x07\x7f\x01"), "a\\tb\\x07\\x7f\\x01");
    EXPECT_EQ(escape_log_text(std::string("nul\0here", 8)), "nul\\x00here");
    // C1 controls as UTF-8: CSI (U+009B) works like ESC [ on many terminals.
    EXPECT_EQ(escape_log_text("\xC2\x9B"
                              "2J \xC2\x80 \xC2\x9F \xC2\xA0"),
              "\\xc2\\x9b2J \\xc2\\x80 \\xc2\\x9f \xC2\xA0");
}

TEST(LogEscape, InvalidUtf8BytesAreEscapedPrintableUtf8Stays) {
    EXPECT_EQ(escape_log_text("h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80 \xE4\xB8\xAD"),
              "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80 \xE4\xB8\xAD");
    EXPECT_EQ(escape_log_text("\xFF\xFE"), "\\xff\\xfe");
    EXPECT_EQ(escape_log_text("\xC3("), "\\xc3(");                           // truncated sequence
    EXPECT_EQ(escape_log_text("\xC0\xAF"), "\\xc0\\xaf");                    // overlong '/'
    EXPECT_EQ(escape_log_text("\xED\xA0\x80"), "\\xed\\xa0\\x80");           // a surrogate
    EXPECT_EQ(escape_log_text("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
    EXPECT_EQ(escape_log_text("\xE2\x9C"), "\\xe2\\x9c");                    // cut at the end
}

TEST(LogEscape, ASecretSplitByAnEscapeIsStillMasked) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    // A wifi password with a control character in it: escaping it first would hide it.
    log.set_secrets({"pa\x1bss\nword"});
    EXPECT_EQ(log.render("password pa\x1bss\nword!"), "password ****!");
    // The same secret JSON-escaped by whoever wrote it: \u001b and \n.
    EXPECT_EQ(log.render("{\"p\":\"pa\\u001bss\\nword\"}"), "{\"p\":\"****\"}");
    // An escape inserted into a secret breaks it: what is left is not the secret, and
    // the control character is still shown escaped.
    EXPECT_EQ(log.render("pa\x1bss\x07\nword"), "pa\\x1bss\\x07\\nword");
}

TEST(LogEscape, TheCapCutsAtACharacterBoundary) {
    std::string wide;
    for (int i = 0; i < 2000; ++i) wide += "\xC3\xA9";
    const std::string out = escape_log_text(wide, 101);
    const std::string kept = out.substr(0, out.find(" ["));
    EXPECT_EQ(kept.size(), 100u);
    EXPECT_EQ(escape_log_text(kept), kept) << "still valid UTF-8";
    EXPECT_TRUE(contains(out, " [3900 more bytes cut]")) << out;

    const std::string escapes = escape_log_text(std::string(100, '\x1b'), 10);
    EXPECT_EQ(escapes.substr(0, escapes.find(" [")), "\\x1b\\x1b") << escapes;
    EXPECT_EQ(escape_log_text("short", 10), "short");
}

TEST(LogEscape, TagsAreEscapedToo) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    testing::internal::CaptureStderr();
    LOGI(log, "ta\ng", "x");
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(out, " I ta\\ng: x\n")) << out;
}

// ---- Levels and sinks ----

TEST(Log, LevelsFilter) {
    Logger log(LogLevel::Warn, LogSink::Stderr);
    EXPECT_TRUE(log.enabled(LogLevel::Error));
    EXPECT_TRUE(log.enabled(LogLevel::Warn));
    EXPECT_FALSE(log.enabled(LogLevel::Info));
    testing::internal::CaptureStderr();
    LOGI(log, "t", "hidden %d", 1);
    LOGW(log, "t", "shown %s", "w");
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_EQ(out.find("hidden"), std::string::npos);
    EXPECT_NE(out.find(" W t: shown w"), std::string::npos) << out;
}

TEST(Log, LongMessagesAreFormattedWholeThenCut) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    const std::string text(5000, 'z');
    const std::string out = logged(log, LogLevel::Info, text.c_str());
    EXPECT_TRUE(contains(out, std::string(kLogLineMax, 'z') + " [" +
                                  std::to_string(5000 - kLogLineMax) + " more bytes cut]\n"))
        << out.size();
}

TEST(Log, ErrorsAlsoReachStderrWhileAskedWhateverTheSink) {
    Logger log(LogLevel::Debug, LogSink::Syslog);
    log.set_errors_to_stderr(true);
    testing::internal::CaptureStderr();
    LOGE(log, "robotd", "cannot start: %s", "why");
    LOGW(log, "robotd", "only in syslog");
    log.set_errors_to_stderr(false);
    LOGE(log, "robotd", "later, only in syslog");
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(out, " E robotd: cannot start: why\n")) << out;
    EXPECT_FALSE(contains(out, "only in syslog")) << out;
}

// ---- Is syslog there? ----

class SyslogProbe : public testing::Test {
  protected:
    void SetUp() override {
        path_ = testing::TempDir() + "robotd_log_test_" + std::to_string(getpid()) + ".sock";
        ::unlink(path_.c_str());
    }
    void TearDown() override { ::unlink(path_.c_str()); }
    // A socket of `type` bound at path_ (listening when it is a stream socket).
    UniqueFd bind_socket(int type) {
        UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
            << std::strerror(errno);
        if (type == SOCK_STREAM) {
            EXPECT_EQ(::listen(fd.get(), 1), 0);
        }
        return fd;
    }
    std::string path_;
};

TEST_F(SyslogProbe, NoSocketIsUnreachableAndSaysWhy) {
    std::string why;
    EXPECT_FALSE(syslog_reachable(path_, &why));
    EXPECT_EQ(why, path_ + ": " + std::strerror(ENOENT));
}

TEST_F(SyslogProbe, ADatagramSocketIsReachable) {
    const UniqueFd server = bind_socket(SOCK_DGRAM);
    std::string why;
    EXPECT_TRUE(syslog_reachable(path_, &why)) << why;
}

TEST_F(SyslogProbe, AStreamSocketIsReachableAsGlibcFallsBackToIt) {
    const UniqueFd server = bind_socket(SOCK_STREAM);
    std::string why;
    EXPECT_TRUE(syslog_reachable(path_, &why)) << why;
}

TEST_F(SyslogProbe, ADeadSocketOrAFileIsUnreachable) {
    { const UniqueFd gone = bind_socket(SOCK_DGRAM); }  // closed: the path stays, nobody listens
    std::string why;
    EXPECT_FALSE(syslog_reachable(path_, &why));
    EXPECT_TRUE(contains(why, std::strerror(ECONNREFUSED))) << why;
    EXPECT_FALSE(syslog_reachable("", &why));
}

// A megabyte of hostile chat is cut before it is masked (masking it whole held the loop for
// a quarter of a second); the cut still says how much went, and no secret shows.
TEST(LogRender, AHugeMessageIsCutBeforeItIsMaskedAndTheCutIsCounted) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    log.set_secrets({"sk-9f3a7c"});
    const std::string text = std::string(1 << 20, '%') + "sk-9f3a7c";
    const std::string line = log.render("sk-9f3a7c " + text);
    EXPECT_EQ(line.rfind("****", 0), 0u) << line.substr(0, 40);
    EXPECT_EQ(line.find("sk-9f3a7c"), std::string::npos);
    EXPECT_LE(line.size(), kLogLineMax + 64);
    const size_t at = line.rfind(" [");
    ASSERT_NE(at, std::string::npos);
    const size_t cut = std::stoul(line.substr(at + 2));
    // What the line shows plus what it says was cut is the whole message (10 + 1 MiB + 9).
    EXPECT_EQ(line.substr(at), " [" + std::to_string(cut) + " more bytes cut]");
    EXPECT_EQ(cut + (at - 5) + 10, text.size() + 10) << "the cut counts every byte left out";
}
