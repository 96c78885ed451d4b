// bench --two-hosts, for real (root): tcp, tcp6, udp, udp6 between two network
// namespaces joined by a veth pair, each cell beside the same cell on lo.
// What must hold whatever the machine's speed: every cell measured on both
// paths, the veth end carried at least the cell's own traffic (its counters,
// read by the bench over netlink and, independently, by `ip` inside the
// namespace while the bench runs), TCP's MSS bound by the veth's MTU 1500,
// nothing left after a SIGINT or SIGTERM mid-run, and a selection with no IP
// transport refused before anything is made.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/command_run.h"
#include "support/json_lines.h"
#include "support/netns.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;
using tpk::testing::run_command;
using tpk::testing::run_json_lines;

std::string binary() { return TPK_BINARY; }

using tpk::testing::host_view;
using tpk::testing::namespace_in_use;
using tpk::testing::netns_of;

// Gone, or a zombie waiting for its new parent: either way it runs no more
// and holds no namespace (exit_task_namespaces() ran).
bool process_ended(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) return true;
    for (std::string line; std::getline(status, line);)
        if (line.rfind("State:", 0) == 0) return line.find('Z') != std::string::npos;
    return true;
}

// Polls `done` every 10 ms for at most `limit`; the limit only bounds a
// failing test, a passing one never waits it out.
template <class F>
bool eventually(F done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

const char* kTiny = "--count 200 --warmup 10 --stream-time 0.05 --size 64,1K";

const json* find_cell(const std::vector<json>& records, const std::string& type, const std::string& transport,
                      std::uint64_t size, const std::string& path) {
    for (const auto& r : records)
        if (r.at("type") == type && r.at("transport") == transport && r.at("size") == size &&
            r.value("path", "") == path)
            return &r;
    return nullptr;
}

TEST(BenchTwoHosts, TcpAndUdpOverIpv4AndIpv6CrossTheVethPairBesideLoopback) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth); run as root";
    const std::string before = host_view();
    const std::string html = fs::temp_directory_path() / ("tpk-bench-two-hosts-" + std::to_string(getpid()) + ".html");
    auto run = run_json_lines(binary() + " bench --two-hosts --json " + kTiny + " --html " + html);
    ASSERT_EQ(run.exit_code, 0) << run.raw;

    // The lab, first, and every transport that cannot cross it, with why.
    ASSERT_FALSE(run.records.empty());
    const json& lab = run.records.front();
    ASSERT_EQ(lab.at("type"), "bench_two_hosts") << run.raw;
    EXPECT_EQ(lab.at("client").at("address"), "198.18.0.2");
    EXPECT_EQ(lab.at("server").at("address"), "198.18.0.1");
    EXPECT_EQ(lab.at("client").at("mtu"), 1500);
    EXPECT_NE(lab.at("client").at("netns"), lab.at("server").at("netns"));
    EXPECT_EQ(lab.at("loopback").at("device"), "lo");
    std::set<std::string> omitted;
    for (const auto& o : lab.at("not_over_veth")) {
        omitted.insert(o.at("transport"));
        EXPECT_FALSE(o.at("reason").get<std::string>().empty()) << o;
    }
    EXPECT_EQ(omitted, (std::set<std::string>{"unix", "unix-dgram", "unix-seqpacket", "pipe", "socketpair"}));
    EXPECT_EQ(lab.at("client").at("address6"), "2001:2::2");
    EXPECT_EQ(lab.at("server").at("address6"), "2001:2::1");

    for (const std::string transport : {"tcp", "tcp6", "udp", "udp6"})
        for (std::uint64_t size : {64u, 1024u}) {
            SCOPED_TRACE(transport + " " + std::to_string(size));
            const bool tcp = transport.rfind("tcp", 0) == 0;
            const bool v6 = transport.back() == '6';
            // Latency: both paths measured; each round trip over veth is at
            // least one packet out of and one into the client's veth end.
            const json* lo = find_cell(run.records, "latency", transport, size, "lo");
            const json* veth = find_cell(run.records, "latency", transport, size, "veth");
            ASSERT_TRUE(lo && veth) << run.raw;
            const std::uint64_t trips = veth->at("round_trips");
            EXPECT_GT(trips, 0u);
            EXPECT_GT(veth->at("p50_ns").get<std::uint64_t>(), 0u);
            EXPECT_GT(lo->at("p50_ns").get<std::uint64_t>(), 0u);
            EXPECT_GT(veth->at("p50_ratio_to_loopback").get<double>(), 0.0);
            const json& moved = veth->at("veth_client");
            EXPECT_GE(moved.at("tx_packets").get<std::uint64_t>(), trips);
            EXPECT_GE(moved.at("rx_packets").get<std::uint64_t>(), trips);
            EXPECT_GE(moved.at("rx_bytes").get<std::uint64_t>(), trips * size);
            // Throughput: every byte the client read came in through its veth end.
            const json* lo_t = find_cell(run.records, "throughput", transport, size, "lo");
            const json* veth_t = find_cell(run.records, "throughput", transport, size, "veth");
            ASSERT_TRUE(lo_t && veth_t) << run.raw;
            const std::uint64_t bytes = veth_t->at("bytes");
            EXPECT_GT(bytes, 0u);
            EXPECT_GT(lo_t->at("bytes").get<std::uint64_t>(), 0u);
            EXPECT_GT(veth_t->at("ratio_to_loopback").get<double>(), 0.0);
            EXPECT_GE(veth_t->at("veth_client").at("rx_bytes").get<std::uint64_t>(), bytes);
            if (!tcp) {
                // One datagram of 64 B or 1 KiB is one frame.
                EXPECT_GE(veth_t->at("veth_client").at("rx_packets").get<std::uint64_t>(),
                          veth_t->at("messages").get<std::uint64_t>());
                continue;
            }
            // TCP's segments: the MTU 1500 bounds the MSS over veth (1500 -
            // 20 IPv4 or 40 IPv6 - 20 TCP, less options), never on lo (MTU 65536).
            for (const json* cell : {veth, veth_t}) {
                const std::uint32_t mss = cell->at("tcp_mss");
                EXPECT_GT(mss, 0u);
                EXPECT_LE(mss, v6 ? 1440u : 1460u);
            }
            for (const json* cell : {lo, lo_t}) EXPECT_GT(cell->at("tcp_mss").get<std::uint32_t>(), 1460u);
        }

    // The HTML report has the two-hosts bars, each path named.
    std::ifstream page(html);
    std::stringstream text;
    text << page.rdbuf();
    fs::remove(html);
    EXPECT_THAT(text.str(), HasSubstr("tcp · 64 B · veth"));
    EXPECT_THAT(text.str(), HasSubstr("tcp · 64 B · lo"));
    EXPECT_EQ(host_view(), before);
}

TEST(BenchTwoHosts, TableShowsLoopbackBesideVethAndWhatCannotCross) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth); run as root";
    auto r = run_command(binary() + " bench --two-hosts -t tcp,unix,pipe --size 64 --count 50 --warmup 5 "
                                    "--stream-time 0.02");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Two hosts: the measuring side (client) in net:["));
    EXPECT_THAT(r.out, HasSubstr("Not over the veth pair: unix: UNIX sockets never reach IP"));
    EXPECT_THAT(r.out, HasSubstr("Not over the veth pair: pipe: not an IP socket"));
    EXPECT_THAT(r.out, HasSubstr("lo p50  veth/lo"));
    EXPECT_THAT(r.out, HasSubstr("lo MB/s  veth/lo"));
    EXPECT_THAT(r.out, HasSubstr("tcp 1448 B over veth (MTU 1500)"));
}

// SIGINT or SIGTERM while a veth cell runs. Meanwhile `ip` run inside the
// client's namespace (nsenter: the bench's measuring side is there) sees the
// veth end's counters grow, independently of the bench's own reading.
void interrupt_mid_run(int sig) {
    const std::string before = host_view();
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::signal(SIGINT, SIG_DFL);  // an ignored signal would be inherited through exec
        ::signal(SIGTERM, SIG_DFL);
        std::freopen("/dev/null", "w", stdout);
        const std::string bin = binary();
        // The lo cell runs first (5 s), then the veth cell (5 s at most), which the
        // signal ends: the test needs well under a second of it.
        ::execl(bin.c_str(), bin.c_str(), "bench", "--two-hosts", "--mode", "latency", "-t", "tcp", "-s", "64",
                "--count", "10000000", "--latency-time", "5", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    const std::uint64_t host = netns_of("/proc/self");
    std::set<std::uint64_t> lab;
    std::set<pid_t> children;
    int status = 0;
    bool exited = false;
    eventually(
        [&] {
            if (::waitpid(pid, &status, WNOHANG) == pid) return exited = true;
            // The measuring side enters the client's namespace for the veth
            // cell, its peer the server's.
            if (std::uint64_t ns = netns_of("/proc/" + std::to_string(pid)); ns && ns != host) lab.insert(ns);
            std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
            for (pid_t child; in >> child;)
                if (std::uint64_t ns = netns_of("/proc/" + std::to_string(child)); ns && ns != host) {
                    lab.insert(ns);
                    children.insert(child);
                }
            return lab.size() == 2 && !children.empty();
        },
        std::chrono::seconds(20));
    ASSERT_FALSE(exited) << "the bench ended before the signal, status " << status;
    ASSERT_EQ(lab.size(), 2u) << "the bench never ran a cell across two namespaces";
    const std::string in_client = "nsenter --net=/proc/" + std::to_string(pid) + "/ns/net ";
    auto tx_packets = [&]() -> std::uint64_t {
        auto r = run_command(in_client + "ip -s -j link show veth-client");
        if (r.status != 0 || r.out.empty()) return 0;
        auto j = json::parse(r.out, nullptr, false);
        if (j.is_discarded() || !j.is_array() || j.empty()) return 0;
        return j[0].at("stats64").at("tx").at("packets").get<std::uint64_t>();
    };
    const std::uint64_t first = tx_packets();
    EXPECT_GT(first, 0u) << "veth-client has sent nothing";
    EXPECT_TRUE(eventually([&] { return tx_packets() > first; }, std::chrono::seconds(5)))
        << "veth-client's counters did not grow while the veth cell ran";

    ::kill(pid, sig);
    if (!eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(20))) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        FAIL() << "tracepacket did not end within 20 s of " << strsignal(sig);
    }
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
    // The peer got SIGKILL when the bench died (PR_SET_PDEATHSIG).
    for (pid_t c : children)
        EXPECT_TRUE(eventually([&] { return process_ended(c); }, std::chrono::seconds(5)))
            << "peer " << c << " outlived the run";
    for (std::uint64_t inode : lab)
        EXPECT_TRUE(eventually([&] { return !namespace_in_use(inode); }, std::chrono::seconds(5)))
            << "net:[" << inode << "] outlived the run";
    EXPECT_EQ(host_view(), before);
}

TEST(BenchTwoHosts, SigintMidRunLeavesNothing) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth); run as root";
    interrupt_mid_run(SIGINT);
}

TEST(BenchTwoHosts, SigtermMidRunLeavesNothing) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth); run as root";
    interrupt_mid_run(SIGTERM);
}

// Refused before any namespace is made, so these need no privileges.
TEST(BenchTwoHosts, NoTransportThatCanCrossIsRefused) {
    for (const char* selection : {"unix", "unix,unix-dgram,unix-seqpacket", "pipe,socketpair", "unix-dgram,pipe"}) {
        auto r = run_command(binary() + " bench --two-hosts --transport " + selection);
        EXPECT_NE(r.status, 0) << selection;
        EXPECT_EQ(r.out, "") << selection;
        EXPECT_THAT(r.err, HasSubstr("tracepacket: error: --two-hosts measures tcp, tcp6, udp and udp6 across "
                                     "the veth pair, and none of --transport can cross it"))
            << selection;
    }
}

}  // namespace
