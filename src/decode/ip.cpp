// IPv4 (options, fragments) and IPv6 (extension headers), then the transport.
#include <algorithm>

#include "decode/ip6_walk.h"
#include "decode/packet.h"

namespace tpk::decode {

namespace {

void set_address(IpAddress& a, Family family, Bytes b, std::size_t offset) {
    a.family = family;
    const std::size_t n = family == Family::ipv4 ? 4 : 16;
    for (std::size_t i = 0; i < n; ++i) a.bytes[i] = load_u8(b, offset + i);
}

void decode_transport(Packet& p, std::uint8_t protocol, std::uint32_t offset) {
    p.protocol = protocol;
    p.transport_offset = offset;
    if (p.later_fragment) {
        p.transport = Transport::other;
        return;
    }
    switch (protocol) {
        case kProtoTcp: decode_tcp(p, offset); break;
        case kProtoUdp: decode_udp(p, offset); break;
        // Each ICMP only over its own IP version (ip_demux_print: "[ICMP requires IPv4]").
        case kProtoIcmp:
            if (p.network == Network::ipv4) decode_icmp(p, offset);
            else p.transport = Transport::other;
            break;
        case kProtoIcmpv6:
            if (p.network == Network::ipv6) decode_icmpv6(p, offset);
            else p.transport = Transport::other;
            break;
        default: p.transport = Transport::other; break;
    }
}

}  // namespace

bool decode_ipv4(Packet& p, std::uint32_t offset) {
    const Bytes f = p.frame;
    p.network = Network::ipv4;
    p.network_offset = offset;
    if (!fits(f, offset, 20)) return mark_malformed(p, Layer::ipv4, offset, "truncated", true);
    const std::uint8_t vihl = load_u8(f, offset);
    if ((vihl >> 4) != 4) return mark_malformed(p, Layer::ipv4, offset, "bad version");
    Ipv4Info& ip = p.ipv4;
    ip.header_length = static_cast<std::uint8_t>((vihl & 0x0f) * 4);
    ip.tos = load_u8(f, offset + 1);
    ip.total_length = load_be16(f, offset + 2);
    ip.id = load_be16(f, offset + 4);
    const std::uint16_t frag = load_be16(f, offset + 6);
    ip.reserved_flag = frag & 0x8000;
    ip.dont_fragment = frag & 0x4000;
    ip.more_fragments = frag & 0x2000;
    ip.fragment_offset = static_cast<std::uint16_t>((frag & 0x1fff) * 8);
    ip.ttl = load_u8(f, offset + 8);
    ip.protocol = load_u8(f, offset + 9);
    ip.checksum = load_be16(f, offset + 10);
    set_address(p.src, Family::ipv4, f, offset + 12);
    set_address(p.dst, Family::ipv4, f, offset + 16);
    p.protocol = ip.protocol;
    if (ip.header_length < 20) return mark_malformed(p, Layer::ipv4, offset, "bad header length");
    if (ip.total_length < ip.header_length)
        return mark_malformed(p, Layer::ipv4, offset, "bad total length");
    if (!fits(f, offset, ip.header_length))
        return mark_malformed(p, Layer::ipv4, offset, "truncated options", true);
    ip.options_length = static_cast<std::uint8_t>(ip.header_length - 20);
    ip.checksum_ok = checksum_fold(checksum_add(f.subspan(offset, ip.header_length))) == 0;
    p.transport_length = ip.total_length - ip.header_length;
    p.snap_end = offset + ip.total_length;
    p.later_fragment = ip.fragment_offset != 0;
    decode_transport(p, ip.protocol, offset + ip.header_length);
    return !p.has_malformed;
}

bool decode_ipv6(Packet& p, std::uint32_t offset) {
    const Bytes f = p.frame;
    p.network = Network::ipv6;
    p.network_offset = offset;
    if (!fits(f, offset, 40)) return mark_malformed(p, Layer::ipv6, offset, "truncated", true);
    const std::uint32_t first = load_be32(f, offset);
    if ((first >> 28) != 6) return mark_malformed(p, Layer::ipv6, offset, "bad version");
    Ipv6Info& ip = p.ipv6;
    ip.traffic_class = static_cast<std::uint8_t>((first >> 20) & 0xff);
    ip.flow_label = first & 0xfffff;
    ip.payload_length = load_be16(f, offset + 4);
    ip.next_header = load_u8(f, offset + 6);
    ip.hop_limit = load_u8(f, offset + 7);
    set_address(p.src, Family::ipv6, f, offset + 8);
    set_address(p.dst, Family::ipv6, f, offset + 24);
    p.protocol = ip.next_header;
    // tcpdump's length: what the link layer says is left on the wire.
    const std::uint32_t wire = p.wire_length > offset ? p.wire_length - offset : 0;
    if (wire < 40) return mark_malformed(p, Layer::ipv6, offset, "shorter than an IPv6 header");

    // The same walk the text renderer prints from (ip6_walk.cpp): where the
    // upper layer starts, how long tcpdump takes it to be, or why it stops.
    Ip6Walk w;
    walk_ipv6(p, wire, 0, nullptr, w, &ip);
    ip.jumbo = w.jumbo;
    ip.jumbo_length = w.jumbo_length;
    p.later_fragment = ip.is_fragment && ip.fragment_offset != 0;
    if (!w.upper) {
        if (p.later_fragment) {
            p.protocol = ip.extension_count ? load_u8(f, ip.extensions[ip.extension_count - 1].offset) : p.protocol;
            p.transport = Transport::other;
            p.transport_offset = ip.extension_count
                                     ? ip.extensions[ip.extension_count - 1].offset + 8
                                     : offset + 40;
            return true;
        }
        const std::uint32_t at = ip.extension_count ? ip.extensions[ip.extension_count - 1].offset : offset + 40;
        return mark_malformed(p, Layer::ipv6, at, w.reason, w.truncated);
    }
    p.protocol = w.nh;
    p.transport_length = w.length;
    p.snap_end = w.snap_end;
    if (w.zero_payload) {
        // Payload length 0 and no jumbo option: there is no payload to decode.
        ip.zero_payload = true;
        p.transport_offset = w.offset;
        p.transport = w.nh == kProtoTcp ? Transport::tcp : w.nh == kProtoUdp ? Transport::udp
                    : w.nh == kProtoIcmpv6 ? Transport::icmpv6 : Transport::other;
        return mark_malformed(p, Layer::ipv6, offset, "payload length 0");
    }
    if (w.nh == 59) {  // no next header
        p.transport = Transport::none;
        p.transport_offset = w.offset;
        return true;
    }
    decode_transport(p, w.nh, w.offset);
    return !p.has_malformed;
}

bool decode_arp(Packet& p, std::uint32_t offset) {
    const Bytes f = p.frame;
    p.network = Network::arp;
    p.network_offset = offset;
    if (!fits(f, offset, 8)) return mark_malformed(p, Layer::arp, offset, "truncated", true);
    ArpInfo& a = p.arp;
    a.hardware_type = load_be16(f, offset);
    a.protocol_type = load_be16(f, offset + 2);
    a.hardware_length = load_u8(f, offset + 4);
    a.protocol_length = load_u8(f, offset + 5);
    a.operation = load_be16(f, offset + 6);
    // tcpdump treats any 6-byte hardware address as Ethernet-like (IEEE 802 too).
    a.is_ethernet_ipv4 = a.protocol_type == 0x0800 && a.hardware_length == 6 && a.protocol_length == 4;
    if (!a.is_ethernet_ipv4) return true;  // rendered generically
    if (!fits(f, offset, 28)) return mark_malformed(p, Layer::arp, offset, "truncated", true);
    for (std::size_t i = 0; i < 6; ++i) {
        a.sender_mac[i] = load_u8(f, offset + 8 + i);
        a.target_mac[i] = load_u8(f, offset + 18 + i);
    }
    for (std::size_t i = 0; i < 4; ++i) {
        a.sender_ip[i] = load_u8(f, offset + 14 + i);
        a.target_ip[i] = load_u8(f, offset + 24 + i);
    }
    set_address(p.src, Family::ipv4, f, offset + 14);
    set_address(p.dst, Family::ipv4, f, offset + 24);
    return true;
}

}  // namespace tpk::decode
