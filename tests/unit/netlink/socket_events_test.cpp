// A sock_diag snapshot as the event the correlator reads: state, queues and
// the flow local -> peer (UNIX: inode -> peer inode), taken at the given time.
#include "netlink/socket_events.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace tpk::netlink {
namespace {

TEST(SnapshotEvent, InetSocketIsItsFlowLocalToPeer) {
    SocketSnapshot s;
    s.kind = SocketKind::tcp;
    s.family = AF_INET;
    s.state = kEstablished;
    s.recv_q = 3;
    s.send_q = 7;
    s.local = {*parse_ip_address("127.0.0.1"), 40000};
    s.peer = {*parse_ip_address("127.0.0.2"), 8080};
    auto e = snapshot_event(s, 1234);
    EXPECT_EQ(e.kind, model::EventKind::socket_snapshot);
    EXPECT_EQ(e.t_ns, 1234u);
    EXPECT_EQ(e.new_state, kEstablished);
    EXPECT_EQ(e.recv_q, 3u);
    EXPECT_EQ(e.send_q, 7u);
    EXPECT_EQ(e.flow.protocol, IPPROTO_TCP);
    EXPECT_EQ(e.flow.src.family, AF_INET);
    EXPECT_EQ(e.flow.src.port, 40000);
    EXPECT_EQ(e.flow.dst.port, 8080);
    EXPECT_EQ(e.flow.src.addr[0], 127);
    EXPECT_EQ(e.flow.dst.addr[3], 2);
    EXPECT_EQ(e.pid, 0u);
    EXPECT_EQ(e.flags, 0u);  // the side is the caller's to say
}

TEST(SnapshotEvent, UnixSocketIsItsInodes) {
    SocketSnapshot s;
    s.kind = SocketKind::unix_dgram;
    s.family = AF_UNIX;
    s.inode = 11;
    s.peer_inode = 12;
    auto e = snapshot_event(s, 1);
    EXPECT_EQ(e.flow.protocol, 0);
    EXPECT_EQ(e.flow.src.family, AF_UNIX);
    EXPECT_EQ(e.flow.unix_inode, 11u);
    EXPECT_EQ(e.flow.unix_peer_inode, 12u);
    SocketSnapshot udp;
    udp.kind = SocketKind::udp;
    EXPECT_EQ(snapshot_event(udp, 1).flow.protocol, IPPROTO_UDP);
}

}  // namespace
}  // namespace tpk::netlink
