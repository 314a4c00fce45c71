// A server certificate "not valid yet" (lws's X509_V_ERR = 9) is reported as the board's clock
// not being set, with the date the clock says; any other TLS failure keeps its own words.
#include <gtest/gtest.h>

#include "net/loop.h"

using namespace robotd;

TEST(ClockNotSet, TheLineNamesTheDateTheClockSays) {
    EXPECT_EQ(clock_not_set_text(0),
              "the system clock says 1970-01-01; certificates are not valid yet: waiting for the "
              "clock (NTP) — check the time");
    EXPECT_EQ(clock_not_set_text(1767225600).rfind("the system clock says 2026-01-01; ", 0), 0u);
}

TEST(ClockNotSet, RecognisesLwsNotYetValidUnderMbedtlsAndOpenssl) {
    // lws 4.1.6 with mbedTLS (the words of its OpenSSL-compatible wrapper) and with OpenSSL.
    for (const char* lws :
         {"server's cert didn't look good, (use_ssl 0x1) X509_V_ERR = 9: Cert from the future\n",
          "server's cert didn't look good, X509_V_ERR = 9: certificate is not yet valid"}) {
        const std::string line = clock_not_set_error(lws);
        EXPECT_EQ(line.rfind("the system clock says ", 0), 0u) << lws;
        EXPECT_NE(line.find("certificates are not valid yet"), std::string::npos);
    }
}

TEST(ClockNotSet, OtherFailuresAreLeftAlone) {
    EXPECT_EQ(clock_not_set_error(nullptr), "");
    EXPECT_EQ(clock_not_set_error("connection refused"), "");
    EXPECT_EQ(clock_not_set_error("server's cert didn't look good, (use_ssl 0x1) X509_V_ERR = "
                                  "10: Cert expired"),
              "");
    EXPECT_EQ(clock_not_set_error("server's cert didn't look good, X509_V_ERR = 97: CA is not "
                                  "trusted"),
              "");
}

// One line for every client's connection error (HttpGet, Upload, SioClient).
TEST(ConnectionError, ClockLineElseLwsReasonTrimmedElseAPlainLine) {
    EXPECT_EQ(connection_error(nullptr), "connection failed");
    EXPECT_EQ(connection_error("Unable to connect\n"), "Unable to connect");
    EXPECT_EQ(connection_error(" \n"), "connection failed");
    EXPECT_EQ(connection_error("server's cert didn't look good, X509_V_ERR = 9: Cert from the "
                               "future\n")
                  .rfind("the system clock says ", 0),
              0u);
    EXPECT_LE(connection_error(std::string(1000, 'x').c_str()).size(), 170u);
}
