// TCP (with every option, SACK blocks included), UDP, ICMP and ICMPv6.
// Lengths come from the IP header (p.transport_length), not from what was
// captured, so a snap-length cut frame still reports its real payload size.
#include <algorithm>

#include "decode/packet.h"

namespace tpk::decode {

namespace {

constexpr std::uint8_t kOptEol = 0, kOptNop = 1, kOptMss = 2, kOptWscale = 3,
                       kOptSackOk = 4, kOptSack = 5, kOptTimestamp = 8;

void parse_known_option(TcpInfo& tcp, Bytes f, std::size_t data, const TcpOption& o) {
    switch (o.kind) {
        case kOptMss:
            if (o.data_length >= 2) { tcp.has_mss = true; tcp.mss = load_be16(f, data); }
            break;
        case kOptWscale:
            if (o.data_length >= 1) { tcp.has_wscale = true; tcp.wscale = load_u8(f, data); }
            break;
        case kOptSackOk: tcp.sack_permitted = true; break;
        case kOptTimestamp:
            if (o.data_length >= 8) {
                tcp.has_timestamps = true;
                tcp.ts_val = load_be32(f, data);
                tcp.ts_ecr = load_be32(f, data + 4);
            }
            break;
        case kOptSack:
            for (std::size_t i = 0; i + 8 <= o.data_length && tcp.sack_count < tcp.sack.size(); i += 8)
                tcp.sack[tcp.sack_count++] = SackBlock{load_be32(f, data + i), load_be32(f, data + i + 4)};
            break;
        default: break;
    }
}

// Walks the options like tcpdump's tcp_print: eol/nop are one byte, every
// other kind has a length byte >= 2 that must stay inside the header.
void parse_tcp_options(Packet& p, std::uint32_t header, std::uint32_t header_end_declared) {
    const Bytes f = p.captured();
    TcpInfo& tcp = p.tcp;
    std::uint32_t pos = header + 20;
    const std::uint32_t end = header_end_declared;
    while (pos < end && tcp.option_count < tcp.options.size()) {
        if (!fits(f, pos, 1)) return;  // cut by the snap length: caller marks it
        TcpOption o;
        o.kind = load_u8(f, pos);
        if (o.kind == kOptEol || o.kind == kOptNop) {
            o.length = 1;
            o.data_offset = static_cast<std::uint8_t>(pos + 1 - header);
            tcp.options[tcp.option_count++] = o;
            ++pos;
            if (o.kind == kOptEol) return;
            continue;
        }
        if (!fits(f, pos + 1, 1)) return;
        o.length = load_u8(f, pos + 1);
        if (o.length < 2 || pos + o.length > end) {
            tcp.options_malformed = true;
            tcp.options[tcp.option_count++] = o;
            return;
        }
        o.data_offset = static_cast<std::uint8_t>(pos + 2 - header);
        const std::size_t captured = f.size() > pos + 2 ? f.size() - (pos + 2) : 0;
        o.data_length = static_cast<std::uint8_t>(std::min<std::size_t>(o.length - 2u, captured));
        tcp.options[tcp.option_count++] = o;
        parse_known_option(tcp, f, pos + 2, o);
        pos += o.length;
    }
}

}  // namespace

bool decode_tcp(Packet& p, std::uint32_t offset) {
    const Bytes f = p.captured();
    p.transport = Transport::tcp;
    p.transport_offset = offset;
    TcpInfo& tcp = p.tcp;
    if (!fits(f, offset, 4)) return mark_malformed(p, Layer::tcp, offset, "truncated", true);
    tcp.src_port = load_be16(f, offset);
    tcp.dst_port = load_be16(f, offset + 2);
    if (!fits(f, offset, 20)) return mark_malformed(p, Layer::tcp, offset, "truncated", true);
    tcp.seq = load_be32(f, offset + 4);
    tcp.ack = load_be32(f, offset + 8);
    tcp.header_length = static_cast<std::uint8_t>((load_u8(f, offset + 12) >> 4) * 4);
    tcp.flags = load_u8(f, offset + 13);
    tcp.window = load_be16(f, offset + 14);
    tcp.checksum = load_be16(f, offset + 16);
    tcp.urgent = load_be16(f, offset + 18);
    if (tcp.header_length < 20) return mark_malformed(p, Layer::tcp, offset, "bad header length");
    if (tcp.header_length > p.transport_length)
        return mark_malformed(p, Layer::tcp, offset, "header longer than segment");
    parse_tcp_options(p, offset, offset + tcp.header_length);
    p.payload_length = p.transport_length - tcp.header_length;
    p.payload_offset = offset + tcp.header_length;
    if (!fits(f, offset, tcp.header_length))
        return mark_malformed(p, Layer::tcp, offset, "truncated options", true);
    return true;
}

bool decode_udp(Packet& p, std::uint32_t offset) {
    const Bytes f = p.captured();
    p.transport = Transport::udp;
    p.transport_offset = offset;
    if (!fits(f, offset, 4)) return mark_malformed(p, Layer::udp, offset, "truncated", true);
    p.udp.src_port = load_be16(f, offset);
    p.udp.dst_port = load_be16(f, offset + 2);
    // udp_print's order: the IP length, then the length field, and only
    // then (for -v) the checksum.
    if (p.transport_length < 8) return mark_malformed(p, Layer::udp, offset, "truncated-udp");
    if (!fits(f, offset, 6)) return mark_malformed(p, Layer::udp, offset, "truncated", true);
    p.udp.length = load_be16(f, offset + 4);
    std::uint32_t ulen = p.udp.length;
    if (ulen == 0 && p.transport_length > 65535) ulen = p.transport_length;  // RFC 2675 jumbogram
    if (ulen < 8) return mark_malformed(p, Layer::udp, offset, "bad udp length");
    p.payload_length = std::min<std::uint32_t>(ulen, p.transport_length) - 8;
    p.payload_offset = offset + 8;
    if (!fits(f, offset, 8)) return mark_malformed(p, Layer::udp, offset, "truncated", true);
    p.udp.checksum = load_be16(f, offset + 6);
    return true;
}

bool decode_icmp(Packet& p, std::uint32_t offset) {
    const Bytes f = p.captured();
    p.transport = Transport::icmp;
    p.transport_offset = offset;
    IcmpInfo& icmp = p.icmp;
    if (!fits(f, offset, 4)) return mark_malformed(p, Layer::icmp, offset, "truncated", true);
    icmp.type = load_u8(f, offset);
    icmp.code = load_u8(f, offset + 1);
    icmp.checksum = load_be16(f, offset + 2);
    p.payload_offset = offset + 8;
    p.payload_length = p.transport_length >= 8 ? p.transport_length - 8 : 0;
    if (icmp.type == 0 || icmp.type == 8) {  // echo reply / request (RFC 792)
        if (!fits(f, offset, 8)) return mark_malformed(p, Layer::icmp, offset, "truncated", true);
        icmp.is_echo = true;
        icmp.id = load_be16(f, offset + 4);
        icmp.seq = load_be16(f, offset + 6);
    } else if (icmp.type == 3) {
        // Destination unreachable quotes the offending IP header + 8 bytes.
        const std::uint32_t q = offset + 8;
        if (fits(f, q, 20) && (load_u8(f, q) >> 4) == 4) {
            const std::uint32_t ihl = (load_u8(f, q) & 0x0f) * 4u;
            icmp.has_quoted = true;
            icmp.quoted_protocol = load_u8(f, q + 9);
            icmp.quoted_dst.family = Family::ipv4;
            for (std::size_t i = 0; i < 4; ++i) icmp.quoted_dst.bytes[i] = load_u8(f, q + 16 + i);
            if (ihl >= 20 && fits(f, q + ihl, 4)) icmp.quoted_dst_port = load_be16(f, q + ihl + 2);
        }
    }
    return true;
}

bool decode_icmpv6(Packet& p, std::uint32_t offset) {
    const Bytes f = p.captured();
    p.transport = Transport::icmpv6;
    p.transport_offset = offset;
    IcmpInfo& icmp = p.icmp;
    if (!fits(f, offset, 4)) return mark_malformed(p, Layer::icmpv6, offset, "truncated", true);
    icmp.type = load_u8(f, offset);
    icmp.code = load_u8(f, offset + 1);
    icmp.checksum = load_be16(f, offset + 2);
    p.payload_offset = offset + 8;
    p.payload_length = p.transport_length >= 8 ? p.transport_length - 8 : 0;
    if (icmp.type == 128 || icmp.type == 129) {  // echo request / reply (RFC 4443)
        if (!fits(f, offset, 8)) return mark_malformed(p, Layer::icmpv6, offset, "truncated", true);
        icmp.is_echo = true;
        icmp.id = load_be16(f, offset + 4);
        icmp.seq = load_be16(f, offset + 6);
    } else if (icmp.type == 135 || icmp.type == 136) {  // neighbour solicit/advert (RFC 4861)
        if (!fits(f, offset, 24)) return mark_malformed(p, Layer::icmpv6, offset, "truncated", true);
        icmp.has_target = true;
        icmp.target.family = Family::ipv6;
        for (std::size_t i = 0; i < 16; ++i) icmp.target.bytes[i] = load_u8(f, offset + 8 + i);
    }
    return true;
}

}  // namespace tpk::decode
