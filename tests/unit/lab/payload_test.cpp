#include <gtest/gtest.h>

#include "lab/payload.h"

namespace tpk::lab {
namespace {

TEST(Payload, PatternIsDeterministicAndDistinct) {
    auto a = pattern_payload(600, 3, 7);
    EXPECT_EQ(a, pattern_payload(600, 3, 7));
    EXPECT_NE(a, pattern_payload(600, 4, 7));  // another message
    EXPECT_NE(a, pattern_payload(600, 3, 8));  // another client
    // Values run modulo 251: start (3*131 + 7*17) % 251 = 10.
    EXPECT_EQ(a[0], std::byte{10});
    EXPECT_EQ(a[1], std::byte{11});
    EXPECT_EQ(a[240], std::byte{250});
    EXPECT_EQ(a[241], std::byte{0});
    EXPECT_TRUE(pattern_payload(0, 1, 1).empty());
}

TEST(Payload, VerifyEchoNamesTheFirstDifference) {
    auto sent = to_bytes("hello");
    EXPECT_TRUE(verify_echo(sent, to_bytes("hello"), 0).ok());
    auto diff = verify_echo(sent, to_bytes("help!"), 3);
    ASSERT_FALSE(diff.ok());
    EXPECT_EQ(diff.error().message(),
              "echo of message 3 differs at byte 3 of 5: sent 0x6c, got 0x70");
    auto shorter = verify_echo(sent, to_bytes("hell"), 1);
    ASSERT_FALSE(shorter.ok());
    EXPECT_EQ(shorter.error().message(),
              "echo of message 1 is 4 bytes, sent 5 (is the server running with --echo?)");
    EXPECT_FALSE(verify_echo(sent, to_bytes("hello!"), 1).ok());
}

TEST(Payload, DescribeShowsShortText) {
    EXPECT_EQ(describe_payload(to_bytes("Hello from client!")),
              "18 bytes: \"Hello from client!\"");
    EXPECT_EQ(describe_payload(to_bytes("a")), "1 byte: \"a\"");
    EXPECT_EQ(describe_payload(to_bytes("say \"hi\"")), "8 bytes: \"say \\\"hi\\\"\"");
    EXPECT_EQ(describe_payload(pattern_payload(4, 0, 0)), "4 bytes");  // not printable
    EXPECT_EQ(describe_payload(to_bytes(std::string(65, 'x'))), "65 bytes");
}

TEST(Payload, ParseSize) {
    EXPECT_EQ(*parse_size("64"), 64u);
    EXPECT_EQ(*parse_size("1K"), 1024u);
    EXPECT_EQ(*parse_size("64k"), 65536u);
    EXPECT_EQ(*parse_size("1M"), 1048576u);
    EXPECT_EQ(*parse_size("2MiB"), 2097152u);
    EXPECT_EQ(*parse_size("0"), 0u);
    for (const char* bad : {"", "K", "1G", "-1", "1.5K", " 1", "1KB"}) {
        auto r = parse_size(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().message(), std::string("malformed size '") + bad +
                                           "': expected a byte count such as 64, 1K or 1M");
    }
}

}  // namespace
}  // namespace tpk::lab
