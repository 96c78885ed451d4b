#include "netlink/tcp_counters.h"

#include <gtest/gtest.h>

namespace tpk::netlink {
namespace {

TEST(ParseSnmpText, ReadsNamePairsOfEveryGroup) {
    auto table = parse_snmp_text(
        "Tcp: RtoAlgorithm MaxConn ActiveOpens\n"
        "Tcp: 1 -1 13\n"
        "TcpExt: ListenOverflows ListenDrops\n"
        "TcpExt: 7 9\n");
    ASSERT_TRUE(table.ok()) << table.error().message();
    EXPECT_EQ(table->at("Tcp.ActiveOpens"), 13);
    EXPECT_EQ(table->at("Tcp.MaxConn"), -1);
    EXPECT_EQ(table->at("TcpExt.ListenOverflows"), 7);
    EXPECT_EQ(table->at("TcpExt.ListenDrops"), 9);
    EXPECT_EQ(table->size(), 5u);
}

TEST(ParseSnmpText, MismatchedCountsAreAnErrorNamingTheGroup) {
    auto table = parse_snmp_text("Tcp: A B C\nTcp: 1 2\n");
    ASSERT_FALSE(table.ok());
    EXPECT_NE(table.error().message().find("group Tcp has 3 names but 2 values"), std::string::npos)
        << table.error().message();
}

TEST(ParseSnmpText, NonNumbersAndUnpairedLinesAreErrors) {
    EXPECT_FALSE(parse_snmp_text("Tcp: A\nTcp: x\n").ok());
    EXPECT_FALSE(parse_snmp_text("Tcp: A\nUdp: 1\n").ok());
    EXPECT_FALSE(parse_snmp_text("Tcp: A\nTcp: 1\nUdp: B\n").ok());
}

TEST(ReadTcpCounters, TheRunningKernelHasEveryCounterWeShow) {
    auto table = read_tcp_counters();
    ASSERT_TRUE(table.ok()) << table.error().message();
    for (const auto& c : queue_counters())
        EXPECT_TRUE(table->count(std::string(c.key))) << c.key;
}

}  // namespace
}  // namespace tpk::netlink
