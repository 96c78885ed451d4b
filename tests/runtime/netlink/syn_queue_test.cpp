// The SYN queue as a number (needs root): inside a network namespace this
// test creates, raw SYNs from 10.77.0.x reach a listener on 10.76.0.1; the
// SYN-ACKs leave through a veth whose other end nobody answers on, so the
// request sockets stay in SYN-RECV. `tracepacket sockets` must count them in
// the listener's SynQ exactly as `ss` lists them, and, with TIME-WAIT,
// FIN-WAIT-2, CLOSE-WAIT and established sockets beside them, list the same
// rows as `ss` by default (which leaves out TIME-WAIT and SYN-RECV) and with -a.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "integration/netlink/peer_tools.h"
#include "util/fd.h"

namespace tpk::test {
namespace {

std::uint16_t checksum(const std::vector<std::uint8_t>& bytes) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
    if (bytes.size() % 2) sum += bytes.back() << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

// One IPv4 + TCP SYN, checksums filled in (the kernel checks the TCP one).
std::vector<std::uint8_t> syn_packet(in_addr source, std::uint16_t source_port, in_addr destination,
                                     std::uint16_t destination_port) {
    tcphdr tcp{};
    tcp.source = htons(source_port);
    tcp.dest = htons(destination_port);
    tcp.seq = htonl(1000);
    tcp.doff = 5;
    tcp.syn = 1;
    tcp.window = htons(65535);
    std::vector<std::uint8_t> pseudo(12 + sizeof tcp);
    std::memcpy(&pseudo[0], &source, 4);
    std::memcpy(&pseudo[4], &destination, 4);
    pseudo[9] = IPPROTO_TCP;
    pseudo[11] = sizeof tcp;
    std::memcpy(&pseudo[12], &tcp, sizeof tcp);
    tcp.check = htons(checksum(pseudo));

    iphdr ip{};
    ip.version = 4;
    ip.ihl = 5;
    ip.ttl = 64;
    ip.protocol = IPPROTO_TCP;
    ip.tot_len = htons(sizeof ip + sizeof tcp);
    ip.saddr = source.s_addr;
    ip.daddr = destination.s_addr;  // IP_HDRINCL: the kernel fills the IP checksum
    std::vector<std::uint8_t> packet(sizeof ip + sizeof tcp);
    std::memcpy(packet.data(), &ip, sizeof ip);
    std::memcpy(packet.data() + sizeof ip, &tcp, sizeof tcp);
    return packet;
}

class SynQueue : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (netns, raw sockets); run as root";
        name_ = "tpk-netlink-syn-" + std::to_string(getpid());
        if (run_command("ip netns add " + name_ + " 2>&1").exit_code != 0)
            GTEST_SKIP() << "cannot create a network namespace here";
        created_ = true;
        for (const char* step : {"link set lo up", "addr add 10.76.0.1/32 dev lo",
                                 "link add tpk-v0 type veth peer name tpk-v1",
                                 "link set tpk-v0 up", "link set tpk-v1 up",
                                 "route add 10.77.0.0/16 dev tpk-v0"}) {
            auto r = run_command("ip -n " + name_ + " " + step + " 2>&1");
            ASSERT_EQ(r.exit_code, 0) << step << ": " << r.out;
        }
    }
    void TearDown() override {
        listener_.reset();  // close inside-namespace sockets before the namespace goes
        if (created_) run_command("ip netns del " + name_);
    }

    // Opens the listener and sends `count` SYNs from inside the namespace,
    // then returns this thread to the namespace it came from.
    void open_and_send_syns(int count) {
        UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        UniqueFd target(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
        ASSERT_TRUE(home && target);
        ASSERT_EQ(::setns(target.get(), CLONE_NEWNET), 0) << std::strerror(errno);
        in_addr listen_address{}, peer{};
        inet_pton(AF_INET, "10.76.0.1", &listen_address);
        listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr = listen_address;
        bool ok = ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::listen(listener_.get(), 5) == 0;
        socklen_t len = sizeof a;
        getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        UniqueFd raw(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
        for (int i = 0; ok && i < count; ++i) {
            inet_pton(AF_INET, ("10.77.0." + std::to_string(i + 1)).c_str(), &peer);
            auto packet = syn_packet(peer, static_cast<std::uint16_t>(40000 + i), listen_address, port_);
            ok = ::sendto(raw.get(), packet.data(), packet.size(), 0,
                          reinterpret_cast<sockaddr*>(&a), sizeof a) == static_cast<ssize_t>(packet.size());
        }
        ASSERT_EQ(::setns(home.get(), CLONE_NEWNET), 0);
        ASSERT_TRUE(ok) << std::strerror(errno);
    }

    // Inside the namespace, on 127.0.0.1: a connection closed by the client
    // first (the client ends in TIME-WAIT), one the client closed while the
    // server has not (FIN-WAIT-2 / CLOSE-WAIT), and one left established.
    void open_closing_connections() {
        UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        UniqueFd target(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
        ASSERT_TRUE(home && target);
        ASSERT_EQ(::setns(target.get(), CLONE_NEWNET), 0) << std::strerror(errno);
        UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        bool ok = ::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::listen(listener.get(), 8) == 0 &&
                  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0;
        auto connect_pair = [&](UniqueFd& client, UniqueFd& server) {
            client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            ok = ok && ::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
            server.reset(ok ? ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC) : -1);
            ok = ok && server.valid();
        };
        UniqueFd tw_client, tw_server;
        connect_pair(tw_client, tw_server);
        connect_pair(half_client_, half_server_);
        connect_pair(estab_client_, estab_server_);
        tw_client.reset();    // active close: FIN-WAIT-1 -> FIN-WAIT-2
        tw_server.reset();    // the peer's FIN: the client enters TIME-WAIT
        half_client_.reset(); // FIN-WAIT-2, its peer in CLOSE-WAIT (orphaned: 60 s)
        ASSERT_EQ(::setns(home.get(), CLONE_NEWNET), 0);
        ASSERT_TRUE(ok) << std::strerror(errno);
    }

    // Waits (bounded) until ss shows a socket in `state` in the namespace:
    // the closing handshakes run in softirq after close() returns.
    bool wait_for_state(const std::string& state) {
        for (int i = 0; i < 500; ++i) {
            if (!lines_of(in_netns("ss -Htan state " + state)).empty()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    std::string in_netns(const std::string& command) {
        return run_command("ip netns exec " + name_ + " " + command).out;
    }

    std::string name_;
    bool created_ = false;
    UniqueFd listener_;
    UniqueFd half_client_, half_server_, estab_client_, estab_server_;
    std::uint16_t port_ = 0;
};

// One row as both tools print it: state, queues, local and peer address.
using Row = std::tuple<std::string, std::string, std::string, std::string, std::string>;

// ss -tn: "State Recv-Q Send-Q Local Peer [Process]".
std::multiset<Row> ss_rows(const std::string& output) {
    std::multiset<Row> rows;
    for (const auto& line : lines_of(output)) {
        auto w = words_of(line);
        if (w.size() < 5 || w[0] == "State") continue;
        rows.insert({w[0], w[1], w[2], w[3], w[4]});
    }
    return rows;
}

// sockets -tn: "Netid State Recv-Q Send-Q SynQ Local Peer Inode Peer-Inode",
// then, when a listener is listed, a blank line and a note.
std::multiset<Row> our_rows(const std::string& output) {
    std::multiset<Row> rows;
    for (const auto& line : lines_of(output)) {
        auto w = words_of(line);
        if (w.size() < 9 || w[0] != "tcp") continue;
        rows.insert({w[1], w[2], w[3], w[5], w[6]});
    }
    return rows;
}

std::set<std::string> states_of(const std::multiset<Row>& rows) {
    std::set<std::string> states;
    for (const auto& r : rows) states.insert(std::get<0>(r));
    return states;
}

TEST_F(SynQueue, DefaultListingLeavesOutTimeWaitAndSynRecvAsSsDoes) {
    open_and_send_syns(2);
    open_closing_connections();
    ASSERT_TRUE(wait_for_state("time-wait")) << "setup: no TIME-WAIT socket after 5 s";
    ASSERT_TRUE(wait_for_state("close-wait")) << "setup: no CLOSE-WAIT socket after 5 s";
    ASSERT_EQ(lines_of(in_netns("ss -Htan state syn-recv")).size(), 2u)
        << "setup: ss should see the 2 request sockets";

    // Every socket here is idle (the SYN-ACK retransmits leave through the
    // veth and change no row), so the two listings must agree row for row.
    auto theirs = ss_rows(in_netns("ss -tn"));
    auto ours = our_rows(in_netns(tracepacket("sockets -tn")));
    EXPECT_EQ(ours, theirs);
    EXPECT_EQ(states_of(ours), (std::set<std::string>{"ESTAB", "FIN-WAIT-2", "CLOSE-WAIT"}));

    auto all_theirs = ss_rows(in_netns("ss -tan"));
    auto all_ours = our_rows(in_netns(tracepacket("sockets -tan")));
    EXPECT_EQ(all_ours, all_theirs);
    EXPECT_EQ(states_of(all_ours), (std::set<std::string>{"LISTEN", "ESTAB", "FIN-WAIT-2",
                                                          "CLOSE-WAIT", "TIME-WAIT", "SYN-RECV"}));

    // ss's named groups mean the same sets here.
    for (const char* group : {"connected", "bucket", "big", "synchronized"}) {
        SCOPED_TRACE(group);
        EXPECT_EQ(our_rows(in_netns(tracepacket(std::string("sockets -tn --state ") + group))),
                  ss_rows(in_netns(std::string("ss -tn state ") + group)));
    }
}

TEST_F(SynQueue, RequestSocketsInSynRecvAreCountedForTheirListener) {
    open_and_send_syns(3);
    // ss lists each request socket as SYN-RECV; the SYN-ACK retransmit timer
    // keeps them there for about a minute, far longer than this test.
    auto ss_lines = lines_of(in_netns("ss -tan state syn-recv"));
    std::size_t ss_count = 0;
    for (const auto& line : ss_lines)
        if (line.find("10.76.0.1:" + std::to_string(port_)) != std::string::npos) ++ss_count;
    ASSERT_EQ(ss_count, 3u) << "setup: ss should see the 3 request sockets";

    auto ours = json_lines(in_netns(tracepacket("sockets -tln --json")));
    ASSERT_EQ(ours.size(), 1u);
    EXPECT_EQ(ours[0]["local"]["port"], port_);
    EXPECT_EQ(ours[0]["syn_queue"].get<std::size_t>(), ss_count);
    EXPECT_EQ(ours[0]["recv_q"], 0) << "no handshake completed: accept queue empty";
    EXPECT_EQ(ours[0]["send_q"], 5);

    auto requests = json_lines(in_netns(tracepacket("sockets -tn --state syn-recv --json")));
    EXPECT_EQ(requests.size(), ss_count);
    for (const auto& r : requests) {
        EXPECT_EQ(r["state"], "SYN-RECV");
        EXPECT_EQ(r["inode"], 0) << "request sockets have no file";
    }
}

}  // namespace
}  // namespace tpk::test
