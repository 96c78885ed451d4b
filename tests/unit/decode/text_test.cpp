// src/decode/text.cpp: tcpdump -nn lines, relative sequence numbers, -x.
#include <gtest/gtest.h>

#include "decode/text.h"
#include "frames.h"

namespace tpk::decode {
namespace {

using test::Frame;

std::string line(TextRenderer& r, const Frame& f, std::uint32_t wire = 0) {
    const Packet p = test::decode(1, f, wire);
    fmt::memory_buffer out;
    r.render_body(p, out);
    return fmt::to_string(out);
}

Frame segment(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, bool reply, std::size_t payload = 0) {
    Frame t = test::tcp(flags, {}, seq, ack);
    if (reply) {  // swap ports
        std::swap(t.bytes[0], t.bytes[2]);
        std::swap(t.bytes[1], t.bytes[3]);
    }
    Frame f = test::eth_ipv4(kProtoTcp, t, payload);
    if (reply) {  // and addresses
        for (std::size_t i = 0; i < 4; ++i) std::swap(f.bytes[14 + 12 + i], f.bytes[14 + 16 + i]);
    }
    return f;
}

TEST(Text, HandshakeThenRelativeNumbersLikeTcpdump) {
    TextRenderer r;
    EXPECT_EQ(line(r, segment(tcp_syn, 1000, 0, false)),
              "IP 127.0.0.1.40000 > 127.0.0.2.5201: Flags [S], seq 1000, win 512, length 0");
    EXPECT_EQ(line(r, segment(tcp_syn | tcp_ack, 5000, 1001, true)),
              "IP 127.0.0.2.5201 > 127.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 512, length 0");
    EXPECT_EQ(line(r, segment(tcp_ack, 1001, 5001, false)),
              "IP 127.0.0.1.40000 > 127.0.0.2.5201: Flags [.], ack 1, win 512, length 0");
    EXPECT_EQ(line(r, segment(tcp_psh | tcp_ack, 1001, 5001, false, 10)),
              "IP 127.0.0.1.40000 > 127.0.0.2.5201: Flags [P.], seq 1:11, ack 1, win 512, length 10");
    EXPECT_EQ(line(r, segment(tcp_fin | tcp_ack, 5001, 1011, true)),
              "IP 127.0.0.2.5201 > 127.0.0.1.40000: Flags [F.], seq 1, ack 11, win 512, length 0");
}

TEST(Text, AbsoluteNumbersWithS) {
    TextRenderer r({.absolute_seq = true});
    (void)line(r, segment(tcp_syn | tcp_ack, 5000, 1001, true));
    EXPECT_EQ(line(r, segment(tcp_ack, 1001, 5001, false)),
              "IP 127.0.0.1.40000 > 127.0.0.2.5201: Flags [.], ack 5001, win 512, length 0");
}

TEST(Text, OptionsAsTcpdumpPrintsThem) {
    TextRenderer r;
    const Frame f = test::eth_ipv4(kProtoTcp, test::tcp(tcp_syn, {2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0,
                                                                  1, 3, 3, 7, 76, 4, 0xab, 0xcd}));
    EXPECT_EQ(line(r, f), "IP 127.0.0.1.40000 > 127.0.0.2.5201: Flags [S], seq 1000, win 512, options "
                          "[mss 65495,sackOK,TS val 7 ecr 0,nop,wscale 7,unknown-76 0xabcd], length 0");
}

TEST(Text, TruncatedHeadersEndInLayerMarker) {
    TextRenderer r;
    const Frame full = test::eth_ipv4(kProtoTcp, test::tcp(tcp_ack));
    Frame cut;
    cut.bytes.assign(full.bytes.begin(), full.bytes.begin() + 14 + 20 + 10);
    EXPECT_EQ(line(r, cut, static_cast<std::uint32_t>(full.size())),
              "IP 127.0.0.1.40000 > 127.0.0.2.5201:  [|tcp]");
    cut.bytes.resize(14 + 8);
    EXPECT_EQ(line(r, cut, static_cast<std::uint32_t>(full.size())), "IP  [|ip]");
}

TEST(Text, UdpIcmpAndArp) {
    TextRenderer r;
    EXPECT_EQ(line(r, test::eth_ipv4(kProtoUdp, test::udp(5))), "IP 127.0.0.1.40001 > 127.0.0.2.4000: UDP, length 5");
    EXPECT_EQ(line(r, test::eth_ipv4(kProtoIcmp, Frame{}.raw({8, 0, 0, 0, 0x12, 0x34, 0, 1}), 32)),
              "IP 127.0.0.1 > 127.0.0.2: ICMP echo request, id 4660, seq 1, length 40");
    Frame arp = test::ethernet(0x0806);
    arp.u16(1).u16(0x0800).u8(6).u8(4).u16(2).raw({2, 0, 0, 0, 0, 1}).raw({10, 0, 0, 1}).zeros(6).raw({10, 0, 0, 2});
    EXPECT_EQ(line(r, arp), "ARP, Reply 10.0.0.1 is-at 02:00:00:00:00:01, length 28");
}

TEST(Text, ArpRequestNamesANonZeroTargetMac) {
    TextRenderer r;
    Frame arp = test::ethernet(0x0806);
    arp.u16(1).u16(0x0800).u8(6).u8(4).u16(1).raw({2, 0, 0, 0, 0, 1}).raw({10, 0, 0, 1}).raw({2, 0, 0, 0, 0, 0xb})
       .raw({10, 0, 0, 2});
    EXPECT_EQ(line(r, arp), "ARP, Request who-has 10.0.0.2 (02:00:00:00:00:0b) tell 10.0.0.1, length 28");
}

std::string full_line(TextRenderer& r, const Packet& p, std::int64_t sec, std::int64_t frac) {
    fmt::memory_buffer out;
    r.render(p, sec, frac, out);
    return fmt::to_string(out);
}

TEST(Text, RecordsTcpdumpRefusesPrintItsInvalidHeaderLine) {
    TextRenderer r({.utc = true});
    const Frame empty;
    EXPECT_EQ(full_line(r, test::decode(1, empty, 0), 1700000000, 0), "[Invalid header: caplen==0, len==0]\n");
    Packet p;
    decode_frame(1, empty.span(), 60, p);
    EXPECT_EQ(full_line(r, p, 1700000000, 0), "[Invalid header: caplen==0]\n");
    const Frame f = test::eth_ipv4(kProtoUdp, test::udp(0));
    decode_frame(1, f.span(), 10, p);  // len < caplen
    EXPECT_EQ(full_line(r, p, 1700000000, 0), "[Invalid header: len(10) < caplen(42)]\n");
}

TEST(Text, OutOfRangeTimeStampsPrintAsTcpdumpPrintsThem) {
    TextRenderer micro({.utc = true}), nano({.nano = true, .utc = true});
    const Frame f = test::eth_ipv4(kProtoUdp, test::udp(0));
    const Packet p = test::decode(1, f);
    const std::string rest = " IP 127.0.0.1.40001 > 127.0.0.2.4000: UDP, length 0\n";
    EXPECT_EQ(full_line(micro, p, 1700000000, 999999000), "22:13:20.999999" + rest);
    EXPECT_EQ(full_line(micro, p, 1700000000, 1000000000), "22:13:20.1000000" + rest);  // usec 1000000
    EXPECT_EQ(full_line(micro, p, 1700000000, -1000), "22:13:20.4294967295" + rest);    // usec 0xffffffff
    EXPECT_EQ(full_line(nano, p, 1700000000, -1000), "22:13:20.4294966296" + rest);
    EXPECT_EQ(full_line(micro, p, INT32_MIN, 5000), "[Error converting time]" + rest);  // seconds >= 2^31
}

TEST(Text, MptcpAndFastOpenOptionsAreNamed) {
    TextRenderer r;
    const Frame mp = test::eth_ipv4(kProtoTcp, test::tcp(tcp_syn, {30, 12, 0x00, 0x81, 0, 0x81, 0x9c, 0x3f, 0x2b, 0x1a,
                                                                   0xe4, 0x50}));
    EXPECT_EQ(line(r, mp), "IP 127.0.0.1.40000 > 127.0.0.2.5201: Flags [S], seq 1000, win 512, options "
                           "[mptcp 12 capable v0 csum {0x819c3f2b1ae450}], length 0");
    const Frame tfo = test::eth_ipv4(kProtoTcp, test::tcp(tcp_syn, {254, 4, 0xf9, 0x89}));
    EXPECT_EQ(line(r, tfo), "IP 127.0.0.1.40000 > 127.0.0.2.5201: Flags [S], seq 1000, win 512, options "
                            "[exp-tfo cookiereq], length 0");
}

TEST(Text, HexDumpSkipsTheLinkHeader) {
    TextRenderer r({.hex = 1});
    const Frame f = test::eth_ipv4(kProtoUdp, test::udp(0));  // p.frame points into it
    const Packet p = test::decode(1, f);
    fmt::memory_buffer out;
    r.render(p, 0, 0, out);
    const std::string text = fmt::to_string(out);
    EXPECT_NE(text.find("\n\t0x0000:  4500 001c 1234 4000 4011 0000 7f00 0001\n\t0x0010:  7f00 0002 9c41 0fa0 0008 0000\n"),
              std::string::npos)
        << text;
}

TEST(Text, ChecksumCheckFindsTheRightValue) {
    // A UDP datagram with a correct checksum computed by hand, then a wrong one.
    Frame f = test::eth_ipv4(kProtoUdp, test::udp(2));
    Packet p = test::decode(1, f);
    const ChecksumCheck bad = check_transport_checksum(p, 0x0000);
    ASSERT_TRUE(bad.computable);
    EXPECT_FALSE(bad.valid);
    f.bytes[14 + 20 + 6] = static_cast<std::uint8_t>(bad.expected >> 8);
    f.bytes[14 + 20 + 7] = static_cast<std::uint8_t>(bad.expected);
    p = test::decode(1, f);
    const ChecksumCheck good = check_transport_checksum(p, p.udp.checksum);
    EXPECT_TRUE(good.valid);
}

}  // namespace
}  // namespace tpk::decode
