#include "core/cli.h"

#include <gtest/gtest.h>

using namespace robotd;

TEST(Cli, ConfigSetsAndFlags) {
    auto r = parse_cli({"--config", "/etc/x.conf", "--set", "misc.eio=4", "--set=robot.type=pipe",
                        "--check-config", "-vv", "--stderr"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.options.config_path, "/etc/x.conf");
    EXPECT_EQ(r.options.overrides, (std::vector<std::string>{"misc.eio=4", "robot.type=pipe"}));
    EXPECT_TRUE(r.options.check_config);
    EXPECT_EQ(r.options.verbosity, 2);
    EXPECT_EQ(r.options.sink, CliOptions::Sink::Stderr);
}

TEST(Cli, Defaults) {
    auto r = parse_cli({});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.options.config_path, "/etc/robotd/robotd.conf");
    EXPECT_FALSE(r.options.check_config);
    EXPECT_EQ(r.options.sink, CliOptions::Sink::Auto);
}

TEST(Cli, Errors) {
    EXPECT_NE(parse_cli({"--config"}).error.find("needs a value"), std::string::npos);
    EXPECT_NE(parse_cli({"--bogus"}).error.find("'--bogus'"), std::string::npos);
    EXPECT_NE(parse_cli({"stray"}).error.find("'stray'"), std::string::npos);
}

TEST(Cli, UsageNamesEveryOption) {
    const std::string u = usage_text();
    for (const char* opt : {"--config", "--set", "--check-config", "--verbose", "--syslog",
                            "--stderr", "--help", "--version", "SIGHUP"})
        EXPECT_NE(u.find(opt), std::string::npos) << opt;
}
