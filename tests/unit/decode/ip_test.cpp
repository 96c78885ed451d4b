// src/decode/ip.cpp and link.cpp: IPv4, IPv6, ARP and the link layers.
#include <gtest/gtest.h>

#include "frames.h"

namespace tpk::decode {
namespace {

using test::decode;
using test::Frame;

TEST(Ipv4, FieldsFlagsAndChecksum) {
    Frame f = test::eth_ipv4(kProtoUdp, test::udp(4));
    const Packet p = decode(1, f);
    ASSERT_FALSE(p.has_malformed);
    EXPECT_EQ(p.network, Network::ipv4);
    EXPECT_EQ(p.src.family, Family::ipv4);
    EXPECT_EQ(p.src.bytes[0], 127);
    EXPECT_EQ(p.dst.bytes[3], 2);
    EXPECT_EQ(p.ipv4.ttl, 64);
    EXPECT_EQ(p.ipv4.id, 0x1234);
    EXPECT_TRUE(p.ipv4.dont_fragment);
    EXPECT_FALSE(p.ipv4.more_fragments);
    EXPECT_FALSE(p.ipv4.checksum_ok);  // the builder leaves it 0
    EXPECT_EQ(p.transport, Transport::udp);
    EXPECT_EQ(p.payload_length, 4u);
}

TEST(Ipv4, OptionsAreSkippedToTheTransport) {
    Frame f = test::ethernet(0x0800);
    const Frame l4 = test::udp(0);
    f.append(test::ipv4(kProtoUdp, l4.size(), 0x4000, 6)).raw({0x94, 4, 0, 0}).append(l4);
    const Packet p = decode(1, f);
    ASSERT_FALSE(p.has_malformed);
    EXPECT_EQ(p.ipv4.options_length, 4);
    EXPECT_EQ(p.udp.src_port, 40001);
}

TEST(Ipv4, LaterFragmentsHaveNoTransportHeader) {
    Frame f = test::ethernet(0x0800);
    f.append(test::ipv4(kProtoUdp, 16, 0x2000 | 185)).zeros(16);  // offset 1480, more fragments
    const Packet p = decode(1, f);
    EXPECT_TRUE(p.later_fragment);
    EXPECT_EQ(p.ipv4.fragment_offset, 1480);
    EXPECT_TRUE(p.ipv4.more_fragments);
    EXPECT_EQ(p.transport, Transport::other);
    EXPECT_EQ(p.protocol, kProtoUdp);
}

TEST(Ipv4, BadHeadersAreMalformed) {
    struct Case {
        const char* what;
        std::size_t byte;
        std::uint8_t value;
    };
    for (const Case& c : {Case{"ihl 4", 14, 0x44}, Case{"version 5", 14, 0x55}, Case{"total length 8", 17, 8}}) {
        SCOPED_TRACE(c.what);
        Frame f = test::eth_ipv4(kProtoUdp, test::udp(0));
        f.bytes[c.byte] = c.value;
        const Packet p = decode(1, f);
        ASSERT_TRUE(p.has_malformed);
        EXPECT_EQ(p.malformed.layer, Layer::ipv4);
        EXPECT_EQ(p.malformed.offset, 14u);
    }
}

TEST(Ipv6, ExtensionHeadersAreWalked) {
    Frame f = test::ethernet(0x86dd);
    const Frame l4 = test::udp(3);
    // hop-by-hop (8 bytes) -> fragment (offset 0, more) -> UDP
    f.append(test::ipv6(0, 8 + 8 + l4.size()))
     .raw({44, 0, 1, 4, 0, 0, 0, 0})
     .raw({17, 0, 0, 1, 0, 0, 0, 42})
     .append(l4);
    const Packet p = decode(1, f);
    ASSERT_FALSE(p.has_malformed);
    EXPECT_EQ(p.ipv6.next_header, 0);
    EXPECT_EQ(p.ipv6.extension_count, 2);
    EXPECT_TRUE(p.ipv6.is_fragment);
    EXPECT_TRUE(p.ipv6.more_fragments);
    EXPECT_EQ(p.ipv6.fragment_id, 42u);
    EXPECT_EQ(p.ipv6.flow_label, 0x12345u);
    EXPECT_EQ(p.protocol, kProtoUdp);
    EXPECT_EQ(p.transport, Transport::udp);
    EXPECT_EQ(p.payload_length, 3u);
}

TEST(Ipv6, ExtensionHeaderLongerThanPayloadIsMalformed) {
    Frame f = test::ethernet(0x86dd);
    f.append(test::ipv6(60, 8)).raw({17, 9, 0, 0, 0, 0, 0, 0});  // claims 80 bytes
    const Packet p = decode(1, f);
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.layer, Layer::ipv6);
    EXPECT_EQ(p.malformed.offset, 14u + 40u);
}

TEST(Ipv6, JumboPayloadLengthComesFromTheHopByHopOption) {
    // RFC 2675: payload length 0, a jumbo option of 70000 bytes, TCP; only
    // the headers were captured.
    Frame f = test::ethernet(0x86dd);
    f.append(test::ipv6(0, 0)).raw({6, 0, 0xc2, 4}).u32(70000).append(test::tcp(tcp_ack));
    const Packet p = decode(1, f, 14 + 40 + 70000);
    EXPECT_TRUE(p.ipv6.jumbo);
    EXPECT_EQ(p.ipv6.jumbo_length, 70000u);
    EXPECT_EQ(p.transport, Transport::tcp);
    EXPECT_EQ(p.transport_length, 70000u - 8u);
    EXPECT_EQ(p.payload_length, 70000u - 8u - 20u);
    EXPECT_EQ(p.tcp.src_port, 40000);
}

TEST(Ipv6, PayloadLengthZeroWithoutJumboIsNeverDecodedPast) {
    Frame f = test::ethernet(0x86dd);
    f.append(test::ipv6(kProtoTcp, 0)).append(test::tcp(tcp_syn));  // BIG TCP as a capture sees it
    Packet p = decode(1, f, 14 + 40 + 70000);
    EXPECT_TRUE(p.ipv6.zero_payload);
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.reason, "payload length 0");
    EXPECT_EQ(p.tcp.src_port, 0) << "the TCP header after it was read";
    EXPECT_EQ(p.transport_length, 0u);

    // With a hop-by-hop header but no jumbo option the walk stops in it.
    Frame h = test::ethernet(0x86dd);
    h.append(test::ipv6(0, 0)).raw({6, 0, 1, 4, 0, 0, 0, 0}).append(test::tcp(tcp_syn));
    p = decode(1, h);
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.reason, "payload length 0 without a jumbo option");
    EXPECT_EQ(p.transport, Transport::none);
}

TEST(Ipv6, HopByHopAfterAnotherHeaderStopsTheWalk) {
    Frame f = test::ethernet(0x86dd);
    f.append(test::ipv6(60, 16 + 20)).raw({0, 0, 1, 4, 0, 0, 0, 0}).raw({6, 0, 1, 4, 0, 0, 0, 0}).append(test::tcp(tcp_syn));
    const Packet p = decode(1, f);
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.reason, "hop-by-hop header not first");
    EXPECT_EQ(p.transport, Transport::none);
}

TEST(Ipv4, TransportStopsAtTheDatagramsEndNotAtThePadding) {
    // IPv4 says 4 bytes of TCP follow; Ethernet padding fills the frame to 60.
    Frame f = test::ethernet(0x0800);
    f.append(test::ipv4(kProtoTcp, 4)).append(test::tcp(tcp_syn)).zeros(6);
    const Packet p = decode(1, f);
    EXPECT_EQ(p.snap_end, 14u + 24u);
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.layer, Layer::tcp);
    EXPECT_TRUE(p.malformed.truncated) << "the padding was taken for the rest of the TCP header";
}

TEST(Arp, RequestFields) {
    Frame f = test::ethernet(0x0806);
    f.u16(1).u16(0x0800).u8(6).u8(4).u16(1).raw({2, 0, 0, 0, 0, 1}).raw({10, 0, 0, 1}).zeros(6).raw({10, 0, 0, 2});
    const Packet p = decode(1, f);
    ASSERT_FALSE(p.has_malformed);
    EXPECT_EQ(p.network, Network::arp);
    EXPECT_EQ(p.arp.operation, 1);
    EXPECT_EQ(p.arp.sender_ip[3], 1);
    EXPECT_EQ(p.arp.target_ip[3], 2);
    EXPECT_EQ(p.arp.sender_mac[5], 1);
}

TEST(Link, EveryLinkTypeReachesTheSameTcpHeader) {
    const Frame ip = [] {
        Frame f;
        const Frame l4 = test::tcp(tcp_syn);
        return f.append(test::ipv4(kProtoTcp, l4.size())).append(l4);
    }();
    struct Case {
        const char* what;
        int dlt;
        Frame header;
    };
    const Case cases[] = {
        {"ethernet", 1, test::ethernet(0x0800)},
        {"vlan", 1, Frame{}.zeros(12).u16(0x8100).u16(5).u16(0x0800)},
        {"null, little endian", 0, Frame{}.raw({2, 0, 0, 0})},
        {"null, big endian writer", 0, Frame{}.raw({0, 0, 0, 2})},
        {"loop", 108, Frame{}.u32(2)},
        {"raw", 12, Frame{}},
        {"LINKTYPE_RAW", 101, Frame{}},
        {"ipv4", 228, Frame{}},
        {"cooked v1", 113, Frame{}.u16(0).u16(772).u16(6).zeros(8).u16(0x0800)},
        {"cooked v2", 276, Frame{}.u16(0x0800).u16(0).u32(1).u16(772).u8(4).u8(6).zeros(8)},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        Frame f = c.header;
        f.append(ip);
        const Packet p = decode(c.dlt, f);
        ASSERT_FALSE(p.has_malformed) << p.malformed.reason;
        EXPECT_EQ(p.transport, Transport::tcp);
        EXPECT_EQ(p.tcp.flags, tcp_syn);
        EXPECT_EQ(p.network_offset, c.header.size());
    }
}

TEST(Link, UnsupportedAndTruncatedLinkHeaders) {
    Packet p = test::decode(147, Frame{}.zeros(40));  // DLT_USER0
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.layer, Layer::link);
    for (int dlt : {0, 1, 108, 113, 276}) {
        p = test::decode(dlt, Frame{}.zeros(3));
        EXPECT_TRUE(p.has_malformed && p.malformed.truncated) << "dlt " << dlt;
    }
    p = test::decode(12, Frame{});
    EXPECT_TRUE(p.has_malformed);
}

}  // namespace
}  // namespace tpk::decode
