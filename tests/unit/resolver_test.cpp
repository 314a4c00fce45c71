#include "net/resolver.h"

#include <gtest/gtest.h>

using robotd::Resolver;

TEST(Resolver, AddressLiteralsNeedNoLookup) {
    EXPECT_EQ(Resolver::literal("127.0.0.1"), "127.0.0.1");
    EXPECT_EQ(Resolver::literal("::1"), "::1");
    EXPECT_EQ(Resolver::literal("2001:db8::7"), "2001:db8::7");
}

TEST(Resolver, NamesAndMalformedNumbersAreNotLiterals) {
    EXPECT_FALSE(Resolver::literal("localhost"));
    EXPECT_FALSE(Resolver::literal("letsrobot.tv"));
    EXPECT_FALSE(Resolver::literal("127.0.0.256"));
    EXPECT_FALSE(Resolver::literal("[::1]"));
    EXPECT_FALSE(Resolver::literal(""));
}
