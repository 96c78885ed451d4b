// journey --two-hosts, for real (root): the lab's two namespaces joined by a
// veth pair. The journey's TCP packets are the ones tcpdump captures on each
// veth end (tcpdump runs inside each namespace: --lab-watch-client/-server),
// each sent on one end and received on the other with the hops the kernel
// gives there; ARP is seen, and is what tcpdump saw; nothing outlives the run,
// nor a SIGINT or SIGTERM in the middle of it. No packet leaves the namespaces.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/labs/html_page.h"
#include "support/command_run.h"
#include "support/json_lines.h"
#include "support/netns.h"

namespace {

namespace fs = std::filesystem;
using tpk::testing::run_command;
using tpk::testing::run_json_lines;

std::string binary() { return TPK_BINARY; }

using tpk::testing::host_view;
using tpk::testing::namespace_in_use;
using tpk::testing::netns_of;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/tpk-two-hosts-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

const char* tcpdump_path() {
    for (const char* p : {"/usr/bin/tcpdump", "/usr/sbin/tcpdump"})
        if (::access(p, X_OK) == 0) return p;
    return nullptr;
}

// Small messages, and 60000-byte ones: veth offers TSO, so TCP hands it
// skbs of several segments; whatever the capture shows, tcpdump must too.
class TwoHostsTcpdump : public ::testing::TestWithParam<const char*> {};

TEST_P(TwoHostsTcpdump, PacketsEqualTcpdumpOnEachVethEnd) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth, BPF); run as root";
    const char* tcpdump = tcpdump_path();
    if (!tcpdump) GTEST_SKIP() << "tcpdump is missing: run scripts/install-deps";
    const std::string before = host_view();
    TempDir dir;
    const std::string client_pcap = (dir.path / "client.pcap").string();
    const std::string server_pcap = (dir.path / "server.pcap").string();
    // -Z root: Debian's tcpdump would otherwise write as user tcpdump, which
    // the private directory does not admit. --immediate-mode: each packet
    // handed over at once (a block would wait out the 1 s timeout and be lost
    // to the SIGTERM that ends it); -U: and written at once.
    auto watch = [&](const char* dev, const std::string& file) {
        return std::string("'") + tcpdump + " --immediate-mode -Z root -U -i " + dev + " -w " + file + "'";
    };
    auto run = run_json_lines(binary() + " journey --two-hosts --json " + GetParam() + " --lab-watch-client " +
                              watch("veth-client", client_pcap) + " --lab-watch-server " +
                              watch("veth-server", server_pcap));
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    auto two = run.of("two_hosts");
    ASSERT_EQ(two.size(), 1u) << run.raw;
    const auto& lab = two[0];
    EXPECT_EQ(lab.at("client").at("address"), "198.18.0.2");
    EXPECT_EQ(lab.at("server").at("address"), "198.18.0.1");
    EXPECT_EQ(lab.at("client").at("mtu"), 1500);
    EXPECT_EQ(lab.at("syn_mss"), 1460);
    EXPECT_EQ(lab.at("route").at("type"), "unicast");
    EXPECT_EQ(lab.at("route").at("dev"), "veth-client");
    EXPECT_NE(lab.at("client").at("netns"), lab.at("server").at("netns"));

    // The journey's TCP packets, as the capture line of each one's frame.
    auto packets = run.of("packet");
    ASSERT_FALSE(packets.empty()) << run.raw;
    std::vector<std::string> ours;
    for (const auto& p : packets) {
        ASSERT_FALSE(p.at("frame").is_null()) << "packet without a frame: " << p;
        ours.push_back(p.at("frame").at("summary"));
        // Hop by hop: sent on one end, received on the other.
        const bool from_client = p.at("direction") == "client_to_server";
        const std::string out_dev = from_client ? "veth-client" : "veth-server";
        const std::string in_dev = from_client ? "veth-server" : "veth-client";
        std::set<std::string> sent, received;
        for (const auto& h : p.at("hops")) {
            if (!h.contains("dev") || h.at("dev").get<std::string>().empty()) continue;
            std::string ev = h.at("event");
            if (ev == "net_dev_queue" || ev == "net_dev_start_xmit" || ev == "net_dev_xmit") {
                EXPECT_EQ(h.at("dev"), out_dev) << p;
                sent.insert(ev);
            }
            if (ev == "netif_rx" || ev == "netif_receive_skb") {
                EXPECT_EQ(h.at("dev"), in_dev) << p;
                received.insert(ev);
            }
        }
        EXPECT_TRUE(sent.count("net_dev_start_xmit")) << "no transmit hop on " << out_dev << ": " << p;
        EXPECT_TRUE(received.count("netif_receive_skb")) << "no receive hop on " << in_dev << ": " << p;
    }
    std::sort(ours.begin(), ours.end());
    // tcpdump's lines without their stamps (-t), absolute sequence numbers
    // (-S, as the journey's frame lines), numeric (-nn).
    for (const auto& file : {client_pcap, server_pcap}) {
        auto theirs_run = run_command(std::string(tcpdump) + " -nn -S -t -r " + file + " tcp");
        ASSERT_EQ(theirs_run.status, 0) << theirs_run.err;
        auto theirs = lines_of(theirs_run.out);
        std::sort(theirs.begin(), theirs.end());
        EXPECT_EQ(ours, theirs) << file;
    }

    // ARP: the client's request for the server and its reply, as tcpdump
    // saw them on the client's end.
    std::vector<std::string> arp_ours;
    for (const auto& a : lab.at("arp")) arp_ours.push_back(a.at("text"));
    ASSERT_GE(arp_ours.size(), 2u) << lab;
    EXPECT_EQ(arp_ours[0], "ARP, Request who-has 198.18.0.1 tell 198.18.0.2, length 28");
    EXPECT_EQ(arp_ours[1].rfind("ARP, Reply 198.18.0.1 is-at ", 0), 0u) << arp_ours[1];
    auto arp_theirs = run_command(std::string(tcpdump) + " -nn -t -r " + client_pcap + " arp");
    EXPECT_EQ(arp_ours, lines_of(arp_theirs.out));
    EXPECT_GE(lab.at("syn_neighbour_wait_ns").get<std::int64_t>(), 0) << lab;

    for (const char* side : {"client", "server"}) {
        std::uint64_t inode = lab.at(side).at("netns");
        EXPECT_FALSE(namespace_in_use(inode)) << side << " net:[" << inode << "] outlived the run";
    }
    EXPECT_EQ(host_view(), before);
}

INSTANTIATE_TEST_SUITE_P(Messages, TwoHostsTcpdump, ::testing::Values("--count 3", "--size 60000"),
                         [](const auto& info) { return info.index == 0 ? "Small" : "Large"; });

TEST(TwoHosts, CompareLoopbackRunsBoth) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth, BPF); run as root";
    auto run = run_json_lines(binary() + " journey --two-hosts --compare-loopback --json --count 3");
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    auto summaries = run.of("summary");
    ASSERT_EQ(summaries.size(), 2u) << run.raw;
    auto routes = run.of("route");
    ASSERT_EQ(routes.size(), 2u) << run.raw;
    EXPECT_EQ(routes[0].at("dev"), "veth-client");
    EXPECT_EQ(routes[1].at("dev"), "lo");
    auto two = run.of("two_hosts");
    ASSERT_EQ(two.size(), 1u);
    const auto& lo = two[0].at("loopback");
    EXPECT_EQ(lo.at("route").at("type"), "local");
    EXPECT_EQ(two[0].at("route").at("type"), "unicast");
    // The MSS each path's SYN announced: MTU - 40 on veth, 65535 - 40 on lo.
    EXPECT_EQ(two[0].at("syn_mss"), 1460);
    EXPECT_EQ(lo.at("syn_mss"), 65495);
    auto text = run_command(binary() + " journey --two-hosts --compare-loopback --brief --count 3");
    ASSERT_EQ(text.status, 0) << text.err;
    EXPECT_NE(text.out.find("OFF LOOPBACK: WHAT CHANGED"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("tcp veth"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("tcp lo"), std::string::npos) << text.out;
}

// --html beside --json: the page parses, and holds one sequence diagram per
// journey, side by side, each with as many packets as that journey's JSON
// summary counts; the facts against loopback; without --compare-loopback,
// the two-hosts diagram alone.
TEST(TwoHosts, HtmlPageHasBothDiagramsWithTheirPackets) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth, BPF); run as root";
    TempDir dir;
    for (bool compare : {true, false}) {
        SCOPED_TRACE(compare ? "--compare-loopback" : "two hosts alone");
        const std::string page = (dir.path / (compare ? "both.html" : "veth.html")).string();
        auto run = run_json_lines(binary() + " journey --two-hosts --count 2 --json --html " + page +
                                  (compare ? " --compare-loopback" : ""));
        ASSERT_EQ(run.exit_code, 0) << run.raw;
        auto summaries = run.of("summary");
        ASSERT_EQ(summaries.size(), compare ? 2u : 1u) << run.raw;
        std::string why;
        nlohmann::json html = tpk::testing::read_html_page(page, &why);
        ASSERT_FALSE(html.is_discarded() || html.is_null()) << why;
        EXPECT_TRUE(html.at("errors").empty()) << html.at("errors");
        EXPECT_EQ(html.at("scripts"), 0) << "readable without JavaScript";
        const auto& paths = html.at("paths");
        ASSERT_EQ(paths.size(), summaries.size()) << paths;
        const char* names[] = {"veth", "loopback"};
        for (std::size_t k = 0; k < paths.size(); ++k) {
            const int packets = summaries[k].at("packets").get<int>();
            EXPECT_GT(packets, 0);
            EXPECT_EQ(paths[k].at("path"), names[k]);
            EXPECT_EQ(paths[k].at("sequence_svgs"), 1) << paths[k];
            EXPECT_EQ(paths[k].at("data_packets"), packets) << paths[k];
            EXPECT_EQ(paths[k].at("packet_groups"), packets) << "arrows drawn in the " << names[k] << " diagram";
        }
        int sequences = 0;
        for (const auto& svg : html.at("svgs")) sequences += svg.value("class", "") == "sequence";
        EXPECT_EQ(sequences, static_cast<int>(summaries.size())) << "one diagram per journey, not repeated below";
        std::set<std::string> facts;
        for (const auto& f : html.at("facts")) facts.insert(f.get<std::string>());
        for (const char* f : {"neighbour", "route", "veth hops", "MTU", "the SYN's MSS", "median one-way time"})
            EXPECT_EQ(facts.count(f), 1u) << f;
        const std::string text = tpk::testing::slurp(page);
        EXPECT_EQ(text.find("not run (--compare-loopback)") == std::string::npos, compare);
        EXPECT_NE(text.find("type unicast, table main, dev veth-client"), std::string::npos);
        if (compare) {
            EXPECT_NE(text.find("type local"), std::string::npos);
        }
    }
}

// Starts tracepacket in the background, waits until its lab's children have
// entered their namespaces, sends sig, and checks nothing is left.
void interrupt_mid_run(int sig) {
    const std::string before = host_view();
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        const std::string bin = binary();
        ::execl(bin.c_str(), bin.c_str(), "journey", "--two-hosts", "--count", "100000", "--brief",
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    const std::uint64_t ours = netns_of("/proc/self");
    std::set<std::uint64_t> lab;
    std::vector<pid_t> children;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (lab.size() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
        pid_t child;
        while (in >> child) {
            std::uint64_t ns = netns_of("/proc/" + std::to_string(child));
            if (ns && ns != ours) {
                lab.insert(ns);
                if (std::find(children.begin(), children.end(), child) == children.end())
                    children.push_back(child);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(lab.size(), 2u) << "the lab's server and client never entered their namespaces";
    ::kill(pid, sig);
    int status = 0;
    pid_t reaped = 0;
    for (int i = 0; i < 2000 && reaped == 0; ++i) {
        reaped = ::waitpid(pid, &status, WNOHANG);
        if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (reaped == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        FAIL() << "tracepacket did not end within 20 s of " << strsignal(sig);
    }
    for (pid_t c : children) EXPECT_NE(::kill(c, 0), 0) << "lab process " << c << " outlived the run";
    for (std::uint64_t inode : lab) EXPECT_FALSE(namespace_in_use(inode)) << "net:[" << inode << "] outlived the run";
    EXPECT_EQ(host_view(), before);
}

TEST(TwoHosts, SigintMidRunLeavesNothing) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth, BPF); run as root";
    interrupt_mid_run(SIGINT);
}

TEST(TwoHosts, SigtermMidRunLeavesNothing) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth, BPF); run as root";
    interrupt_mid_run(SIGTERM);
}

TEST(TwoHosts, BadOptionsAreRefused) {
    for (const char* args : {"--compare-loopback", "--two-hosts --transport unix",
                             "--two-hosts --transport tcp6", "--two-hosts --compare tcp,udp",
                             "--lab-watch-client true", "--two-hosts --html /nonexistent-tpk-dir/p.html",
                             "--two-hosts --html /tmp"}) {
        auto r = run_command(binary() + " journey " + args);
        EXPECT_NE(r.status, 0) << args;
        EXPECT_FALSE(r.err.empty()) << args;
    }
}

}  // namespace
