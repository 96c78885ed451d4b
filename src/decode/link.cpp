// Link layers: Ethernet (what libpcap reports for lo), Linux cooked v1/v2
// (`-i any`), null/loop and raw IP. Each finds the network protocol and
// hands the rest to the IP or ARP decoder.
#include <bit>

#include "decode/packet.h"

namespace tpk::decode {

namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherRevArp = 0x8035;  // RARP: the same header (tcpdump prints it with arp_print)
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88a8;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;

void copy_mac(Bytes b, std::size_t offset, MacAddress& mac) {
    for (std::size_t i = 0; i < mac.size(); ++i) mac[i] = load_u8(b, offset + i);
}

void decode_network(Packet& p, std::uint16_t ethertype, std::uint32_t offset) {
    p.link.ethertype = ethertype;
    p.link.header_length = static_cast<std::uint16_t>(offset);
    switch (ethertype) {
        case kEtherIpv4: decode_ipv4(p, offset); break;
        case kEtherIpv6: decode_ipv6(p, offset); break;
        case kEtherArp: case kEtherRevArp: decode_arp(p, offset); break;
        default: p.network = Network::other; p.network_offset = offset; break;
    }
}

void decode_ethernet(Packet& p) {
    const Bytes f = p.frame;
    if (!fits(f, 0, 14)) {
        mark_malformed(p, Layer::link, 0, "truncated ethernet header", true);
        return;
    }
    copy_mac(f, 0, p.link.dst);
    copy_mac(f, 6, p.link.src);
    p.link.has_macs = true;
    std::uint32_t offset = 12;
    std::uint16_t type = load_be16(f, offset);
    // Up to two 802.1Q/802.1ad tags (not on lo, but on veth captures).
    for (int tags = 0; tags < 2 && (type == kEtherVlan || type == kEtherQinQ); ++tags) {
        offset += 4;
        if (!fits(f, offset, 2)) {
            mark_malformed(p, Layer::link, offset, "truncated vlan tag", true);
            return;
        }
        type = load_be16(f, offset);
    }
    decode_network(p, type, offset + 2);
}

// struct sll_header (pcap/sll.h): packet type, ARPHRD, address length,
// 8 address bytes, protocol. 16 bytes.
void decode_sll(Packet& p) {
    const Bytes f = p.frame;
    if (!fits(f, 0, 16)) {
        mark_malformed(p, Layer::link, 0, "truncated cooked header", true);
        return;
    }
    p.link.sll_packet_type = load_be16(f, 0);
    if (load_be16(f, 4) == 6) {
        copy_mac(f, 6, p.link.src);
        p.link.has_macs = true;
    }
    decode_network(p, load_be16(f, 14), 16);
}

// struct sll2_header: protocol, reserved, ifindex, ARPHRD, packet type,
// address length, 8 address bytes. 20 bytes.
void decode_sll2(Packet& p) {
    const Bytes f = p.frame;
    if (!fits(f, 0, 20)) {
        mark_malformed(p, Layer::link, 0, "truncated cooked v2 header", true);
        return;
    }
    p.link.sll_ifindex = load_be32(f, 4);
    p.link.sll_packet_type = load_u8(f, 10);
    if (load_u8(f, 11) == 6) {
        copy_mac(f, 12, p.link.src);
        p.link.has_macs = true;
    }
    decode_network(p, load_be16(f, 0), 20);
}

std::uint16_t ethertype_for_af(std::uint32_t af) {
    switch (af) {
        case 2: return kEtherIpv4;                       // AF_INET everywhere
        case 10: case 24: case 28: case 30: return kEtherIpv6;  // Linux, BSDs, Darwin
        default: return 0;
    }
}

// DLT_NULL stores the AF in the writer's byte order, DLT_LOOP in network
// order. A value with high bytes set was written by the other endianness.
void decode_null(Packet& p, bool network_order) {
    const Bytes f = p.frame;
    if (!fits(f, 0, 4)) {
        mark_malformed(p, Layer::link, 0, "truncated null header", true);
        return;
    }
    std::uint32_t af = network_order ? load_be32(f, 0) : load_le32(f, 0);
    if (!network_order && (af & 0xffff0000u)) af = __builtin_bswap32(af);
    const std::uint16_t type = ethertype_for_af(af);
    if (type == 0) {
        p.link.header_length = 4;
        mark_malformed(p, Layer::link, 0, "unknown address family");
        return;
    }
    decode_network(p, type, 4);
}

void decode_raw(Packet& p) {
    if (p.frame.empty()) {
        mark_malformed(p, Layer::link, 0, "empty raw packet", true);
        return;
    }
    const unsigned version = load_u8(p.frame, 0) >> 4;
    if (version == 4) decode_network(p, kEtherIpv4, 0);
    else if (version == 6) decode_network(p, kEtherIpv6, 0);
    else mark_malformed(p, Layer::link, 0, "raw packet is neither IPv4 nor IPv6");
}

}  // namespace

bool is_supported_link_type(int dlt) {
    switch (static_cast<LinkType>(dlt)) {
        case LinkType::null: case LinkType::ethernet: case LinkType::raw:
        case LinkType::loop: case LinkType::linux_sll: case LinkType::ipv4:
        case LinkType::ipv6: case LinkType::linux_sll2:
            return true;
    }
    return dlt == 101;  // LINKTYPE_RAW, should libpcap ever hand it through
}

std::string_view layer_name(Layer l) {
    switch (l) {
        case Layer::link: return "link";
        case Layer::arp: return "arp";
        case Layer::ipv4: return "ip";
        case Layer::ipv6: return "ip6";
        case Layer::tcp: return "tcp";
        case Layer::udp: return "udp";
        case Layer::icmp: return "icmp";
        case Layer::icmpv6: return "icmp6";
    }
    return "?";
}

bool mark_malformed(Packet& p, Layer layer, std::uint32_t offset, std::string_view reason,
                    bool truncated) {
    if (!p.has_malformed) {
        p.has_malformed = true;
        p.malformed = Malformed{layer, offset, reason, truncated};
    }
    return false;
}

std::uint16_t Packet::src_port() const {
    if (transport == Transport::tcp) return tcp.src_port;
    if (transport == Transport::udp) return udp.src_port;
    return 0;
}

std::uint16_t Packet::dst_port() const {
    if (transport == Transport::tcp) return tcp.dst_port;
    if (transport == Transport::udp) return udp.dst_port;
    return 0;
}

void decode_frame(int link_type, Bytes frame, std::uint32_t wire_length, Packet& out) {
    out = Packet{};
    out.frame = frame;
    out.wire_length = wire_length;
    out.link.type = static_cast<LinkType>(link_type);
    switch (link_type) {
        case static_cast<int>(LinkType::ethernet): decode_ethernet(out); break;
        case static_cast<int>(LinkType::linux_sll): decode_sll(out); break;
        case static_cast<int>(LinkType::linux_sll2): decode_sll2(out); break;
        case static_cast<int>(LinkType::null): decode_null(out, false); break;
        case static_cast<int>(LinkType::loop): decode_null(out, true); break;
        case static_cast<int>(LinkType::raw):
        case 101:
            out.link.type = LinkType::raw;
            decode_raw(out);
            break;
        case static_cast<int>(LinkType::ipv4): decode_network(out, kEtherIpv4, 0); break;
        case static_cast<int>(LinkType::ipv6): decode_network(out, kEtherIpv6, 0); break;
        default: mark_malformed(out, Layer::link, 0, "unsupported link type"); break;
    }
}

std::uint32_t checksum_add(Bytes data, std::uint32_t sum) {
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2) sum += load_be16(data, i);
    if (i < data.size()) sum += static_cast<std::uint32_t>(load_u8(data, i)) << 8;
    return sum;
}

std::uint16_t checksum_fold(std::uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

}  // namespace tpk::decode
