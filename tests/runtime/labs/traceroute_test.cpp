// tracepacket traceroute, for real (root): across the lab's three
// namespaces it finds exactly the router and the server, the same hops as
// Debian's traceroute run in the same client namespace (--lab-exec), for UDP,
// ICMP and TCP probes; 127.0.0.1 is one local hop; nothing outlives the run.
// No probe leaves the namespaces the lab makes (or the host's lo).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/command_run.h"
#include "support/json_lines.h"
#include "support/netns.h"

namespace {

using tpk::testing::run_json_lines;

std::string binary() { return TPK_BINARY; }

using tpk::testing::namespace_in_use;

// The hop addresses of traceroute -n output: " 1  198.18.1.1  0.02 ms ...".
std::vector<std::string> traceroute_hops(const std::string& output) {
    std::vector<std::string> hops;
    std::istringstream in(output);
    std::string line;
    std::regex hop(R"(^\s*(\d+)\s+([0-9.]+)\s)");
    std::smatch m;
    while (std::getline(in, line))
        if (std::regex_search(line, m, hop)) hops.push_back(m[2]);
    return hops;
}

struct Case {
    const char* proto;
    const char* traceroute_flag;
};

class TracerouteLab : public ::testing::TestWithParam<Case> {};

TEST_P(TracerouteLab, TwoHopsTheSameAsDebiansTraceroute) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth); run as root";
    if (::access("/usr/sbin/traceroute", X_OK) != 0)
        GTEST_SKIP() << "Debian's traceroute is missing: run scripts/install-deps";
    std::string netns_before = tpk::testing::run_command("ip netns list").out;
    const Case c = GetParam();
    auto run = run_json_lines(binary() + " traceroute --lab --json -w 2 --proto " + c.proto +
                              " --lab-exec '/usr/sbin/traceroute -n -q 3 -w 2 " + c.traceroute_flag +
                              " 198.18.2.2'");
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    auto hops = run.of("hop");
    ASSERT_EQ(hops.size(), 2u) << run.raw;
    EXPECT_EQ(hops[0].at("address"), "198.18.1.1");
    EXPECT_EQ(hops[1].at("address"), "198.18.2.2");
    for (const auto& p : hops[0].at("probes")) EXPECT_EQ(p.at("answer"), "time_exceeded") << p;
    for (const auto& p : hops[1].at("probes")) EXPECT_EQ(p.at("answer"), "reached") << p;

    // The kernel's side (UDP and TCP probes, which the tracer follows by
    // port): each probe's skb ends in a kfree_skb, in the router because its
    // TTL ran out, at the server because no socket has the port.
    if (std::string(c.proto) != "icmp" && hops[0].contains("kernel_drops")) {
        EXPECT_EQ(hops[0].at("kernel_drops"), nlohmann::json({"IP_INHDR", "IP_INHDR", "IP_INHDR"}));
        EXPECT_EQ(hops[1].at("kernel_drops"), nlohmann::json({"NO_SOCKET", "NO_SOCKET", "NO_SOCKET"}));
    }

    auto exec = run.of("lab_exec");
    ASSERT_EQ(exec.size(), 1u) << run.raw;
    EXPECT_EQ(exec[0].at("exit_code"), 0) << exec[0];
    std::vector<std::string> ours = {hops[0].at("address"), hops[1].at("address")};
    EXPECT_EQ(traceroute_hops(exec[0].at("output")), ours) << exec[0].at("output").get<std::string>();

    // Held by name: a range-for over a member of the temporary vector would
    // read it after its end (the temporary dies before the loop runs).
    const auto lab = run.of("traceroute_lab");
    ASSERT_FALSE(lab.empty()) << run.raw;
    for (std::uint64_t inode : lab.at(0).at("netns_inodes"))
        EXPECT_FALSE(namespace_in_use(inode)) << "net:[" << inode << "] outlived the run";
    EXPECT_EQ(tpk::testing::run_command("ip netns list").out, netns_before);
}

INSTANTIATE_TEST_SUITE_P(Protocols, TracerouteLab,
                         ::testing::Values(Case{"udp", ""}, Case{"icmp", "-I"}, Case{"tcp", "-T"}),
                         [](const auto& info) { return std::string(info.param.proto); });

TEST(Traceroute, LoopbackIsOneLocalHop) {
    auto run = run_json_lines(binary() + " traceroute 127.0.0.1 --json -w 2");
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    ASSERT_EQ(run.of("traceroute").size(), 1u);
    EXPECT_TRUE(run.of("traceroute")[0].at("local").get<bool>());
    auto hops = run.of("hop");
    ASSERT_EQ(hops.size(), 1u) << run.raw;
    EXPECT_EQ(hops[0].at("address"), "127.0.0.1");
    auto text = tpk::testing::run_command(binary() + " traceroute 127.0.0.1 -w 2");
    EXPECT_NE(text.out.find("is local to this host: one hop"), std::string::npos) << text.out;
}

TEST(Traceroute, NoRouteOutOfTheLab) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth); run as root";
    // 198.18.3.3 is in no subnet of the lab and the client has no default route.
    auto run = run_json_lines(binary() + " traceroute --lab 198.18.3.3 --json -m 3 -w 1");
    EXPECT_EQ(run.exit_code, 1) << run.raw;
    auto hops = run.of("hop");
    ASSERT_EQ(hops.size(), 1u) << run.raw;
    EXPECT_EQ(hops[0].at("probes").at(0).at("answer"), "not_sent");
}

TEST(Traceroute, BadOptionsAreRefused) {
    for (const char* args : {"--proto sctp 127.0.0.1", "-m 0 127.0.0.1", "-q 0 127.0.0.1", "",
                             "127.0.0.1 --lab-exec true", "-w 0 127.0.0.1"}) {
        auto r = tpk::testing::run_command(binary() + " traceroute " + args);
        EXPECT_NE(r.status, 0) << args;
        EXPECT_FALSE(r.err.empty()) << args;
    }
}

}  // namespace
