// `tracepacket sockets` against `ss -tuxanpe` / `ss -tinpe` for sockets this
// test opens: a listener (backlog 5) with 3 connected, unaccepted clients; an
// established pair with 1000 unread bytes one way; UDP over IPv4 and IPv6;
// UNIX stream (named listener + pair) and dgram pairs with an unread
// datagram. Every socket is idle while the two tools read, so both must see
// the same states, queues, addresses, inodes and owners.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/netlink/peer_tools.h"
#include "netlink/sock_diag.h"
#include "util/fd.h"

namespace tpk::test {
namespace {

UniqueFd make_socket(int family, int type) {
    UniqueFd fd(::socket(family, type | SOCK_CLOEXEC, 0));  // CLOEXEC: ss and we must not inherit them
    EXPECT_TRUE(fd.valid()) << std::strerror(errno);
    return fd;
}

sockaddr_in loopback4(std::uint16_t port = 0) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

std::uint16_t local_port(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return a.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port)
                                  : ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
}

UniqueFd tcp_listener(int backlog) {
    UniqueFd fd = make_socket(AF_INET, SOCK_STREAM);
    auto a = loopback4();
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd.get(), backlog), 0);
    return fd;
}

UniqueFd tcp_connect(std::uint16_t port) {
    UniqueFd fd = make_socket(AF_INET, SOCK_STREAM);
    auto a = loopback4(port);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    return fd;
}

std::uint64_t inode_of(int fd) {
    auto inode = netlink::socket_inode(fd);
    EXPECT_TRUE(inode.ok());
    return inode.ok() ? *inode : 0;
}

// Waits (bounded) until the kernel has settled what the test set up: the
// final ACKs of loopback handshakes and of the data are processed in softirq
// after connect()/send() return.
void wait_until(const std::function<bool()>& settled) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!settled() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(settled()) << "the test's sockets did not settle within 5 s";
}

std::optional<netlink::SocketSnapshot> snapshot_of(std::uint64_t inode) {
    std::vector<std::uint64_t> inodes{inode};
    auto found = netlink::snapshot_sockets(inodes);
    if (!found.ok() || found->empty()) return std::nullopt;
    return found->front();
}

// One socket as ss printed it.
struct SsSocket {
    std::string netid, state, local, peer;
    std::uint32_t recv_q = 0, send_q = 0;
    std::uint64_t inode = 0, peer_inode = 0;
    std::set<int> pids;
};

std::set<int> pids_of(const std::string& line) {
    std::set<int> pids;
    for (std::size_t at = line.find("pid="); at != std::string::npos; at = line.find("pid=", at + 4))
        pids.insert(std::stoi(line.substr(at + 4)));
    return pids;
}

// ss -tuxanpe: "Netid State Recv-Q Send-Q Local Peer users:(...) ino:N ..." for
// inet; UNIX puts the inode in the port column: "Local INODE Peer PEER_INODE".
std::map<std::uint64_t, SsSocket> read_ss(const std::string& output) {
    std::map<std::uint64_t, SsSocket> sockets;
    for (const auto& line : lines_of(output)) {
        auto w = words_of(line);
        if (w.size() < 6 || w[0] == "Netid") continue;
        SsSocket s;
        s.netid = w[0];
        s.state = w[1];
        s.recv_q = static_cast<std::uint32_t>(std::stoul(w[2]));
        s.send_q = static_cast<std::uint32_t>(std::stoul(w[3]));
        if (s.netid.rfind("u_", 0) == 0) {
            if (w.size() < 8) continue;
            s.local = w[4];
            s.inode = std::stoull(w[5]);
            s.peer = w[6];
            s.peer_inode = w[7] == "*" ? 0 : std::stoull(w[7]);
        } else {
            s.local = w[4];
            s.peer = w[5];
            auto fields = ss_fields(w);
            if (!fields.count("ino")) continue;
            s.inode = std::stoull(fields["ino"]);
        }
        s.pids = pids_of(line);
        if (s.inode != 0) sockets[s.inode] = s;
    }
    return sockets;
}

std::string endpoint_as_ss(const nlohmann::json& e) {
    std::string address = e["address"];
    if (address.find(':') != std::string::npos) address = "[" + address + "]";
    int port = e["port"];
    return address + ":" + (port == 0 ? "*" : std::to_string(port));
}

std::map<std::uint64_t, nlohmann::json> read_ours(const std::string& output) {
    std::map<std::uint64_t, nlohmann::json> sockets;
    for (auto& j : json_lines(output))
        if (j["inode"].get<std::uint64_t>() != 0) sockets[j["inode"].get<std::uint64_t>()] = j;
    return sockets;
}

class SocketsVsSs : public ::testing::Test {
protected:
    void SetUp() override {
        if (run_command("ss -V >/dev/null 2>&1").exit_code != 0) GTEST_SKIP() << "needs ss (iproute2)";
        open_tcp();
        open_udp();
        open_unix();
    }
    void TearDown() override {
        if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
    }

    void open_tcp() {
        listener_ = tcp_listener(5);
        for (int i = 0; i < 3; ++i) waiting_.push_back(tcp_connect(local_port(listener_.get())));
        UniqueFd listener2 = tcp_listener(1);
        client_ = tcp_connect(local_port(listener2.get()));
        server_.reset(::accept4(listener2.get(), nullptr, nullptr, SOCK_CLOEXEC));
        ASSERT_TRUE(server_.valid());
        std::string data(1000, 'x');
        ASSERT_EQ(::send(client_.get(), data.data(), data.size(), 0), 1000);
        known_ = {inode_of(listener_.get()), inode_of(client_.get()), inode_of(server_.get())};
        for (auto& c : waiting_) known_.push_back(inode_of(c.get()));
        wait_until([&] {
            auto l = snapshot_of(inode_of(listener_.get()));
            auto c = snapshot_of(inode_of(client_.get()));
            auto s = snapshot_of(inode_of(server_.get()));
            return l && l->recv_q == 3 && c && c->tcp_info && c->tcp_info->unacked == 0 &&
                   c->send_q == 0 && s && s->recv_q == 1000;
        });
    }

    void open_udp() {
        udp4_ = make_socket(AF_INET, SOCK_DGRAM);
        auto a = loopback4();
        ASSERT_EQ(::bind(udp4_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        known_.push_back(inode_of(udp4_.get()));
        udp6_ = make_socket(AF_INET6, SOCK_DGRAM);
        sockaddr_in6 a6{};
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_loopback;
        if (::bind(udp6_.get(), reinterpret_cast<sockaddr*>(&a6), sizeof a6) == 0)
            known_.push_back(inode_of(udp6_.get()));  // no ::1 on this machine: IPv4 only
    }

    void open_unix() {
        unix_path_ = "/tmp/tpk-netlink-test-" + std::to_string(getpid()) + ".sock";
        unix_listener_ = make_socket(AF_UNIX, SOCK_STREAM);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, unix_path_.c_str(), sizeof a.sun_path - 1);
        ASSERT_EQ(::bind(unix_listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ASSERT_EQ(::listen(unix_listener_.get(), 4), 0);
        unix_client_ = make_socket(AF_UNIX, SOCK_STREAM);
        ASSERT_EQ(::connect(unix_client_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        int pair[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        stream_a_.reset(pair[0]);
        stream_b_.reset(pair[1]);
        ASSERT_EQ(::send(stream_a_.get(), "hello", 5, 0), 5);
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        seq_a_.reset(pair[0]);
        seq_b_.reset(pair[1]);
        ASSERT_EQ(::send(seq_b_.get(), "record", 6, 0), 6);
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
        dgram_a_.reset(pair[0]);
        dgram_b_.reset(pair[1]);
        std::string datagram(100, 'd');
        ASSERT_EQ(::send(dgram_a_.get(), datagram.data(), datagram.size(), 0), 100);
        for (int fd : {unix_listener_.get(), unix_client_.get(), stream_a_.get(), stream_b_.get(),
                       seq_a_.get(), seq_b_.get(), dgram_a_.get(), dgram_b_.get()})
            known_.push_back(inode_of(fd));
    }

    UniqueFd listener_, client_, server_, udp4_, udp6_;
    std::vector<UniqueFd> waiting_;
    UniqueFd unix_listener_, unix_client_, stream_a_, stream_b_, seq_a_, seq_b_, dgram_a_, dgram_b_;
    std::string unix_path_;
    std::vector<std::uint64_t> known_;
};

TEST_F(SocketsVsSs, StatesQueuesAddressesInodesAndOwnersMatchSs) {
    // The two reads run back to back; nothing of ours changes between them.
    auto ours_run = run_command(tracepacket("sockets -tuxanpe --json"));
    auto ss_run = run_command("ss -tuxanpe");
    ASSERT_EQ(ours_run.exit_code, 0);
    ASSERT_EQ(ss_run.exit_code, 0);
    auto ours = read_ours(ours_run.out);
    auto theirs = read_ss(ss_run.out);
    std::set<std::string> netids;

    for (std::uint64_t inode : known_) {
        SCOPED_TRACE("inode " + std::to_string(inode));
        ASSERT_TRUE(ours.count(inode)) << "tracepacket did not list it";
        ASSERT_TRUE(theirs.count(inode)) << "ss did not list it";
        const auto& o = ours[inode];
        const auto& t = theirs[inode];
        EXPECT_EQ(o["netid"], t.netid);
        EXPECT_EQ(o["state"], t.state);
        EXPECT_EQ(o["recv_q"].get<std::uint32_t>(), t.recv_q);
        EXPECT_EQ(o["send_q"].get<std::uint32_t>(), t.send_q);
        if (o["family"] == "unix") {
            std::string path = o["local"]["path"];
            EXPECT_EQ(path.empty() ? "*" : path, t.local);
            EXPECT_EQ(o["peer_inode"].get<std::uint64_t>(), t.peer_inode);
        } else {
            EXPECT_EQ(endpoint_as_ss(o["local"]), t.local);
            EXPECT_EQ(endpoint_as_ss(o["peer"]), t.peer);
        }
        std::set<int> our_pids;
        for (const auto& p : o["processes"]) our_pids.insert(p["pid"].get<int>());
        EXPECT_EQ(our_pids, t.pids);
        EXPECT_EQ(our_pids, std::set<int>{getpid()});
        netids.insert(t.netid);
    }
    EXPECT_EQ(netids, (std::set<std::string>{"tcp", "udp", "u_str", "u_seq", "u_dgr"}));
}

// The text table's UNIX rows against ss -xan's, column for column: ss puts
// the inode after the local address and the peer's inode (0 when there is
// none: the listener, an unconnected datagram socket) after the peer's.
TEST_F(SocketsVsSs, UnixTextRowsMatchSsIncludingThePeerInodeOfUnconnectedSockets) {
    UniqueFd lone = make_socket(AF_UNIX, SOCK_DGRAM);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string name = "tpk-netlink-lone-" + std::to_string(getpid());
    std::memcpy(a.sun_path + 1, name.data(), name.size());  // abstract: no file to remove
    ASSERT_EQ(::bind(lone.get(), reinterpret_cast<sockaddr*>(&a),
                     static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())), 0);
    std::set<std::uint64_t> mine{inode_of(lone.get())};
    for (int fd : {unix_listener_.get(), unix_client_.get(), stream_a_.get(), dgram_a_.get(), seq_b_.get()})
        mine.insert(inode_of(fd));

    using Row = std::vector<std::string>;  // netid state recv-q send-q local inode peer peer-inode
    auto ours_run = run_command(tracepacket("sockets -xan"));
    auto ss_run = run_command("ss -xan");
    ASSERT_EQ(ours_run.exit_code, 0);
    std::map<std::uint64_t, Row> ours, theirs;
    for (const auto& line : lines_of(ours_run.out)) {
        auto w = words_of(line);  // Netid State Recv-Q Send-Q SynQ Local Peer Inode Peer-Inode
        if (w.size() != 9 || w[0].rfind("u_", 0) != 0) continue;
        ours[std::stoull(w[7])] = {w[0], w[1], w[2], w[3], w[5], w[7], w[6], w[8]};
    }
    for (const auto& line : lines_of(ss_run.out)) {
        auto w = words_of(line);  // Netid State Recv-Q Send-Q Local INODE Peer PEER-INODE
        if (w.size() != 8 || w[0].rfind("u_", 0) != 0) continue;
        theirs[std::stoull(w[5])] = Row(w.begin(), w.end());
    }
    std::set<std::string> peers;
    for (std::uint64_t inode : mine) {
        SCOPED_TRACE("inode " + std::to_string(inode));
        ASSERT_TRUE(ours.count(inode)) << ours_run.out;
        ASSERT_TRUE(theirs.count(inode)) << ss_run.out;
        EXPECT_EQ(ours[inode], theirs[inode]);
        peers.insert(theirs[inode][7]);
    }
    EXPECT_TRUE(peers.count("0")) << "the listener and the lone datagram socket have no peer";
}

TEST_F(SocketsVsSs, ListenerShowsAcceptQueueBacklogAndEmptySynQueue) {
    auto run = run_command(tracepacket("sockets -tln --json --port " +
                                       std::to_string(local_port(listener_.get()))));
    ASSERT_EQ(run.exit_code, 0);
    auto sockets = json_lines(run.out);
    ASSERT_EQ(sockets.size(), 1u) << run.out;
    EXPECT_EQ(sockets[0]["state"], "LISTEN");
    EXPECT_EQ(sockets[0]["recv_q"], 3) << "three handshakes completed, none accepted";
    EXPECT_EQ(sockets[0]["send_q"], 5) << "listen(fd, 5)";
    // On loopback the final ACK follows at once: nothing waits in SYN-RECV.
    EXPECT_EQ(sockets[0]["syn_queue"], 0);
}

// ss -tinpe: the socket line (with ino:N), then an indented line of tcp_info.
std::map<std::uint64_t, std::map<std::string, std::string>> read_ss_info(const std::string& output) {
    std::map<std::uint64_t, std::map<std::string, std::string>> info;
    std::uint64_t inode = 0;
    for (const auto& line : lines_of(output)) {
        auto fields = ss_fields(words_of(line));
        if (line[0] != '\t' && line[0] != ' ') {
            inode = fields.count("ino") ? std::stoull(fields["ino"]) : 0;
        } else if (inode != 0) {
            info[inode] = fields;
        }
    }
    return info;
}

TEST_F(SocketsVsSs, TcpInfoMatchesSsForIdleConnections) {
    std::uint16_t port = local_port(server_.get());
    auto ours_run = run_command(tracepacket("sockets -tni --json --port " + std::to_string(port)));
    auto ss_run = run_command("ss -tinpe");
    ASSERT_EQ(ours_run.exit_code, 0);
    auto ours = read_ours(ours_run.out);
    auto theirs = read_ss_info(ss_run.out);
    for (int fd : {client_.get(), server_.get()}) {
        std::uint64_t inode = inode_of(fd);
        SCOPED_TRACE("inode " + std::to_string(inode));
        ASSERT_TRUE(ours.count(inode));
        ASSERT_TRUE(theirs.count(inode));
        const auto& o = ours[inode]["tcp_info"];
        auto& t = theirs[inode];
        // Stable on an idle connection: compared exactly. ss leaves out
        // counters that are 0 and an infinite ssthresh.
        auto ss_number = [&](const char* key) -> std::uint64_t {
            return t.count(key) ? std::stoull(t[key]) : 0;
        };
        EXPECT_EQ(o["snd_mss"].get<std::uint64_t>(), ss_number("mss"));
        EXPECT_EQ(o["snd_cwnd"].get<std::uint64_t>(), ss_number("cwnd"));
        EXPECT_EQ(o["bytes_acked"].get<std::uint64_t>(), ss_number("bytes_acked"));
        EXPECT_EQ(o["bytes_received"].get<std::uint64_t>(), ss_number("bytes_received"));
        EXPECT_EQ(o["bytes_sent"].get<std::uint64_t>(), ss_number("bytes_sent"));
        if (t.count("ssthresh"))
            EXPECT_EQ(o["snd_ssthresh"].get<std::uint64_t>(), ss_number("ssthresh"));
        else
            EXPECT_GE(o["snd_ssthresh"].get<std::uint64_t>(), 0x7fffffffu);
        // rtt "srtt/rttvar" in ms: an idle socket does not update it, but
        // compare loosely (0.1 ms) so a late ACK cannot fail the test.
        ASSERT_TRUE(t.count("rtt"));
        double ss_rtt_ms = std::stod(t["rtt"]);
        EXPECT_NEAR(o["rtt_us"].get<double>() / 1000.0, ss_rtt_ms, 0.1);
    }
    // The direction with unread data: the receiver counts it, the sender saw it acked.
    EXPECT_EQ(ours[inode_of(server_.get())]["tcp_info"]["bytes_received"], 1000);
    EXPECT_EQ(ours[inode_of(client_.get())]["tcp_info"]["bytes_acked"], 1001) << "1000 bytes + the SYN";
}

TEST_F(SocketsVsSs, PidFilterKeepsOnlyThatProcessesSockets) {
    auto run = run_command(tracepacket("sockets -a --json --pid " + std::to_string(getpid())));
    ASSERT_EQ(run.exit_code, 0);
    auto ours = read_ours(run.out);
    for (std::uint64_t inode : known_) EXPECT_TRUE(ours.count(inode)) << inode;
    for (const auto& [inode, j] : ours) {
        std::set<int> pids;
        for (const auto& p : j["processes"]) pids.insert(p["pid"].get<int>());
        EXPECT_TRUE(pids.count(getpid())) << j.dump();
    }
}

TEST(SocketsCommand, BadOptionsFailWithOneLine) {
    auto bad_state = run_command(tracepacket("sockets --state nonsense 2>&1"));
    EXPECT_EQ(bad_state.exit_code, 1);
    EXPECT_NE(bad_state.out.find("unknown socket state 'nonsense'"), std::string::npos) << bad_state.out;
    auto bad_pid = run_command(tracepacket("sockets --pid 999999999 2>&1"));
    EXPECT_NE(bad_pid.exit_code, 0);
    auto stray_interval = run_command(tracepacket("sockets --interval 1 2>&1"));
    EXPECT_EQ(stray_interval.exit_code, 1);
    EXPECT_NE(stray_interval.out.find("--interval needs --counters or --watch"), std::string::npos);
}

}  // namespace
}  // namespace tpk::test
