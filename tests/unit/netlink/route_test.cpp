#include "netlink/route.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>

namespace tpk::netlink {
namespace {

IpAddress ip(const char* text) { return *parse_ip_address(text); }

TEST(ParseIpAddress, AcceptsOnlyWholeAddresses) {
    EXPECT_EQ(ip("127.0.0.1").family, AF_INET);
    EXPECT_EQ(ip("::1").family, AF_INET6);
    EXPECT_EQ(ip("::1").to_string(), "::1");
    for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.0.0.1", "::g", "", "fe80::1%eth0", " 1.2.3.4"}) {
        auto r = parse_ip_address(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_NE(r.error().message().find("malformed address"), std::string::npos);
    }
}

// IPv4 text is formatted by hand (not inet_ntop): the same text for every
// digit count of every byte.
TEST(IpAddressText, Ipv4AsInetNtopWritesIt) {
    for (const char* text : {"0.0.0.0", "255.255.255.255", "127.0.0.1", "10.99.100.9",
                             "192.0.2.250", "1.20.100.0"})
        EXPECT_EQ(ip(text).to_string(), text);
    for (unsigned v = 0; v < 256; ++v) {
        IpAddress a = ip("0.0.0.0");
        a.bytes = {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(255 - v), 7,
                   static_cast<std::uint8_t>(v ^ 0x55)};
        char expected[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, a.bytes.data(), expected, sizeof expected);
        EXPECT_EQ(a.to_string(), expected);
    }
    EXPECT_EQ(ip("::ffff:127.0.0.1").to_string(), "::ffff:127.0.0.1");
    EXPECT_EQ(IpAddress{}.to_string(), "");
}

TEST(PrefixContains, ComparesOnlyThePrefixBits) {
    EXPECT_TRUE(prefix_contains(ip("127.0.0.0"), 8, ip("127.1.2.3")));
    EXPECT_FALSE(prefix_contains(ip("127.0.0.0"), 8, ip("128.0.0.1")));
    EXPECT_TRUE(prefix_contains(ip("10.99.0.0"), 16, ip("10.99.255.1")));
    EXPECT_FALSE(prefix_contains(ip("10.99.0.0"), 17, ip("10.99.128.1")));
    EXPECT_TRUE(prefix_contains(ip("0.0.0.0"), 0, ip("8.8.8.8")));
    EXPECT_FALSE(prefix_contains(ip("::"), 0, ip("8.8.8.8"))) << "families differ";
    EXPECT_TRUE(prefix_contains(ip("2001:db8::"), 32, ip("2001:db8:1::1")));
}

TEST(TableNames, RoundTrip) {
    EXPECT_EQ(table_name(RT_TABLE_LOCAL), "local");
    EXPECT_EQ(table_name(RT_TABLE_MAIN), "main");
    EXPECT_EQ(table_name(100), "100");
    EXPECT_EQ(*parse_table("local"), 255u);
    EXPECT_EQ(*parse_table("all"), 0u);
    EXPECT_EQ(*parse_table("100"), 100u);
    EXPECT_FALSE(parse_table("mian").ok());
    EXPECT_FALSE(parse_table("0").ok());
    EXPECT_EQ(route_type_name(RTN_UNREACHABLE), "unreachable");
}

RouteDecision local_decision() {
    RouteDecision d;
    d.query.destination = ip("127.0.0.1");
    d.type = RTN_LOCAL;
    d.table = RT_TABLE_MAIN;
    d.device = "lo";
    RouteEntry e;
    e.family = AF_INET;
    e.destination = ip("127.0.0.0");
    e.prefix_length = 8;
    e.table = RT_TABLE_LOCAL;
    e.type = RTN_LOCAL;
    d.matched = e;
    return d;
}

TEST(ExplainRoute, LocalSaysItNeverLeavesAndWhyTheTableIsMain) {
    std::string text = explain_route(local_decision());
    EXPECT_NE(text.find("address of this host"), std::string::npos) << text;
    EXPECT_NE(text.find("route local 127.0.0.0/8 in table local"), std::string::npos) << text;
    EXPECT_NE(text.find("never leaves the machine"), std::string::npos) << text;
    EXPECT_NE(text.find("reports table main"), std::string::npos) << text;
}

TEST(ExplainRoute, NoMergeNoteWhenTheTablesAgree) {
    RouteDecision d = local_decision();
    d.table = RT_TABLE_LOCAL;
    EXPECT_EQ(explain_route(d).find("merged"), std::string::npos);
}

TEST(ExplainRoute, GatewayAndRefusals) {
    RouteDecision d;
    d.query.destination = ip("8.8.8.8");
    d.type = RTN_UNICAST;
    d.device = "eth0";
    d.gateway = ip("192.0.2.1");
    d.source = ip("192.0.2.2");
    std::string text = explain_route(d);
    EXPECT_NE(text.find("out eth0 to gateway 192.0.2.1, source 192.0.2.2"), std::string::npos) << text;
    d.type = RTN_UNREACHABLE;
    EXPECT_NE(explain_route(d).find("EHOSTUNREACH"), std::string::npos);
    d.type = RTN_PROHIBIT;
    EXPECT_NE(explain_route(d).find("EACCES"), std::string::npos);
}

// The sentence names the errno the kernel returned, whatever the type would
// suggest: a rule-level unreachable answers ENETUNREACH, not EHOSTUNREACH.
TEST(ExplainRoute, RefusalsNameTheErrnoTheKernelReturned) {
    RouteDecision d;
    d.query.destination = ip("10.51.1.1");
    d.type = RTN_UNREACHABLE;
    d.refused_by_rule = 51;
    d.refused_errno = ENETUNREACH;
    std::string text = explain_route(d);
    EXPECT_NE(text.find("ip rule 51 itself"), std::string::npos) << text;
    EXPECT_NE(text.find("senders get ENETUNREACH (Network is unreachable)"), std::string::npos) << text;

    d.refused_errno = 0;  // unknown: the kernel's rule for the type
    EXPECT_NE(explain_route(d).find("senders get ENETUNREACH"), std::string::npos) << explain_route(d);

    RouteEntry thrown;
    thrown.family = AF_INET;
    thrown.destination = ip("10.96.0.0");
    thrown.prefix_length = 16;
    thrown.table = RT_TABLE_MAIN;
    thrown.type = RTN_THROW;
    d.type = RTN_THROW;
    d.matched = thrown;
    d.refused_by_rule = 32766;
    d.refused_errno = ENETUNREACH;
    text = explain_route(d);
    EXPECT_NE(text.find("throw entry (route throw 10.96.0.0/16 in table main)"), std::string::npos) << text;
    EXPECT_NE(text.find("senders get ENETUNREACH (Network is unreachable)"), std::string::npos) << text;
    EXPECT_EQ(text.find("no table entry"), std::string::npos) << text;

    d.type = RTN_BLACKHOLE;
    d.refused_errno = EINVAL;
    EXPECT_NE(explain_route(d).find("senders on this host get EINVAL (Invalid argument)"),
              std::string::npos) << explain_route(d);
}

TEST(RefusalErrno, RoutesAndRulesDiffer) {
    EXPECT_EQ(refusal_errno(RTN_UNREACHABLE, false), EHOSTUNREACH);
    EXPECT_EQ(refusal_errno(RTN_UNREACHABLE, true), ENETUNREACH);
    EXPECT_EQ(refusal_errno(RTN_PROHIBIT, true), EACCES);
    EXPECT_EQ(refusal_errno(RTN_BLACKHOLE, false), EINVAL);
    EXPECT_EQ(refusal_errno(RTN_THROW, false), ENETUNREACH);
    EXPECT_EQ(refusal_errno(RTN_UNICAST, false), 0);
}

TEST(RouteEntry, PrefixText) {
    RouteEntry e;
    e.destination = ip("0.0.0.0");
    EXPECT_EQ(e.prefix_text(), "default");
    e.destination = ip("127.0.0.1");
    e.prefix_length = 32;
    EXPECT_EQ(e.prefix_text(), "127.0.0.1");
    e.destination = ip("10.0.0.0");
    e.prefix_length = 8;
    EXPECT_EQ(e.prefix_text(), "10.0.0.0/8");
}

}  // namespace
}  // namespace tpk::netlink
