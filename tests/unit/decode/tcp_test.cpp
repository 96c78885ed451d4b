// src/decode/transport.cpp: TCP header and option parsing.
#include <gtest/gtest.h>

#include "frames.h"

namespace tpk::decode {
namespace {

using test::decode;
using test::eth_ipv4;
using test::tcp;

TEST(Tcp, HeaderFieldsAreRawAndInNetworkOrder) {
    const Packet p = decode(1, eth_ipv4(kProtoTcp, tcp(tcp_syn | tcp_ack, {}, 0xdeadbeef, 0x01020304), 7));
    ASSERT_FALSE(p.has_malformed);
    EXPECT_EQ(p.transport, Transport::tcp);
    EXPECT_EQ(p.tcp.src_port, 40000);
    EXPECT_EQ(p.tcp.dst_port, 5201);
    EXPECT_EQ(p.tcp.seq, 0xdeadbeefu);
    EXPECT_EQ(p.tcp.ack, 0x01020304u);
    EXPECT_EQ(p.tcp.flags, tcp_syn | tcp_ack);
    EXPECT_EQ(p.tcp.window, 512);
    EXPECT_EQ(p.payload_length, 7u);
    EXPECT_EQ(p.payload_offset, 14u + 20u + 20u);
}

TEST(Tcp, SynOptionsAreParsed) {
    // mss 65495, sackOK, TS val 7 ecr 0, nop, wscale 7: what Linux sends on lo.
    const Packet p = decode(1, eth_ipv4(kProtoTcp, tcp(tcp_syn, {2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0,
                                                                   1, 3, 3, 7})));
    ASSERT_FALSE(p.has_malformed);
    EXPECT_TRUE(p.tcp.has_mss);
    EXPECT_EQ(p.tcp.mss, 65495);
    EXPECT_TRUE(p.tcp.sack_permitted);
    EXPECT_TRUE(p.tcp.has_timestamps);
    EXPECT_EQ(p.tcp.ts_val, 7u);
    EXPECT_EQ(p.tcp.ts_ecr, 0u);
    EXPECT_TRUE(p.tcp.has_wscale);
    EXPECT_EQ(p.tcp.wscale, 7);
    EXPECT_EQ(p.tcp.option_count, 5);
}

TEST(Tcp, SackBlocksAreParsed) {
    const Packet p = decode(1, eth_ipv4(kProtoTcp, tcp(tcp_ack, {1, 1, 5, 18, 0, 0, 0, 100, 0, 0, 0, 200,
                                                                   0, 0, 1, 0, 0, 0, 2, 0})));
    ASSERT_FALSE(p.has_malformed);
    ASSERT_EQ(p.tcp.sack_count, 2);
    EXPECT_EQ(p.tcp.sack[0].left, 100u);
    EXPECT_EQ(p.tcp.sack[0].right, 200u);
    EXPECT_EQ(p.tcp.sack[1].left, 256u);
    EXPECT_EQ(p.tcp.sack[1].right, 512u);
}

TEST(Tcp, UnknownOptionIsKeptWithItsBytes) {
    const Packet p = decode(1, eth_ipv4(kProtoTcp, tcp(tcp_ack, {76, 4, 0xab, 0xcd})));
    ASSERT_EQ(p.tcp.option_count, 1);
    EXPECT_EQ(p.tcp.options[0].kind, 76);
    EXPECT_EQ(p.tcp.options[0].length, 4);
    EXPECT_EQ(p.tcp.options[0].data_length, 2);
}

TEST(Tcp, BadOptionLengthsAreFlaggedNotFollowed) {
    struct Case {
        const char* what;
        std::initializer_list<std::uint8_t> options;
    };
    for (const Case& c : {Case{"length 0", {2, 0, 0, 0}}, Case{"length 1", {3, 1, 0, 0}},
                          Case{"past the header", {8, 10, 0, 0}}}) {
        SCOPED_TRACE(c.what);
        const Packet p = decode(1, eth_ipv4(kProtoTcp, tcp(tcp_ack, c.options)));
        EXPECT_TRUE(p.tcp.options_malformed);
        EXPECT_FALSE(p.tcp.has_mss);
        EXPECT_FALSE(p.tcp.has_timestamps);
    }
}

TEST(Tcp, HeaderLengthsOutOfRangeAreMalformed) {
    test::Frame short_offset = tcp(tcp_ack);
    short_offset.bytes[12] = 4 << 4;  // 16 bytes < 20
    Packet p = decode(1, eth_ipv4(kProtoTcp, short_offset));
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.layer, Layer::tcp);
    EXPECT_EQ(p.malformed.offset, 34u);

    test::Frame long_offset = tcp(tcp_ack);
    long_offset.bytes[12] = 15 << 4;  // 60 bytes > the 20-byte segment
    p = decode(1, eth_ipv4(kProtoTcp, long_offset));
    ASSERT_TRUE(p.has_malformed);
    EXPECT_EQ(p.malformed.layer, Layer::tcp);
    EXPECT_FALSE(p.malformed.truncated);
}

TEST(Tcp, EveryTruncationPointIsReportedNeverReadPast) {
    const test::Frame full = eth_ipv4(kProtoTcp, tcp(tcp_syn, {2, 4, 5, 0xb4, 1, 1, 4, 2}), 10);
    for (std::size_t cut = 0; cut < full.size(); ++cut) {
        test::Frame f;
        f.bytes.assign(full.bytes.begin(), full.bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        const Packet p = decode(1, f, static_cast<std::uint32_t>(full.size()));
        if (cut < 14 + 20 + 28) {
            EXPECT_TRUE(p.has_malformed) << "cut at " << cut;
            EXPECT_TRUE(p.malformed.truncated) << "cut at " << cut;
        } else {
            EXPECT_FALSE(p.has_malformed) << "cut at " << cut << " (only payload missing)";
            EXPECT_EQ(p.payload_length, 10u) << "lengths come from the IP header, not the capture";
        }
    }
}

}  // namespace
}  // namespace tpk::decode
