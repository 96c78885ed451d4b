// `tracepacket route ADDR` against `ip -d route get ADDR`: the same table,
// type, device, source and gateway for loopback addresses, every address of
// this machine's interfaces and an address reached by the default route.
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>

#include <set>
#include <string>
#include <vector>

#include "integration/netlink/peer_tools.h"
#include "netlink/route.h"

namespace tpk::test {
namespace {

// What `ip -d route get` prints on its first line:
// "[TYPE] DST [from SRC] [via GW] dev DEV table T [proto P] [scope S] [src PREF] ..."
struct IpRoute {
    std::string type, table, device, source, gateway;
};

std::optional<IpRoute> ip_route_get(const std::string& address) {
    auto run = run_command("ip -d route get " + address + " 2>/dev/null");
    if (run.exit_code != 0) return std::nullopt;
    auto words = words_of(lines_of(run.out).at(0));
    IpRoute r;
    r.type = words.at(0);
    for (std::size_t i = 1; i + 1 < words.size(); ++i) {
        if (words[i] == "dev") r.device = words[i + 1];
        if (words[i] == "table") r.table = words[i + 1];
        if (words[i] == "src") r.source = words[i + 1];
        if (words[i] == "via") r.gateway = words[i + 1] == "inet6" || words[i + 1] == "inet"
                                               ? words.at(i + 2) : words[i + 1];
    }
    return r;
}

void expect_same_as_ip(const std::string& address) {
    SCOPED_TRACE("route to " + address);
    auto theirs = ip_route_get(address);
    ASSERT_TRUE(theirs) << "ip route get failed for " << address;
    auto run = run_command(tracepacket("route --json " + address));
    ASSERT_EQ(run.exit_code, 0) << run.out;
    auto ours = nlohmann::json::parse(lines_of(run.out).at(0));
    EXPECT_EQ(ours["route_type"], theirs->type);
    EXPECT_EQ(ours["table"], theirs->table);
    EXPECT_EQ(ours["device"], theirs->device);
    EXPECT_EQ(ours["source"], theirs->source);
    EXPECT_EQ(ours["gateway"], theirs->gateway);
    EXPECT_FALSE(ours["explanation"].get<std::string>().empty());
}

TEST(RouteVsIp, Loopback) {
    expect_same_as_ip("127.0.0.1");
    expect_same_as_ip("127.1.2.3");
    if (ip_route_get("::1")) expect_same_as_ip("::1");
}

TEST(RouteVsIp, EveryAddressOfThisMachine) {
    ifaddrs* list = nullptr;
    ASSERT_EQ(getifaddrs(&list), 0);
    std::set<std::string> addresses;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
        char host[NI_MAXHOST];
        socklen_t len = i->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        if (getnameinfo(i->ifa_addr, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) continue;
        std::string text = host;
        // A link-local address prints as fe80::1%eth0; the lookup takes the address.
        addresses.insert(text.substr(0, text.find('%')));
    }
    freeifaddrs(list);
    ASSERT_FALSE(addresses.empty());
    for (const auto& a : addresses) expect_same_as_ip(a);
}

TEST(RouteVsIp, AddressReachedByTheDefaultRoute) {
    auto routes = netlink::list_routes(AF_INET, 254);
    ASSERT_TRUE(routes.ok()) << routes.error().message();
    bool has_default = false;
    for (const auto& r : *routes) has_default |= r.prefix_length == 0;
    if (!has_default) GTEST_SKIP() << "no IPv4 default route in table main on this machine";
    // TEST-NET-2 (RFC 5737): never assigned, so only a default route covers it.
    auto theirs = ip_route_get("198.51.100.7");
    ASSERT_TRUE(theirs);
    if (theirs->gateway.empty()) GTEST_SKIP() << "198.51.100.7 is routed without a gateway here";
    expect_same_as_ip("198.51.100.7");
}

TEST(RouteVsIp, LocalAddressExplanationNamesTheMergedTables) {
    auto run = run_command(tracepacket("route --json 127.0.0.1"));
    ASSERT_EQ(run.exit_code, 0);
    auto ours = nlohmann::json::parse(lines_of(run.out).at(0));
    EXPECT_EQ(ours["route_type"], "local");
    EXPECT_EQ(ours["device"], "lo");
    // The entry lives in table local whatever the lookup reports.
    EXPECT_EQ(ours["matched"]["table"], "local");
    if (ours["table"] == "main") {
        EXPECT_NE(ours["explanation"].get<std::string>().find("merged"), std::string::npos);
    }
}

TEST(RouteCommand, MalformedAddressIsOneClearError) {
    for (const char* bad : {"1.2.3", "300.1.1.1", "::g", "localhost", "127.0.0.1/8"}) {
        auto run = run_command(tracepacket(std::string("route ") + bad + " 2>&1"));
        EXPECT_EQ(run.exit_code, 1) << bad;
        EXPECT_EQ(lines_of(run.out).size(), 1u) << run.out;
        EXPECT_NE(run.out.find("malformed address"), std::string::npos) << run.out;
    }
}

TEST(RouteCommand, OptionsAreChecked) {
    auto no_from = run_command(tracepacket("route 127.0.0.1 --iif lo 2>&1"));
    EXPECT_EQ(no_from.exit_code, 1);
    EXPECT_NE(no_from.out.find("--iif needs --from"), std::string::npos);
    auto no_device = run_command(tracepacket("route 127.0.0.1 --oif no-such-dev0 2>&1"));
    EXPECT_EQ(no_device.exit_code, 1);
    EXPECT_NE(no_device.out.find("no network interface named 'no-such-dev0'"), std::string::npos);
    auto bad_mark = run_command(tracepacket("route 127.0.0.1 --mark x1 2>&1"));
    EXPECT_EQ(bad_mark.exit_code, 1);
}

TEST(RouteCommand, MarkAndOifReachTheKernel) {
    // A mark with no rule using it changes nothing; the lookup must still succeed.
    auto marked = run_command(tracepacket("route --json 127.0.0.1 --mark 0x5"));
    ASSERT_EQ(marked.exit_code, 0);
    EXPECT_EQ(nlohmann::json::parse(marked.out)["route_type"], "local");
    auto forced = run_command(tracepacket("route --json 127.0.0.1 --oif lo"));
    ASSERT_EQ(forced.exit_code, 0);
    EXPECT_EQ(nlohmann::json::parse(forced.out)["device"], "lo");
}

TEST(RouteCommand, TableListingMatchesTheDump) {
    auto run = run_command(tracepacket("route --table local --json"));
    ASSERT_EQ(run.exit_code, 0);
    auto entries = json_lines(run.out);
    ASSERT_FALSE(entries.empty());
    bool has_loopback = false;
    for (const auto& e : entries) {
        EXPECT_EQ(e["table"], "local");
        has_loopback |= e["prefix"] == "127.0.0.0/8" && e["route_type"] == "local";
    }
    EXPECT_TRUE(has_loopback) << run.out;
    // Same count as ip lists for table local (both families, no cache entries).
    auto ip = run_command("ip route show table local; ip -6 route show table local");
    EXPECT_EQ(entries.size(), lines_of(ip.out).size()) << ip.out;
}

}  // namespace
}  // namespace tpk::test
