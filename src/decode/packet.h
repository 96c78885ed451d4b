// The decoded view of one captured frame: plain data the journey matches
// against kernel events (flow, TCP flags, raw seq/ack, payload length) and the
// text renderer prints. decode_frame() fills it without allocating and without
// throwing; whatever it could not parse is a Malformed marker (STYLE.md:
// malformed is data).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "decode/bytes.h"

namespace tpk::decode {

// Link-layer header types, by their DLT_ values as pcap_datalink() returns them.
enum class LinkType : int {
    null = 0,          // DLT_NULL: 4-byte address family, host byte order of the writer
    ethernet = 1,      // DLT_EN10MB: what libpcap reports for lo
    raw = 12,          // DLT_RAW: bare IPv4 or IPv6 (LINKTYPE_RAW 101 maps to it)
    loop = 108,        // DLT_LOOP: like null but network byte order
    linux_sll = 113,   // DLT_LINUX_SLL: cooked v1, `-i any` before libpcap 1.10
    ipv4 = 228,        // DLT_IPV4
    ipv6 = 229,        // DLT_IPV6
    linux_sll2 = 276,  // DLT_LINUX_SLL2: cooked v2, `-i any` with libpcap >= 1.10
};

bool is_supported_link_type(int dlt);

enum class Layer : std::uint8_t { link, arp, ipv4, ipv6, tcp, udp, icmp, icmpv6 };
std::string_view layer_name(Layer l);  // "tcp", "ip6", ... as tcpdump's [|tcp]

// Where decoding stopped and why. reason is a static string.
struct Malformed {
    Layer layer = Layer::link;
    std::uint32_t offset = 0;   // byte offset in the frame where the bad header starts
    std::string_view reason;    // "truncated", "bad header length", ...
    bool truncated = false;     // cut by the snap length (rendered as [|layer])
};

enum class Family : std::uint8_t { none, ipv4, ipv6 };

struct IpAddress {
    Family family = Family::none;
    std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
};

using MacAddress = std::array<std::uint8_t, 6>;

struct LinkInfo {
    LinkType type = LinkType::ethernet;
    std::uint16_t header_length = 0;
    std::uint16_t ethertype = 0;     // or the protocol the cooked/null header names
    MacAddress src{};
    MacAddress dst{};
    bool has_macs = false;
    std::uint16_t sll_packet_type = 0;  // cooked: 0 host, 1 broadcast, 4 outgoing, ...
    std::uint32_t sll_ifindex = 0;      // cooked v2 only
};

enum class Network : std::uint8_t { none, ipv4, ipv6, arp, other };

struct Ipv4Info {
    std::uint8_t header_length = 0;  // bytes (IHL * 4)
    std::uint8_t tos = 0;
    std::uint8_t ttl = 0;
    std::uint8_t protocol = 0;
    std::uint16_t total_length = 0;
    std::uint16_t id = 0;
    std::uint16_t fragment_offset = 0;  // bytes
    std::uint16_t checksum = 0;
    bool dont_fragment = false;
    bool more_fragments = false;
    bool reserved_flag = false;
    bool checksum_ok = false;
    std::uint8_t options_length = 0;  // bytes after the fixed 20
};

struct Ipv6ExtensionHeader {
    std::uint8_t type = 0;    // 0 hop-by-hop, 43 routing, 44 fragment, 60 dest opts, 51 AH
    std::uint16_t length = 0; // bytes
    std::uint32_t offset = 0; // where it starts in the frame
};

struct Ipv6Info {
    std::uint8_t traffic_class = 0;
    std::uint8_t hop_limit = 0;
    std::uint8_t next_header = 0;   // the first next-header field
    std::uint32_t flow_label = 0;
    std::uint16_t payload_length = 0;
    std::array<Ipv6ExtensionHeader, 8> extensions{};
    std::uint8_t extension_count = 0;
    bool is_fragment = false;
    std::uint16_t fragment_offset = 0;  // bytes
    bool more_fragments = false;
    std::uint32_t fragment_id = 0;
    // RFC 2675: payload length 0 with a hop-by-hop jumbo option giving it.
    bool jumbo = false;
    std::uint32_t jumbo_length = 0;
    // Payload length 0 without a jumbo option: nothing after the header is
    // decoded (tcpdump's snapshot ends there too).
    bool zero_payload = false;
};

enum TcpFlag : std::uint8_t {
    tcp_fin = 0x01, tcp_syn = 0x02, tcp_rst = 0x04, tcp_psh = 0x08,
    tcp_ack = 0x10, tcp_urg = 0x20, tcp_ece = 0x40, tcp_cwr = 0x80,
};

// One option as it appeared, in order. data_offset is relative to the TCP header.
struct TcpOption {
    std::uint8_t kind = 0;
    std::uint8_t length = 0;        // as declared (1 for eol/nop)
    std::uint8_t data_offset = 0;
    std::uint8_t data_length = 0;   // bytes actually present
};

struct SackBlock {
    std::uint32_t left = 0;
    std::uint32_t right = 0;
};

struct TcpInfo {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t seq = 0;   // raw, as on the wire
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;  // TcpFlag bits
    std::uint8_t header_length = 0;  // bytes (data offset * 4)
    std::uint16_t window = 0;        // raw, unscaled
    std::uint16_t checksum = 0;
    std::uint16_t urgent = 0;
    std::array<TcpOption, 40> options{};
    std::uint8_t option_count = 0;
    bool options_malformed = false;  // a length byte was < 2 or past the header
    // The options the journey and tshark comparison care about, parsed.
    bool has_mss = false;
    std::uint16_t mss = 0;
    bool has_wscale = false;
    std::uint8_t wscale = 0;
    bool sack_permitted = false;
    bool has_timestamps = false;
    std::uint32_t ts_val = 0;
    std::uint32_t ts_ecr = 0;
    std::array<SackBlock, 4> sack{};
    std::uint8_t sack_count = 0;
};

struct UdpInfo {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint16_t length = 0;  // the UDP length field (header + data)
    std::uint16_t checksum = 0;
};

struct IcmpInfo {
    std::uint8_t type = 0;
    std::uint8_t code = 0;
    std::uint16_t checksum = 0;
    std::uint16_t id = 0;    // echo request/reply only
    std::uint16_t seq = 0;
    bool is_echo = false;
    // Destination unreachable: the quoted datagram's destination and port.
    bool has_quoted = false;
    std::uint8_t quoted_protocol = 0;
    IpAddress quoted_dst{};
    std::uint16_t quoted_dst_port = 0;
    IpAddress target{};  // ICMPv6 neighbour solicitation/advertisement target
    bool has_target = false;
};

struct ArpInfo {
    std::uint16_t hardware_type = 0;
    std::uint16_t protocol_type = 0;
    std::uint8_t hardware_length = 0;
    std::uint8_t protocol_length = 0;
    std::uint16_t operation = 0;  // 1 request, 2 reply
    MacAddress sender_mac{};
    std::array<std::uint8_t, 4> sender_ip{};
    MacAddress target_mac{};
    std::array<std::uint8_t, 4> target_ip{};
    bool is_ethernet_ipv4 = false;
};

enum class Transport : std::uint8_t { none, tcp, udp, icmp, icmpv6, other };

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;

struct Packet {
    Bytes frame;                     // the captured bytes (not owned)
    std::uint32_t wire_length = 0;   // length on the wire (may exceed frame.size())

    LinkInfo link;
    Network network = Network::none;
    std::uint32_t network_offset = 0;  // where the IP/ARP header starts in frame
    Ipv4Info ipv4;
    Ipv6Info ipv6;
    ArpInfo arp;

    // The flow: addresses, protocol and (for TCP/UDP) ports.
    IpAddress src;
    IpAddress dst;
    std::uint8_t protocol = 0;        // final IP protocol / next header
    Transport transport = Transport::none;
    std::uint32_t transport_offset = 0;
    std::uint32_t transport_length = 0;  // bytes the IP header says follow it
    bool later_fragment = false;      // IPv4/IPv6 fragment with offset != 0: no transport header
    TcpInfo tcp;
    UdpInfo udp;
    IcmpInfo icmp;

    // Application bytes: for TCP the IP length minus both headers, for UDP the
    // UDP length minus 8 (the numbers tcpdump prints as "length N").
    std::uint32_t payload_length = 0;
    std::uint32_t payload_offset = 0;

    bool has_malformed = false;
    Malformed malformed;

    // Where the IP datagram ends in frame (tcpdump's snapend once ip_print or
    // ip6_print cut the snapshot to the IP length): the transport decoders
    // and printers read nothing past it, so link-layer padding is never taken
    // for a header. 0 until an IP header set it.
    std::uint32_t snap_end = 0;
    Bytes captured() const { return snap_end && snap_end < frame.size() ? frame.first(snap_end) : frame; }

    std::uint16_t src_port() const;
    std::uint16_t dst_port() const;
};

// Decodes one frame of the given link type. Never throws, never reads past
// frame; stops at the first bad header and records it in malformed.
// wire_length is the original length (pcap's len), frame holds caplen bytes.
void decode_frame(int link_type, Bytes frame, std::uint32_t wire_length, Packet& out);

// Layer decoders, usable alone; each records a Malformed and returns false on
// bad input. offset is where the header starts in p.frame.
bool decode_ipv4(Packet& p, std::uint32_t offset);
bool decode_ipv6(Packet& p, std::uint32_t offset);
bool decode_arp(Packet& p, std::uint32_t offset);
bool decode_tcp(Packet& p, std::uint32_t offset);
bool decode_udp(Packet& p, std::uint32_t offset);
bool decode_icmp(Packet& p, std::uint32_t offset);
bool decode_icmpv6(Packet& p, std::uint32_t offset);

// Records a Malformed in p (the first one wins) and returns false.
bool mark_malformed(Packet& p, Layer layer, std::uint32_t offset, std::string_view reason,
                    bool truncated = false);

// Internet checksum (RFC 1071) folded, over data plus an initial partial sum.
std::uint32_t checksum_add(Bytes data, std::uint32_t sum = 0);
std::uint16_t checksum_fold(std::uint32_t sum);

}  // namespace tpk::decode
