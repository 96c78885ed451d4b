// The functions the journey calls: snapshots of given sockets (by inode or
// by flow) with state, queues, tcp_info and owner.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "netlink/sock_diag.h"
#include "util/fd.h"

namespace tpk::netlink {
namespace {

struct TcpPair {
    UniqueFd listener, client, server;
    sockaddr_in client_address{}, server_address{};
};

TcpPair open_pair() {
    TcpPair p;
    p.listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(p.listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(p.listener.get(), 1), 0);
    socklen_t len = sizeof a;
    getsockname(p.listener.get(), reinterpret_cast<sockaddr*>(&a), &len);
    p.client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(p.client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    p.server.reset(::accept4(p.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    len = sizeof p.client_address;
    getsockname(p.client.get(), reinterpret_cast<sockaddr*>(&p.client_address), &len);
    p.server_address = a;
    return p;
}

model::Endpoint endpoint(const sockaddr_in& a) {
    model::Endpoint e;
    e.family = AF_INET;
    e.port = ntohs(a.sin_port);
    std::memcpy(e.addr.data(), &a.sin_addr, 4);
    return e;
}

TEST(Snapshots, ByInodeCarryStateTcpInfoAndOwner) {
    TcpPair p = open_pair();
    std::vector<std::uint64_t> inodes = {*socket_inode(p.client.get()), *socket_inode(p.server.get())};
    auto found = snapshot_sockets(inodes);
    ASSERT_TRUE(found.ok()) << found.error().message();
    ASSERT_EQ(found->size(), 2u);
    for (const auto& s : *found) {
        EXPECT_EQ(s.state, kEstablished);
        EXPECT_TRUE(s.tcp_info != nullptr);
        ASSERT_EQ(s.processes.size(), 1u);
        EXPECT_EQ(s.processes[0].pid, getpid());
    }
}

TEST(Snapshots, ByFlowFindBothEndsInEitherDirection) {
    TcpPair p = open_pair();
    model::Flow flow;
    flow.protocol = IPPROTO_TCP;
    flow.src = endpoint(p.server_address);  // the server -> client direction
    flow.dst = endpoint(p.client_address);
    auto found = snapshot_flow(flow);
    ASSERT_TRUE(found.ok()) << found.error().message();
    std::vector<std::uint64_t> inodes;
    for (const auto& s : *found) inodes.push_back(s.inode);
    std::sort(inodes.begin(), inodes.end());
    std::vector<std::uint64_t> expected = {*socket_inode(p.client.get()), *socket_inode(p.server.get())};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(inodes, expected);
}

TEST(Snapshots, ByFlowForUnixUsesTheInodes) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd a(pair[0]), b(pair[1]);
    model::Flow flow;
    flow.unix_inode = *socket_inode(a.get());
    flow.unix_peer_inode = *socket_inode(b.get());
    auto found = snapshot_flow(flow);
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 2u);
    for (const auto& s : *found) {
        EXPECT_EQ(s.kind, SocketKind::unix_stream);
        EXPECT_EQ(s.peer_inode, s.inode == flow.unix_inode ? flow.unix_peer_inode : flow.unix_inode);
    }
}

}  // namespace
}  // namespace tpk::netlink
