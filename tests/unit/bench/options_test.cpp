// The benchmark's option parsing (src/bench/options.cpp).
#include "bench/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>

namespace tpk::bench {
namespace {

using ::testing::HasSubstr;

TEST(ParseSize, AcceptsBytesAndBinarySuffixes) {
    EXPECT_EQ(*parse_size("64"), 64u);
    EXPECT_EQ(*parse_size("1"), 1u);
    EXPECT_EQ(*parse_size("1K"), 1024u);
    EXPECT_EQ(*parse_size("64k"), 65536u);
    EXPECT_EQ(*parse_size("128K"), 131072u);
    EXPECT_EQ(*parse_size("1M"), 1048576u);
    EXPECT_EQ(*parse_size("64M"), kMaxSize);
    EXPECT_EQ(*parse_size("65507"), 65507u);
}

TEST(ParseSize, RefusesMalformedAndOutOfRange) {
    for (const char* bad : {"", "K", "1.5K", "-1", "1G", "64 B", "0x40", "1KK", " 64"}) {
        auto r = parse_size(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_THAT(r.error().message(), HasSubstr("malformed size")) << bad;
    }
    for (const char* big : {"0", "0K", "65M", "65537K", "67108865", "99999999999999999999"}) {
        auto r = parse_size(big);
        ASSERT_FALSE(r.ok()) << big;
        EXPECT_FALSE(r.error().message().empty());
    }
    EXPECT_THAT(parse_size("65M").error().message(), HasSubstr("out of range: use 1 B to 64 MiB"));
}

TEST(ParseSizeList, KeepsOrderAndDropsDuplicates) {
    auto r = parse_size_list("64K,64,1k,65536,1K");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(*r, (std::vector<std::size_t>{65536, 64, 1024}));
    EXPECT_FALSE(parse_size_list("64,,1K").ok());
    EXPECT_FALSE(parse_size_list("").ok());
}

TEST(ParseTransportList, AllIsEveryLabTransportThenTheTwoReferences) {
    auto r = parse_transport_list("all");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 9u);
    EXPECT_EQ(transport_name(r->front()), "tcp");
    EXPECT_EQ(transport_name((*r)[6]), "unix-seqpacket");
    EXPECT_EQ(transport_name((*r)[7]), "pipe");
    EXPECT_EQ(transport_name(r->back()), "socketpair");
}

TEST(ParseTransportList, NamesRoundTripAndDuplicatesGo) {
    auto r = parse_transport_list("unix-dgram,pipe,tcp6,pipe");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ(transport_name((*r)[0]), "unix-dgram");
    EXPECT_EQ(transport_name((*r)[1]), "pipe");
    EXPECT_EQ(transport_name((*r)[2]), "tcp6");
}

TEST(ParseTransportList, UnknownNameListsTheValidOnes) {
    auto r = parse_transport_list("tcp,sctp");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message(), HasSubstr("unknown transport 'sctp'"));
    EXPECT_THAT(r.error().message(), HasSubstr("unix-seqpacket, pipe, socketpair"));
}

int first_allowed_cpu() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    for (int i = 0; i < CPU_SETSIZE; ++i)
        if (CPU_ISSET(i, &set)) return i;
    return -1;
}

TEST(ParseCpuPin, TwoAllowedCpus) {
    int cpu = first_allowed_cpu();
    ASSERT_GE(cpu, 0);
    auto text = std::to_string(cpu) + "," + std::to_string(cpu);
    auto r = parse_cpu_pin(text);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->near_cpu, cpu);
    EXPECT_EQ(r->far_cpu, cpu);
}

TEST(ParseCpuPin, RefusesMalformedAndMissingCpus) {
    for (const char* bad : {"", "0", "0,1,2", "a,b", "-1,0", "0,", ",0", "0;1"}) {
        auto r = parse_cpu_pin(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_THAT(r.error().message(), HasSubstr("--pin")) << bad;
    }
    auto r = parse_cpu_pin("0,4000");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message(), HasSubstr("CPU 4000 is not available"));
}

TEST(SizeLabel, UsesTheLargestExactBinaryUnit) {
    EXPECT_EQ(size_label(64), "64 B");
    EXPECT_EQ(size_label(1024), "1 KiB");
    EXPECT_EQ(size_label(65536), "64 KiB");
    EXPECT_EQ(size_label(1536), "1536 B");
    EXPECT_EQ(size_label(3 << 20), "3 MiB");
    EXPECT_EQ(size_label(65507), "65507 B");
}

}  // namespace
}  // namespace tpk::bench
