// The packets stage alone (src/journey/correlator_packets.cpp): skb
// lifetimes and GSO segments from a few hand-made events.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "journey/correlator_packets.h"
#include "support/flows.h"

namespace tpk::journey::stages {
namespace {

using K = model::EventKind;

Flow tcp_flow(std::uint16_t from, std::uint16_t to) {
    return tpk::testing::loopback_tcp_flow(from, to);
}

// A hop of skb on a flow (headers read) or without one (Flow{}).
Event hop(K kind, std::uint64_t t, std::uint64_t skb, Flow flow = {}, std::uint32_t seq = 0,
          std::uint32_t tid = 7) {
    Event e;
    e.kind = kind;
    e.t_ns = t;
    e.skb = skb;
    e.tid = tid;
    e.pid = tid;
    e.flow = flow;
    e.seq = seq;
    e.tcp_flags = flow.protocol ? model::kAck : 0;
    return e;
}

std::vector<PacketState> build(const std::vector<Event>& events) {
    std::vector<const Event*> hops;
    for (const auto& e : events) hops.push_back(&e);
    return merge_gso_segments(skb_lifetimes(hops));
}

std::string names(const Packet& p) {
    std::string out;
    for (const auto& h : p.hops) {
        if (!out.empty()) out += ' ';
        out += model::event_name(h.event);
    }
    return out;
}

TEST(CorrelatorPackets, OneSkbIsOnePacketFromQueueToConsume) {
    const Flow f = tcp_flow(40000, 5000);
    std::vector<Event> ev = {
        hop(K::net_dev_queue, 100, 0xa, f, 1),      hop(K::net_dev_start_xmit, 110, 0xa, f, 1),
        hop(K::netif_rx, 120, 0xa, f, 1),           hop(K::net_dev_xmit, 130, 0xa, f, 1),
        hop(K::netif_receive_skb, 140, 0xa, f, 1),  hop(K::tcp_probe, 150, 0xa, f, 1),
        hop(K::consume_skb, 160, 0xa),
    };
    ev[0].sk = 0x51;  // the sender's sock owns the skb on the way down
    ev[5].sk = 0x52;  // tcp_probe names the receiving sock
    ev[4].cpu = 3;
    auto ps = build(ev);
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_EQ(names(ps[0].p), "net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit "
                              "netif_receive_skb tcp_probe consume_skb");
    EXPECT_EQ(ps[0].p.flow, f);
    EXPECT_EQ(ps[0].p.seq, 1u);
    EXPECT_EQ(ps[0].p.sender_sk, 0x51u);
    EXPECT_EQ(ps[0].p.receiver_sk, 0x52u);
    EXPECT_EQ(ps[0].rx_ns, 140u);
    EXPECT_EQ(ps[0].rx_cpu, 3u);
    EXPECT_EQ(ps[0].end_ns, 160u);
    EXPECT_TRUE(ps[0].has_device);
    EXPECT_FALSE(ps[0].unix_like);
    EXPECT_FALSE(ps[0].p.dropped);
    EXPECT_FALSE(ps[0].p.hops[0].receive_side);
    EXPECT_TRUE(ps[0].p.hops[4].receive_side);
}

TEST(CorrelatorPackets, IpOutputStartsThePacketNetDevQueueJoins) {
    const Flow f = tcp_flow(40000, 5000);
    auto ps = build({hop(K::ip_output, 90, 0xa, f, 1), hop(K::net_dev_queue, 100, 0xa, f, 1),
                     hop(K::net_dev_start_xmit, 110, 0xa, f, 1)});
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_EQ(names(ps[0].p), "ip_output net_dev_queue net_dev_start_xmit");
    EXPECT_EQ(ps[0].p.hops[0].detail, "ip_output");
}

TEST(CorrelatorPackets, ConsumeOfAnUnseenSkbIsNoPacket) {
    EXPECT_TRUE(build({hop(K::consume_skb, 100, 0xb)}).empty());
}

// The end of the first skb was lost: the address came back with other headers.
TEST(CorrelatorPackets, AReusedAddressWithOtherHeadersIsANewPacket) {
    const Flow f = tcp_flow(40000, 5000);
    auto ps = build({hop(K::net_dev_queue, 100, 0xa, f, 1),
                     hop(K::netif_receive_skb, 200, 0xa, f, 1),
                     hop(K::netif_receive_skb, 300, 0xa, f, 99)});
    ASSERT_EQ(ps.size(), 2u);
    EXPECT_EQ(names(ps[0].p), "net_dev_queue netif_receive_skb");
    EXPECT_EQ(names(ps[1].p), "netif_receive_skb");
    EXPECT_EQ(ps[1].p.seq, 99u);
}

TEST(CorrelatorPackets, ADropBeforeAnyDeviceIsOnTheSendSide) {
    const Flow f = tcp_flow(40000, 5000);
    Event drop = hop(K::kfree_skb, 100, 0xa);
    drop.sk = 0x51;
    drop.drop_reason_name = "NETFILTER_DROP";
    auto ps = build({hop(K::ip_output, 90, 0xa, f, 1), drop});
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_TRUE(ps[0].p.dropped);
    EXPECT_EQ(ps[0].p.drop_reason, "NETFILTER_DROP");
    EXPECT_EQ(ps[0].p.sender_sk, 0x51u);  // the owner before any device: the sender
    EXPECT_FALSE(ps[0].p.hops[1].receive_side);
    EXPECT_EQ(ps[0].p.hops[1].detail, "drop NETFILTER_DROP");
    EXPECT_EQ(ps[0].p.hops[1].layer, model::Layer::network);
}

TEST(CorrelatorPackets, AQueuePurgeIsNoLoss) {
    const Flow f = tcp_flow(40000, 5000);
    Event purge = hop(K::kfree_skb, 300, 0xa);
    purge.drop_reason_name = "QUEUE_PURGE";
    auto ps = build({hop(K::net_dev_queue, 100, 0xa, f, 1),
                     hop(K::netif_receive_skb, 200, 0xa, f, 1), purge});
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_FALSE(ps[0].p.dropped);
    EXPECT_EQ(ps[0].p.drop_reason, "QUEUE_PURGE");
    EXPECT_TRUE(ps[0].p.hops.back().receive_side);
}

// One GSO skb queued whole and consumed, two segments transmitted: the
// segments are the packets and each starts with the original's queueing.
TEST(CorrelatorPackets, GsoSegmentsTakeTheOriginalsQueueing) {
    const Flow f = tcp_flow(40000, 5000);
    Event queued = hop(K::net_dev_queue, 100, 0xa, f, 1);
    queued.skb_len = 3000;
    queued.sk = 0x51;
    auto ps = build({queued, hop(K::consume_skb, 105, 0xa),
                     hop(K::net_dev_start_xmit, 110, 0xb, f, 1),
                     hop(K::net_dev_start_xmit, 120, 0xc, f, 1449)});
    ASSERT_EQ(ps.size(), 2u);
    for (const auto& s : ps) {
        EXPECT_EQ(names(s.p), "net_dev_queue net_dev_start_xmit");
        EXPECT_EQ(s.p.hops[0].detail, "queued as one GSO skb of 3000 B, segmented before transmit");
        EXPECT_EQ(s.p.sender_sk, 0x51u);
    }
    EXPECT_EQ(ps[0].p.seq, 1u);
    EXPECT_EQ(ps[1].p.seq, 1449u);
}

// A segment on another thread is not the original's.
TEST(CorrelatorPackets, GsoNeedsTheSameThread) {
    const Flow f = tcp_flow(40000, 5000);
    auto ps = build({hop(K::net_dev_queue, 100, 0xa, f, 1), hop(K::consume_skb, 105, 0xa),
                     hop(K::net_dev_start_xmit, 110, 0xb, f, 1, /*tid=*/8)});
    ASSERT_EQ(ps.size(), 2u);
    EXPECT_EQ(names(ps[1].p), "net_dev_start_xmit");
}

}  // namespace
}  // namespace tpk::journey::stages
