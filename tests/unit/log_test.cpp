#include "core/log.h"

#include <gtest/gtest.h>

using namespace robotd;

TEST(Log, SecretsAreMaskedEverywhereInALine) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    log.set_secrets({"hello", "", "k3y"});
    EXPECT_EQ(log.mask("POST /hello/640/480/ key=k3y again hello"),
              "POST /****/640/480/ key=**** again ****");
}

TEST(Log, ASecretInsideTheMaskIsNotALoop) {
    Logger log(LogLevel::Info, LogSink::Stderr);
    log.set_secrets({"*"});
    EXPECT_EQ(log.mask("a*b"), "a****b");
}

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
