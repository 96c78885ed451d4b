// The correlator on recordings of the kernel side alone (`tracepacket
// record-events -- sh -c "server & client"`, tests/fixtures/events/6.18-x86_64/
// tcp.jsonl and friends): no header, no processes named in advance, no frames,
// three traced processes (the shell too), the way `tracepacket trace --
// COMMAND` sees a program. The journey must find the conversation by itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "journey/correlator.h"
#include "support/recordings.h"

namespace tpk::journey {
namespace {

using testing::replay;

// "kind direction payload" per packet, e.g. "data c>s 21".
std::vector<std::string> shape(const Journey& j) {
    std::vector<std::string> out;
    for (const auto& p : j.packets)
        out.push_back(std::string(packet_kind_name(p.kind)) +
                      (p.direction == Direction::client_to_server ? " c>s " : " s>c ") +
                      std::to_string(p.payload_len));
    return out;
}

bool has_hop(const Packet& p, model::EventKind kind) {
    for (const auto& h : p.hops)
        if (h.event == kind) return true;
    return false;
}

// Every data packet is tied to the send that made it and the receive that
// read it, each on its own side.
void expect_data_joined_to_syscalls(const Journey& j) {
    for (const auto& p : j.packets) {
        if (p.payload_len == 0) continue;
        ASSERT_NE(p.send_syscall, kNone) << "packet without its send";
        ASSERT_NE(p.recv_syscall, kNone) << "packet without its receive";
        EXPECT_NE(j.syscalls[p.send_syscall].pid, j.syscalls[p.recv_syscall].pid);
    }
}

TEST(TraceRecordingTcp, HandshakeOneMessageEachWayTeardown) {
    auto j = replay("tcp.jsonl");
    // 17 bytes of "hello-tracepacket" framed into 21; the reply is the lab's
    // "Hello from server!" (18) framed into 22.
    EXPECT_EQ(shape(j), (std::vector<std::string>{
                            "handshake c>s 0", "handshake s>c 0", "handshake c>s 0",
                            "data c>s 21", "ack s>c 0", "data s>c 22", "ack c>s 0",
                            "teardown s>c 0", "teardown c>s 0", "teardown s>c 0"}));
    ASSERT_EQ(j.connections.size(), 1u);
    expect_data_joined_to_syscalls(j);
    EXPECT_EQ(j.syscalls[j.packets[0].send_syscall].name, "connect");
    for (const auto& p : j.packets) {
        EXPECT_TRUE(has_hop(p, model::EventKind::net_dev_start_xmit));
        EXPECT_TRUE(has_hop(p, model::EventKind::netif_receive_skb));
        EXPECT_FALSE(p.frame.has_value()) << "record-events captures nothing";
    }
    EXPECT_EQ(j.stats.lost_events, 0u);
}

TEST(TraceRecordingUdp, TwoDatagramsAndNoHandshake) {
    auto j = replay("udp.jsonl");
    // UDP needs no framing: the message and the reply as they are.
    EXPECT_EQ(shape(j), (std::vector<std::string>{"datagram c>s 17", "datagram s>c 18"}));
    EXPECT_TRUE(j.states.empty());
    expect_data_joined_to_syscalls(j);
}

TEST(TraceRecordingUnix, MessagesWithoutIpOrDeviceHops) {
    auto j = replay("unix_stream.jsonl");
    EXPECT_EQ(shape(j), (std::vector<std::string>{"message c>s 21", "message s>c 22"}));
    expect_data_joined_to_syscalls(j);
    for (const auto& p : j.packets) {
        EXPECT_FALSE(has_hop(p, model::EventKind::net_dev_queue));
        EXPECT_FALSE(has_hop(p, model::EventKind::netif_receive_skb));
        EXPECT_FALSE(has_hop(p, model::EventKind::fib_table_lookup));
        EXPECT_TRUE(has_hop(p, model::EventKind::sk_data_ready));
    }
}

// The recording's last record says 72 events were lost: the journey counts
// them and says so, and every packet it still found is consistent.
TEST(TraceRecordingLostEvents, CountFromTheLostEventsRecord) {
    auto j = replay("tcp_lost_events.jsonl");
    EXPECT_EQ(j.stats.lost_events, 72u);
    bool noted = false;
    for (const auto& n : j.notes) noted |= n.find("72 kernel events were lost") != std::string::npos;
    EXPECT_TRUE(noted);
    std::size_t data = 0;
    for (const auto& p : j.packets) {
        if (p.payload_len == 0) continue;
        ++data;
        EXPECT_TRUE(p.payload_len == 21 || p.payload_len == 22) << p.payload_len;
    }
    // 5 round trips: at most 10 data packets, most of them still found.
    EXPECT_LE(data, 10u);
    EXPECT_GE(data, 5u);
}

}  // namespace
}  // namespace tpk::journey
