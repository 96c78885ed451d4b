// `tracepacket route` against `ip -d route get` inside a network namespace
// this test creates (needs root): routes that refuse (unreachable, prohibit,
// blackhole), an address with no route at all, a custom ip rule (which splits
// the merged local/main tables, so 127.0.0.1 is reported in table local), and
// a rule that refuses by itself. Every refusing type, as a route and as a
// rule, over IPv4 and IPv6: the explanation names the errno a real connect()
// in the namespace gets, which is also what `ip route get` prints.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/fd.h"

#include "integration/netlink/peer_tools.h"

namespace tpk::test {
namespace {

class RouteInNetns : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (ip netns add); run as root";
        name_ = "tpk-netlink-" + std::to_string(getpid());
        if (run_command("ip netns add " + name_ + " 2>&1").exit_code != 0)
            GTEST_SKIP() << "cannot create a network namespace here";
        created_ = true;
        ip("link set lo up");
        ip("route add unreachable 10.99.0.0/16");
        ip("route add prohibit 10.98.0.0/16");
        ip("route add blackhole 10.97.0.0/16");
        ip("-6 route add unreachable 2001:db8:99::/48");
    }
    void TearDown() override {
        if (created_) run_command("ip netns del " + name_);
    }

    void ip(const std::string& args) {
        auto r = run_command("ip -n " + name_ + " " + args + " 2>&1");
        ASSERT_EQ(r.exit_code, 0) << "ip " << args << ": " << r.out;
    }
    // ip's answer: the first line, or its error message ("No route to host").
    std::string ip_get(const std::string& address) {
        return run_command("ip -n " + name_ + " -d route get " + address + " 2>&1").out;
    }
    CommandOutput ours(const std::string& args) {
        return run_command("ip netns exec " + name_ + " " + tracepacket(args) + " 2>&1");
    }
    nlohmann::json ours_json(const std::string& address, int expected_exit) {
        auto run = run_command("ip netns exec " + name_ + " " + tracepacket("route --json " + address));
        EXPECT_EQ(run.exit_code, expected_exit) << run.out;
        auto lines = lines_of(run.out);
        return lines.empty() ? nlohmann::json() : nlohmann::json::parse(lines[0]);
    }

    // The errno a UDP connect() (a route lookup, nothing sent) to the address
    // gets inside the namespace; 0 when it succeeds.
    int connect_errno(const std::string& address) {
        UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        UniqueFd target(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
        if (!home || !target || ::setns(target.get(), CLONE_NEWNET) != 0) return -1;
        int code = 0;
        sockaddr_storage a{};
        socklen_t length = 0;
        auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
        if (inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons(9);
            length = sizeof *a4;
        } else if (inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons(9);
            length = sizeof *a6;
        }
        UniqueFd fd(::socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), length) != 0) code = errno;
        if (::setns(home.get(), CLONE_NEWNET) != 0) std::abort();  // never leave the thread inside
        return code;
    }

    std::string name_;
    bool created_ = false;
};

TEST_F(RouteInNetns, EveryRefusalIsExplainedWithTheErrnoTheKernelReturns) {
    ip("-6 route add prohibit 2001:db8:98::/48");
    ip("-6 route add blackhole 2001:db8:97::/48");
    ip("route add throw 10.96.0.0/16");
    ip("-6 route add throw 2001:db8:96::/48");
    ip("rule add unreachable to 10.51.0.0/16 pref 51");
    ip("rule add prohibit to 10.52.0.0/16 pref 52");
    ip("rule add blackhole to 10.53.0.0/16 pref 53");
    ip("-6 rule add unreachable to 2001:db8:51::/48 pref 51");
    ip("-6 rule add prohibit to 2001:db8:52::/48 pref 52");
    ip("-6 rule add blackhole to 2001:db8:53::/48 pref 53");
    // A throw in a table of its own, after which main has nothing either.
    ip("rule add lookup 100 pref 100");
    ip("route add throw 10.95.0.0/16 table 100");
    struct Case {
        const char* address;
        const char* type;
        const char* level;  // what the explanation cites
    };
    for (const Case& c : {Case{"10.99.1.1", "unreachable", "route unreachable 10.99.0.0/16"},
                          Case{"10.98.1.1", "prohibit", "route prohibit 10.98.0.0/16"},
                          Case{"10.97.1.1", "blackhole", "route blackhole 10.97.0.0/16"},
                          Case{"10.96.1.1", "throw", "route throw 10.96.0.0/16 in table main"},
                          Case{"10.95.1.1", "throw", "route throw 10.95.0.0/16 in table 100"},
                          Case{"2001:db8:99::1", "unreachable", "route unreachable 2001:db8:99::/48"},
                          Case{"2001:db8:98::1", "prohibit", "route prohibit 2001:db8:98::/48"},
                          Case{"2001:db8:97::1", "blackhole", "route blackhole 2001:db8:97::/48"},
                          Case{"2001:db8:96::1", "throw", "route throw 2001:db8:96::/48"},
                          Case{"10.51.1.1", "unreachable", "ip rule 51 itself"},
                          Case{"10.52.1.1", "prohibit", "ip rule 52 itself"},
                          Case{"10.53.1.1", "blackhole", "ip rule 53 itself"},
                          Case{"2001:db8:51::1", "unreachable", "ip rule 51 itself"},
                          Case{"2001:db8:52::1", "prohibit", "ip rule 52 itself"},
                          Case{"2001:db8:53::1", "blackhole", "ip rule 53 itself"}}) {
        SCOPED_TRACE(c.address);
        int code = connect_errno(c.address);
        ASSERT_GT(code, 0) << "setup: connect() in the namespace should fail";
        std::string message = std::strerror(code);
        EXPECT_NE(ip_get(c.address).find(message), std::string::npos) << ip_get(c.address);

        auto j = ours_json(c.address, 1);
        EXPECT_EQ(j["route_type"], c.type);
        EXPECT_EQ(j["refused_errno"], code);
        std::string why = j["explanation"];
        EXPECT_NE(why.find(c.level), std::string::npos) << why;
        EXPECT_NE(why.find(std::string(strerrorname_np(code)) + " (" + message + ")"), std::string::npos)
            << why;
        for (int other : {EHOSTUNREACH, ENETUNREACH, EACCES, EINVAL}) {
            if (other == code) continue;
            EXPECT_EQ(why.find(strerrorname_np(other) + std::string(" (")), std::string::npos) << why;
        }
        EXPECT_EQ(why.find("no table entry"), std::string::npos) << why;
        auto text = ours(std::string("route ") + c.address);
        EXPECT_NE(text.out.find(std::string("tracepacket: error: the kernel refuses to route to ") +
                                c.address + ": " + message),
                  std::string::npos)
            << text.out;
    }
}

TEST_F(RouteInNetns, RefusingRoutesGiveTheKernelsErrorAndTheEntry) {
    struct Case {
        const char* address;
        const char* type;
        const char* prefix;
        const char* error;
    };
    for (const Case& c : {Case{"10.99.1.1", "unreachable", "10.99.0.0/16", "No route to host"},
                          Case{"10.98.1.1", "prohibit", "10.98.0.0/16", "Permission denied"},
                          Case{"10.97.1.1", "blackhole", "10.97.0.0/16", "Invalid argument"},
                          Case{"2001:db8:99::1", "unreachable", "2001:db8:99::/48", "No route to host"}}) {
        SCOPED_TRACE(c.address);
        EXPECT_NE(ip_get(c.address).find(c.error), std::string::npos) << ip_get(c.address);
        auto j = ours_json(c.address, 1);
        EXPECT_EQ(j["route_type"], c.type);
        EXPECT_EQ(j["table"], "main");
        EXPECT_EQ(j["matched"]["prefix"], c.prefix);
        EXPECT_EQ(j["refused"], c.error);
        auto text = ours(std::string("route ") + c.address);
        EXPECT_NE(text.out.find(std::string("tracepacket: error: the kernel refuses to route to ") +
                                c.address + ": " + c.error),
                  std::string::npos)
            << text.out;
    }
}

TEST_F(RouteInNetns, NoRouteAtAllIsOneClearError) {
    for (const char* address : {"8.8.8.8", "2001:db8:1::1"}) {
        EXPECT_NE(ip_get(address).find("Network is unreachable"), std::string::npos);
        auto run = ours(std::string("route ") + address);
        EXPECT_EQ(run.exit_code, 1);
        EXPECT_EQ(lines_of(run.out).size(), 1u) << run.out;
        EXPECT_NE(run.out.find(std::string("no route to ") + address + ": Network is unreachable"),
                  std::string::npos)
            << run.out;
    }
}

TEST_F(RouteInNetns, ACustomRuleUnmergesTheTablesAndIsFollowed) {
    auto before = ours_json("127.0.0.1", 0);
    EXPECT_EQ(before["table"], "main") << "no custom rules: local is merged into main";
    EXPECT_NE(ip_get("127.0.0.1").find("table main"), std::string::npos);

    ip("rule add from all lookup 100 pref 100");
    ip("route add unreachable 10.99.5.0/24 table 100");
    ip("rule add prohibit to 10.50.0.0/16 pref 50");

    auto after = ours_json("127.0.0.1", 0);
    EXPECT_NE(ip_get("127.0.0.1").find("table local"), std::string::npos);
    EXPECT_EQ(after["table"], "local");
    EXPECT_EQ(after["explanation"].get<std::string>().find("merged"), std::string::npos);

    auto via_rule = ours_json("10.99.5.1", 1);
    EXPECT_EQ(via_rule["matched"]["prefix"], "10.99.5.0/24");
    EXPECT_EQ(via_rule["matched"]["table"], "100");
    auto past_rule = ours_json("10.99.6.1", 1);
    EXPECT_EQ(past_rule["matched"]["prefix"], "10.99.0.0/16");

    EXPECT_NE(ip_get("10.50.1.1").find("Permission denied"), std::string::npos);
    auto by_rule = ours_json("10.50.1.1", 1);
    EXPECT_EQ(by_rule["route_type"], "prohibit");
    EXPECT_NE(by_rule["explanation"].get<std::string>().find("ip rule 50"), std::string::npos);
}

TEST_F(RouteInNetns, InputRouteLookupsWithIifAndFrom) {
    ip("link add tpk-r0 type veth peer name tpk-r1");
    ip("addr add 10.60.0.1/24 dev tpk-r0");
    ip("link set tpk-r0 up");
    ip("link set tpk-r1 up");
    // For this host: local, delivered through lo, as ip says.
    std::string theirs = ip_get("10.60.0.1 from 10.60.0.2 iif tpk-r0");
    ASSERT_NE(theirs.find("local 10.60.0.1"), std::string::npos) << theirs;
    auto j = ours_json("10.60.0.1 --from 10.60.0.2 --iif tpk-r0", 0);
    EXPECT_EQ(j["route_type"], "local");
    EXPECT_EQ(j["device"], "lo");
    EXPECT_EQ(j["table"], theirs.find("table local") != std::string::npos ? "local" : "main");
    // For another host with forwarding off: the kernel's EHOSTUNREACH, explained.
    EXPECT_NE(ip_get("10.61.0.1 from 10.60.0.2 iif tpk-r0").find("No route to host"), std::string::npos);
    auto refused = ours("route 10.61.0.1 --from 10.60.0.2 --iif tpk-r0");
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.out.find("forwarding is off on tpk-r0"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace tpk::test
