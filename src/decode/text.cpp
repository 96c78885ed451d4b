#include "decode/text.h"
#include "decode/text_put.h"
#include "decode/ip6_walk.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <fmt/compile.h>

#include <cstring>
#include <string_view>

namespace tpk::decode {

namespace {

using namespace textput;

// tcpdump's ipproto_values
std::string_view protocol_name(std::uint8_t proto) {
    switch (proto) {
        case 0: return "Options";
        case kProtoIcmp: return "ICMP";
        case 2: return "IGMP";
        case 4: return "IPIP";
        case kProtoTcp: return "TCP";
        case 8: return "EGP";
        case 9: return "IGRP";
        case kProtoUdp: return "UDP";
        case 33: return "DCCP";
        case 41: return "IPv6";
        case 43: return "Routing";
        case 44: return "Fragment";
        case 46: return "RSVP";
        case 47: return "GRE";
        case 50: return "ESP";
        case 51: return "AH";
        case 55: return "Mobile IP";
        case kProtoIcmpv6: return "ICMPv6";
        case 62: return "Mobile IP (old)";
        case 88: return "EIGRP";
        case 89: return "OSPF";
        case 103: return "PIM";
        case 108: return "Compressed IP";
        case 112: return "VRRP";
        case 113: return "PGM";
        case 132: return "SCTP";
        case 135: return "Mobility";
        case 143: return "Ethernet";
        default: return "unknown";
    }
}

void put_endpoint(Buf& out, const IpAddress& a, std::uint16_t port) {
    append_address(a, out);
    put(out, '.');
    put_uint(out, port);
}

void put_flow(Buf& out, const Packet& p, bool with_ports) {
    if (with_ports) {
        put_endpoint(out, p.src, p.src_port());
        put(out, " > ");
        put_endpoint(out, p.dst, p.dst_port());
    } else {
        append_address(p.src, out);
        put(out, " > ");
        append_address(p.dst, out);
    }
    put(out, ": ");
}

// tcpdump's nd_print_trunc: " [|tcp]", leading blank included.
std::string_view link_layer_name(LinkType t) {
    switch (t) {
        case LinkType::ethernet: return "ether";
        case LinkType::linux_sll: return "sll";
        case LinkType::linux_sll2: return "sll2";
        case LinkType::null: case LinkType::loop: return "null";
        default: return "raw";
    }
}

// tcp_print/udp_print: "src.port > dst.port: ", or only "port > port: " when
// IPv6 extension headers came first (they printed the addresses already).
void put_transport_flow(Buf& out, const Packet& p) {
    if (p.network == Network::ipv6 && p.ipv6.next_header != p.protocol) {
        put_uint(out, p.src_port());
        put(out, " > ");
        put_uint(out, p.dst_port());
        put(out, ": ");
        return;
    }
    put_flow(out, p, true);
}

void put_truncated(Buf& out, Layer layer) {
    put(out, " [|");
    put(out, layer_name(layer));
    put(out, ']');
}

// tcpdump's tcp_flag_values order: F S R P . U E W.
void put_tcp_flags(Buf& out, std::uint8_t flags) {
    put(out, "Flags [");
    if (flags == 0) put(out, "none");
    static constexpr struct { std::uint8_t bit; char c; } kFlags[] = {
        {tcp_fin, 'F'}, {tcp_syn, 'S'}, {tcp_rst, 'R'}, {tcp_psh, 'P'},
        {tcp_ack, '.'}, {tcp_urg, 'U'}, {tcp_ece, 'E'}, {tcp_cwr, 'W'},
    };
    for (const auto& f : kFlags)
        if (flags & f.bit) out.push_back(f.c);
    put(out, ']');
}

}  // namespace

// ---------------------------------------------------------------------------
// Addresses

void append_address(const IpAddress& a, Buf& out) {
    if (a.family == Family::ipv4) {
        for (int i = 0; i < 4; ++i) {
            if (i) out.push_back('.');
            const unsigned v = a.bytes[i];
            if (v >= 100) out.push_back(static_cast<char>('0' + v / 100));
            if (v >= 10) out.push_back(static_cast<char>('0' + v / 10 % 10));
            out.push_back(static_cast<char>('0' + v % 10));
        }
    } else if (a.family == Family::ipv6) {
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, a.bytes.data(), text, sizeof text)) put(out, std::string_view(text));
    } else {
        put(out, '?');
    }
}

void append_mac(const MacAddress& m, Buf& out) {
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (i) out.push_back(':');
        put_hex2(out, m[i]);
    }
}

// ---------------------------------------------------------------------------
// TCP sequence tracking

bool TcpConversationKey::operator==(const TcpConversationKey& o) const {
    return ports == o.ports && a.family == o.a.family && a.bytes == o.a.bytes && b.bytes == o.b.bytes;
}

std::size_t TcpConversationKeyHash::operator()(const TcpConversationKey& k) const {
    std::uint64_t h = k.ports * 0x9e3779b97f4a7c15ull;
    for (std::size_t i = 0; i < 16; i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, k.a.bytes.data() + i, 8);
        std::memcpy(&y, k.b.bytes.data() + i, 8);
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h = (h ^ y) * 0xc4ceb9fe1a85ec53ull;
    }
    return static_cast<std::size_t>(h ^ (h >> 29));
}

TcpSequenceTracker::Relative TcpSequenceTracker::relate(const Packet& p) {
    const TcpInfo& tcp = p.tcp;
    if (!(tcp.flags & tcp_ack)) return {tcp.seq, tcp.ack, 0};
    const std::uint16_t sport = tcp.src_port, dport = tcp.dst_port;
    // tcpdump's arbitrary collating order, so both directions share one entry.
    const bool rev = sport > dport ||
                     (sport == dport && std::memcmp(p.src.bytes.data(), p.dst.bytes.data(), 16) > 0);
    TcpConversationKey key;
    if (rev) {
        key.a = p.dst; key.b = p.src;
        key.ports = static_cast<std::uint32_t>(dport) << 16 | sport;
    } else {
        key.a = p.src; key.b = p.dst;
        key.ports = static_cast<std::uint32_t>(sport) << 16 | dport;
    }
    auto [it, inserted] = conversations_.try_emplace(key);
    Base& base = it->second;
    std::uint32_t seq = tcp.seq, ack = tcp.ack;
    if (inserted || (tcp.flags & tcp_syn)) {
        if (rev) { base.ack = seq; base.seq = ack - 1; }
        else { base.seq = seq; base.ack = ack - 1; }
    } else if (rev) {
        seq -= base.ack; ack -= base.seq;
    } else {
        seq -= base.seq; ack -= base.ack;
    }
    return {seq, ack, rev ? base.seq : base.ack};
}

// ---------------------------------------------------------------------------
// Checksums

// ip6_finddst: with a routing header, the pseudo-header carries the final
// destination (type 0/2: the last address; type 4: segment 0).
static IpAddress checksum_destination(const Packet& p) {
    IpAddress dst = p.dst;
    if (p.network != Network::ipv6) return dst;
    const Bytes f = p.captured();
    for (std::uint8_t i = 0; i < p.ipv6.extension_count; ++i) {
        const Ipv6ExtensionHeader& e = p.ipv6.extensions[i];
        if (e.type == 51) break;
        if (e.type != 43) continue;
        if (!fits(f, e.offset, 8)) break;
        const unsigned len = load_u8(f, e.offset + 1), type = load_u8(f, e.offset + 2);
        if (len % 2 == 1) break;
        std::size_t at = 0;
        if ((type == 0 || type == 2) && len >= 2) at = e.offset + 8 + 16 * (len / 2 - 1);
        else if (type == 4) at = e.offset + 8;
        if (at && fits(f, at, 16))
            for (std::size_t b = 0; b < 16; ++b) dst.bytes[b] = load_u8(f, at + b);
        break;
    }
    return dst;
}

ChecksumCheck check_transport_checksum(const Packet& p, std::uint16_t field) {
    return check_transport_checksum(p, field, p.transport_length);
}

ChecksumCheck check_transport_checksum(const Packet& p, std::uint16_t field, std::uint32_t length) {
    ChecksumCheck c;
    if (p.later_fragment || !fits(p.frame, p.transport_offset, length)) return c;
    if (p.ipv4.more_fragments || p.ipv6.is_fragment) return c;  // only part of the datagram
    const Bytes seg = p.frame.subspan(p.transport_offset, length);
    std::uint32_t sum = 0;
    if (p.transport != Transport::icmp) {  // ICMPv4 has no pseudo-header
        const std::size_t n = p.src.family == Family::ipv4 ? 4 : 16;
        const IpAddress dst = checksum_destination(p);
        sum = checksum_add(Bytes(reinterpret_cast<const std::byte*>(p.src.bytes.data()), n), sum);
        sum = checksum_add(Bytes(reinterpret_cast<const std::byte*>(dst.bytes.data()), n), sum);
        sum += p.protocol;
        sum += length & 0xffff;
        sum += length >> 16;
    }
    sum = checksum_add(seg, sum);
    c.computable = true;
    c.valid = checksum_fold(sum) == 0;
    // Remove the field (one's complement subtraction) to get what it should be.
    c.expected = checksum_fold(sum + (0xffffu ^ field));
    return c;
}

// ---------------------------------------------------------------------------
// Rendering

// ts_print/ts_date_hmsfrac_print: a second count with bit 31 set is refused
// ("[Error converting time]", no fraction); the fraction is printed as the
// unsigned 32-bit value of tv_usec, so an out-of-range field shows as is
// (".1000000").
void TextRenderer::render_time(std::int64_t sec, std::int64_t frac, Buf& out) {
    if (static_cast<std::uint32_t>(sec) & 0x80000000u) {
        put(out, "[Error converting time] ");
        return;
    }
    if (sec != cached_sec_) {
        const std::time_t t = static_cast<std::time_t>(sec);
        std::tm tm{};
        if (options_.utc) gmtime_r(&t, &tm);
        else localtime_r(&t, &tm);
        const int parts[3] = {tm.tm_hour, tm.tm_min, tm.tm_sec};
        for (int i = 0; i < 3; ++i) {
            cached_hms_[i * 3] = static_cast<char>('0' + parts[i] / 10);
            cached_hms_[i * 3 + 1] = static_cast<char>('0' + parts[i] % 10);
            if (i < 2) cached_hms_[i * 3 + 2] = ':';
        }
        cached_hms_[8] = '.';
        cached_sec_ = sec;
    }
    out.append(cached_hms_, cached_hms_ + 9);
    // libpcap scaled microseconds up by 1000 for our nanosecond handle; tcpdump
    // (microsecond precision unless --nano) sees the division undone.
    std::uint32_t v = static_cast<std::uint32_t>(options_.nano ? frac : frac / 1000);
    char digits[10];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    for (int pad = options_.nano ? 9 : 6; pad > n; --pad) out.push_back('0');
    while (n) out.push_back(digits[--n]);
    out.push_back(' ');
}

// pretty_print_packet's sanity checks: such a record prints this alone, with
// no time stamp (tcpdump's MAXIMUM_SNAPLEN is 262144).
static bool invalid_header(const Packet& p, Buf& out) {
    constexpr std::uint32_t kMaxSnaplen = 262144;
    const std::size_t caplen = p.frame.size();
    const std::uint32_t len = p.wire_length;
    if (caplen != 0 && len != 0 && len >= caplen && caplen <= kMaxSnaplen && len <= kMaxSnaplen) return false;
    bool first = true;
    auto item = [&](std::string_view head) {
        put(out, first ? "[Invalid header:" : ",");
        first = false;
        put(out, head);
    };
    if (caplen == 0) {
        put(out, "[Invalid header: caplen==0");
        first = false;
    }
    if (len == 0) {
        item(" len==0");
    } else if (len < caplen) {
        item(" len(");
        put_uint(out, len);
        put(out, ") < caplen(");
        put_uint(out, caplen);
        put(out, ')');
    }
    if (caplen > kMaxSnaplen) {
        item(" caplen(");
        put_uint(out, caplen);
        put(out, ") > 262144");
    }
    if (len > kMaxSnaplen) {
        item(" len(");
        put_uint(out, len);
        put(out, ") > 262144");
    }
    put(out, ']');
    return true;
}

void TextRenderer::render(const Packet& p, std::int64_t ts_sec, std::int64_t ts_frac, Buf& out) {
    if (invalid_header(p, out)) {
        out.push_back('\n');
        return;
    }
    render_time(ts_sec, ts_frac, out);
    jumped_ = false;
    render_body(p, out);
    if (options_.hex) render_hex(p, out);
    out.push_back('\n');
}

void TextRenderer::render_ipv4_verbose(const Packet& p, Buf& out) {
    const Ipv4Info& ip = p.ipv4;
    put(out, "(tos 0x");
    fmt::format_to(std::back_inserter(out), FMT_COMPILE("{:x}"), ip.tos);
    switch (ip.tos & 3) {
        case 1: put(out, ",ECT(1)"); break;
        case 2: put(out, ",ECT(0)"); break;
        case 3: put(out, ",CE"); break;
        default: break;
    }
    if (ip.ttl >= 1) { put(out, ", ttl "); put_uint(out, ip.ttl); }
    put(out, ", id ");
    put_uint(out, ip.id);
    put(out, ", offset ");
    put_uint(out, ip.fragment_offset);
    put(out, ", flags [");
    bool any = false;
    auto flag = [&](bool on, std::string_view name) {
        if (!on) return;
        if (any) put(out, ", ");
        put(out, name);
        any = true;
    };
    flag(ip.more_fragments, "+");
    flag(ip.dont_fragment, "DF");
    flag(ip.reserved_flag, "rsvd");
    if (!any) put(out, "none");
    put(out, "], proto ");
    put(out, protocol_name(ip.protocol));
    put(out, " (");
    put_uint(out, ip.protocol);
    put(out, "), length ");
    put_uint(out, ip.total_length);
    if (ip.options_length) {
        put(out, ", options (");
        put_uint(out, ip.options_length);
        put(out, " bytes)");
    }
    if (!ip.checksum_ok && fits(p.frame, p.network_offset, ip.header_length)) {
        const std::uint32_t sum = checksum_add(p.frame.subspan(p.network_offset, ip.header_length));
        fmt::format_to(std::back_inserter(out), FMT_COMPILE(", bad cksum {:x} (->{:x})!"), ip.checksum,
                       checksum_fold(sum + (0xffffu ^ ip.checksum)));
    }
    put(out, ")\n    ");
}

void TextRenderer::render_ipv6_verbose(const Packet& p, Buf& out) {
    const Ipv6Info& ip = p.ipv6;
    put(out, "(");
    if (ip.traffic_class) fmt::format_to(std::back_inserter(out), FMT_COMPILE("class 0x{:02x}, "), ip.traffic_class);
    if (ip.flow_label) fmt::format_to(std::back_inserter(out), FMT_COMPILE("flowlabel 0x{:05x}, "), ip.flow_label);
    put(out, "hlim ");
    put_uint(out, ip.hop_limit);
    put(out, ", next-header ");
    put(out, protocol_name(ip.next_header));
    put(out, " (");
    put_uint(out, ip.next_header);
    put(out, ") payload length: ");
    put_uint(out, ip.payload_length);
    put(out, ") ");
}

// tcpdump's sll2_if_print: "lo    In  " (the name is looked up on this
// machine, as tcpdump does; a file from elsewhere may name other devices).
void TextRenderer::render_sll2_prefix(const Packet& p, Buf& out) {
    auto it = interface_names_.find(p.link.sll_ifindex);
    if (it == interface_names_.end()) {
        char name[IF_NAMESIZE] = {};
        if (!options_.interface_names) fmt::format_to_n(name, sizeof name - 1, "#{}", p.link.sll_ifindex);
        else if (!if_indextoname(p.link.sll_ifindex, name)) std::strcpy(name, "?");
        it = interface_names_.emplace(p.link.sll_ifindex, name).first;
    }
    fmt::format_to(std::back_inserter(out), FMT_COMPILE("{:<5} "), it->second);
    static constexpr std::string_view kTypes[] = {"In ", "B  ", "M  ", "P  ", "Out"};
    put(out, p.link.sll_packet_type < 5 ? kTypes[p.link.sll_packet_type] : std::string_view("?  "));
    put(out, ' ');
}

// A frame whose network layer we do not decode, or whose link header is cut.
void TextRenderer::render_non_ip(const Packet& p, Buf& out) {
    if (!p.has_malformed) {
        fmt::format_to(std::back_inserter(out), FMT_COMPILE("ethertype 0x{:04x}, length {}"), p.link.ethertype,
                       p.wire_length);
    } else if (p.malformed.truncated) {
        put(out, " [|");
        put(out, link_layer_name(p.link.type));
        put(out, ']');
    } else {
        put(out, p.malformed.reason);
    }
}

// ip6_print: the header checks, "IP6 ", -v's "(...)", then the extension
// headers (ip6_walk.cpp prints them) and the upper layer.
void TextRenderer::render_ipv6(const Packet& p, Buf& out) {
    const std::size_t off = p.network_offset;
    const std::size_t avail = p.frame.size() - std::min(p.frame.size(), off);
    if (avail < 40) {
        put_trunc(out, "ip6");
        return;
    }
    const std::uint32_t wire = p.wire_length > off ? static_cast<std::uint32_t>(p.wire_length - off) : 0;
    if (wire < 40) {
        put(out, "truncated-ip6 ");
        put_uint(out, wire);
        return;
    }
    put(out, "IP6 ");
    const unsigned version = load_u8(p.frame, off) >> 4;
    if (version != 6) {
        put(out, "version error: ");
        put_uint(out, version);
        put(out, " != 6");
        return;
    }
    const std::uint32_t payload_len = load_be16(p.frame, off + 4);
    if (payload_len != 0 && wire < payload_len + 40u) {
        put(out, "truncated-ip6 - ");
        put_uint(out, payload_len + 40u - wire);
        put(out, " bytes missing!");
    }
    if (options_.verbose) render_ipv6_verbose(p, out);
    Ip6Walk w;
    walk_ipv6(p, wire, options_.verbose, &out, w);
    jumped_ |= w.jumped;
    if (!w.upper) return;
    if (w.zero_payload) {
        // The snapshot ends with the IPv6 header: every printer finds nothing.
        switch (w.nh) {
            case kProtoTcp:
                put_flow(out, p, false);
                out.resize(out.size() - 1);
                put_trunc(out, "tcp");
                return;
            case kProtoUdp:
                put_flow(out, p, false);
                put_trunc(out, "udp");
                return;
            case kProtoIcmpv6: put(out, "ICMP6, length 0 (invalid)"); return;
            default: break;
        }
    }
    switch (w.nh) {
        case kProtoTcp: if (p.transport == Transport::tcp) return render_tcp(p, out); break;
        case kProtoUdp: if (p.transport == Transport::udp) return render_udp(p, out); break;
        case kProtoIcmpv6: if (p.transport == Transport::icmpv6) return render_icmpv6(p, out); break;
        case kProtoIcmp: put(out, "[ICMP requires IPv4] (invalid)"); return;
        case 2: put(out, "[IGMP requires IPv4] (invalid)"); return;
        case 77: put(out, " nd "); put_uint(out, w.length); return;  // IPPROTO_ND
        case 4: case 41: {
            // IPv4 or IPv6 inside IPv6: ip_print/ip6_print on the inner header.
            const Bytes inner = p.captured().subspan(std::min<std::size_t>(w.offset, p.captured().size()));
            if (inner.empty()) return put_trunc(out, w.nh == 4 ? "ip" : "ip6");
            if (depth_ >= kMaxDepth) break;  // deeper nesting: the plain protocol line
            Packet in;
            decode_frame(w.nh == 4 ? 228 : 229, inner, w.length, in);
            ++depth_;
            if (w.nh == 4) render_body(in, out);
            else render_ipv6(in, out);
            --depth_;
            return;
        }
        case 59: put(out, "no next header"); return;
        default: break;
    }
    put(out, " ip-proto-");
    put_uint(out, w.nh);
    put(out, ' ');
    put_uint(out, w.length);
}

// ip_print: an IP length beyond what was on the wire.
static void put_ipv4_missing(const Packet& p, Buf& out) {
    const std::uint32_t wire = p.wire_length > p.network_offset ? p.wire_length - p.network_offset : 0;
    if (wire >= p.ipv4.total_length) return;
    put(out, "truncated-ip - ");
    put_uint(out, p.ipv4.total_length - wire);
    put(out, " bytes missing! ");
}

void TextRenderer::render_body(const Packet& p, Buf& out) {
    if (p.link.type == LinkType::linux_sll2 && p.frame.size() >= 20) render_sll2_prefix(p, out);
    if (p.network == Network::arp) return render_arp(p, out);
    if (p.network == Network::none || p.network == Network::other) return render_non_ip(p, out);
    if (p.network == Network::ipv6) return render_ipv6(p, out);
    if (p.has_malformed && p.malformed.layer == Layer::ipv4) return render_bad_ip(p, out);
    put(out, "IP ");
    const std::uint32_t wire = p.wire_length > p.network_offset ? p.wire_length - p.network_offset : 0;
    if (wire < 20) {
        put(out, "truncated-ip ");
        put_uint(out, wire);
        return;
    }
    put_ipv4_missing(p, out);
    if (options_.verbose) render_ipv4_verbose(p, out);
    if (p.later_fragment) {
        put_flow(out, p, false);
        out.resize(out.size() - 1);  // tcpdump: "src > dst: ip-proto-N" has no trailing blank
        put(out, " ip-proto-");
        put_uint(out, p.protocol);
        return;
    }
    switch (p.transport) {
        case Transport::tcp: return render_tcp(p, out);
        case Transport::udp: return render_udp(p, out);
        case Transport::icmp: return render_icmp(p, out);
        case Transport::icmpv6: return render_icmpv6(p, out);
        default: break;
    }
    put_flow(out, p, false);
    if (p.protocol == kProtoIcmpv6) {
        put(out, "[ICMPv6 requires IPv6] (invalid)");
        return;
    }
    put(out, " ip-proto-");
    put_uint(out, p.protocol);
    put(out, ' ');
    put_uint(out, p.transport_length);
}

// tcpdump's ip_print/ip6_print on a header they cannot use.
void TextRenderer::render_bad_ip(const Packet& p, Buf& out) {
    const bool v4 = p.network == Network::ipv4;
    const std::size_t avail = p.frame.size() - std::min<std::size_t>(p.frame.size(), p.network_offset);
    const unsigned version = avail ? load_u8(p.frame, p.network_offset) >> 4 : 0;
    if (v4 && !avail) {  // ip_print reads the version first: nothing captured ends there
        put_truncated(out, Layer::ipv4);
        jumped_ = true;
        return;
    }
    if (v4 && version != 4) {
        if (version == 6) put(out, "IP6, wrong link-layer encapsulation (invalid)");
        else fmt::format_to(std::back_inserter(out), FMT_COMPILE("IP{} (invalid)"), version);
        return;
    }
    if (!v4 && avail < 40) {  // ip6_print checks the size before printing "IP6 "
        put_truncated(out, Layer::ipv6);
        return;
    }
    put(out, v4 ? "IP " : "IP6 ");
    const std::uint32_t wire = p.wire_length > p.network_offset ? p.wire_length - p.network_offset : 0;
    if (v4 && avail < 20) {
        put_truncated(out, Layer::ipv4);
    } else if (v4 && wire < 20) {
        put(out, "truncated-ip ");
        put_uint(out, wire);
    } else if (v4 && p.ipv4.header_length < 20) {
        put(out, "bad-hlen ");
        put_uint(out, p.ipv4.header_length);
    } else if (v4 && p.ipv4.total_length < p.ipv4.header_length) {
        put_ipv4_missing(p, out);
        put(out, "bad-len ");
        put_uint(out, p.ipv4.total_length);
    } else if (v4 && p.malformed.layer == Layer::ipv4 && p.malformed.truncated) {
        // The header's options were cut by the snap length.
        put_ipv4_missing(p, out);
        if (options_.verbose) render_ipv4_verbose(p, out);
        const std::uint8_t nh = p.ipv4.protocol;
        if (nh != kProtoTcp && nh != kProtoUdp && nh != 132 && nh != 33) put_flow(out, p, false);
        put(out, " [remaining caplen(");
        put_uint(out, avail);
        put(out, ") < header length(");
        put_uint(out, p.ipv4.header_length);
        put(out, ")]");
        put_truncated(out, Layer::ipv4);
        jumped_ = true;  // nd_trunc_longjmp
    } else if (p.malformed.truncated) {
        if (v4) put_ipv4_missing(p, out);
        put_flow(out, p, false);
        out.resize(out.size() - 1);
        put_truncated(out, p.malformed.layer);
    } else {
        put_flow(out, p, false);
        put(out, "[");
        put(out, p.malformed.reason);
        put(out, "]");
    }
}

void TextRenderer::render_tcp(const Packet& p, Buf& out) {
    const TcpInfo& tcp = p.tcp;
    const bool bad = p.has_malformed && p.malformed.layer == Layer::tcp;
    const std::uint32_t have = static_cast<std::uint32_t>(p.captured().size() - std::min<std::size_t>(p.captured().size(), p.transport_offset));
    if (bad && have < 4) {
        put_flow(out, p, false);
        out.resize(out.size() - 1);
        put_truncated(out, Layer::tcp);
        return;
    }
    put_transport_flow(out, p);
    if (bad && have < 20) {
        put_truncated(out, Layer::tcp);
        return;
    }
    if (tcp.header_length < 20) {
        put(out, " tcp ");
        put_uint(out, p.transport_length - tcp.header_length);
        put(out, " [bad hdr length ");
        put_uint(out, tcp.header_length);
        put(out, " - too short, < 20]");
        return;
    }
    put_tcp_flags(out, tcp.flags);
    const auto rel = options_.absolute_seq ? TcpSequenceTracker::Relative{tcp.seq, tcp.ack, 0}
                                           : sequences_.relate(p);
    if (tcp.header_length > p.transport_length) {
        put(out, " [bad hdr length ");
        put_uint(out, tcp.header_length);
        put(out, " - too long, > ");
        put_uint(out, p.transport_length);
        put(out, ']');
        return;
    }
    if (options_.verbose) {
        const ChecksumCheck c = check_transport_checksum(p, tcp.checksum);
        if (c.computable) {
            put(out, ", cksum ");
            put_hex16(out, tcp.checksum);
            if (c.valid) put(out, " (correct)");
            else { put(out, " (incorrect -> "); put_hex16(out, c.expected); put(out, ')'); }
        }
    }
    const std::uint32_t length = p.payload_length;
    if (options_.verbose > 1 || length > 0 || (tcp.flags & (tcp_syn | tcp_fin | tcp_rst))) {
        put(out, ", seq ");
        put_uint(out, rel.seq);
        if (length > 0) {
            put(out, ':');
            put_uint(out, static_cast<std::uint32_t>(rel.seq + length));
        }
    }
    if (tcp.flags & tcp_ack) {
        put(out, ", ack ");
        put_uint(out, rel.ack);
    }
    put(out, ", win ");
    put_uint(out, tcp.window);
    if (tcp.flags & tcp_urg) {
        put(out, ", urg ");
        put_uint(out, tcp.urgent);
    }
    std::string_view proto = "tcp";
    if (tcp.header_length > 20 && !render_tcp_options(out, p, rel.sack_base, proto, &jumped_)) return;
    put(out, ", length ");
    put_uint(out, length);
    if (length == 0) return;
    // Options that ended early (eol) can leave the rest of the header uncaptured.
    if (!fits(p.captured(), p.transport_offset, tcp.header_length)) {
        put(out, " [remaining caplen(");
        put_uint(out, have);
        put(out, ") < header length(");
        put_uint(out, tcp.header_length);
        put(out, ")]");
        put_trunc(out, proto);
        jumped_ = true;  // nd_trunc_longjmp
        return;
    }
    // print_tcp_rst_data (-v): the text a reset carries, 30 characters at most.
    if ((tcp.flags & tcp_rst) && options_.verbose) {
        const Bytes f = p.captured();
        const std::size_t data = p.transport_offset + tcp.header_length;
        put(out, fits(f, data, length) ? " [RST" : " [!RST");
        std::size_t n = length;
        if (n > 30) {
            n = 30;
            put(out, '+');
        }
        put(out, ' ');
        for (std::size_t i = 0; i < n && data + i < f.size(); ++i) put_char(out, load_u8(f, data + i));
        put(out, ']');
    }
}

void TextRenderer::render_udp(const Packet& p, Buf& out) {
    const bool bad = p.has_malformed && p.malformed.layer == Layer::udp;
    const std::uint32_t have = static_cast<std::uint32_t>(p.captured().size() - std::min<std::size_t>(p.captured().size(), p.transport_offset));
    if (bad && have < 4) {
        // udpipaddr_print(ip, -1, -1): the addresses, unless extension
        // headers came first (they printed them).
        if (!(p.network == Network::ipv6 && p.ipv6.next_header != kProtoUdp)) put_flow(out, p, false);
        put_truncated(out, Layer::udp);
        return;
    }
    put_transport_flow(out, p);
    if (p.transport_length < 8) {  // checked before the length field is read
        put(out, "truncated-udp ");
        put_uint(out, p.transport_length);
        return;
    }
    if (have < 6) {
        put_truncated(out, Layer::udp);
        return;
    }
    std::uint32_t ulen = p.udp.length;
    if (ulen == 0 && p.transport_length > 65535) ulen = p.transport_length;  // RFC 2675 jumbogram
    if (ulen < 8) {
        put(out, "truncated-udplength ");
        put_uint(out, ulen);
        return;
    }
    if (have < 8) {  // the rest of the header, checksum included, was not captured
        put_truncated(out, Layer::udp);
        return;
    }
    // udp_print checks IPv4 UDP checksums only with -vv, IPv6 ones with -v
    // (the IPv6 checksum is mandatory).
    const bool v4 = p.network == Network::ipv4;
    const bool fragmented = v4 ? p.ipv4.more_fragments || p.ipv4.fragment_offset : p.ipv6.is_fragment;
    if (options_.verbose > (v4 ? 1 : 0) && !fragmented) {
        // Over the UDP length when it is the shorter (udp_print's length).
        const ChecksumCheck c =
            check_transport_checksum(p, p.udp.checksum, std::min<std::uint32_t>(ulen, p.transport_length));
        if (v4 && p.udp.checksum == 0) {
            put(out, "[no cksum] ");
        } else if (c.computable) {
            if (c.valid) put(out, "[udp sum ok] ");
            else {
                put(out, "[bad udp cksum ");
                put_hex16(out, p.udp.checksum);
                put(out, " -> ");
                put_hex16(out, c.expected);
                put(out, "!] ");
            }
        }
    }
    const bool fragment = p.ipv4.more_fragments || p.ipv6.is_fragment;
    if (ulen > p.transport_length && !fragment) {
        put(out, "UDP, bad length ");
        put_uint(out, ulen - 8u);
        put(out, " > ");
        put_uint(out, p.transport_length - 8u);
        return;
    }
    put(out, "UDP, length ");
    // A first fragment carries the whole datagram's UDP length (udp_print).
    put_uint(out, fragment ? ulen - 8u : p.payload_length);
}

void TextRenderer::render_icmp(const Packet& p, Buf& out) {
    put_flow(out, p, false);
    if (p.has_malformed && p.malformed.layer == Layer::icmp) {
        put_truncated(out, Layer::icmp);
        jumped_ = true;  // icmp_print's GET_ reads longjmp
        return;
    }
    const IcmpInfo& icmp = p.icmp;
    put(out, "ICMP ");
    if (icmp.is_echo) {
        put(out, icmp.type == 8 ? "echo request, id " : "echo reply, id ");
        put_uint(out, icmp.id);
        put(out, ", seq ");
        put_uint(out, icmp.seq);
    } else if (icmp.type == 3 && icmp.has_quoted) {
        switch (icmp.code) {
            case 0: put(out, "net "); append_address(icmp.quoted_dst, out); put(out, " unreachable"); break;
            case 1: put(out, "host "); append_address(icmp.quoted_dst, out); put(out, " unreachable"); break;
            case 2:
                append_address(icmp.quoted_dst, out);
                put(out, " protocol ");
                put_uint(out, icmp.quoted_protocol);
                put(out, " unreachable");
                break;
            case 3:
                append_address(icmp.quoted_dst, out);
                put(out, icmp.quoted_protocol == kProtoTcp ? " tcp port " : " udp port ");
                put_uint(out, icmp.quoted_dst_port);
                put(out, " unreachable");
                break;
            default:
                append_address(icmp.quoted_dst, out);
                put(out, " unreachable - #");
                put_uint(out, icmp.code);
                break;
        }
    } else if ((icmp.type == 13 || icmp.type == 14) && fits(p.captured(), p.transport_offset, 8)) {
        // Timestamp request/reply (RFC 792): id and seq sit where echo has them.
        put(out, icmp.type == 13 ? "time stamp query id " : "time stamp reply id ");
        put_uint(out, load_be16(p.frame, p.transport_offset + 4));
        put(out, " seq ");
        put_uint(out, load_be16(p.frame, p.transport_offset + 6));
    } else if (icmp.type == 11) {
        put(out, icmp.code == 0 ? "time exceeded in-transit" : "ip reassembly time exceeded");
    } else {
        put(out, "type-#");
        put_uint(out, icmp.type);
    }
    put(out, ", length ");
    put_uint(out, p.transport_length);
    if (options_.verbose) {
        const ChecksumCheck c = check_transport_checksum(p, icmp.checksum);
        if (c.computable && !c.valid) {
            fmt::format_to(std::back_inserter(out), FMT_COMPILE(" (wrong icmp cksum {:x} (->{:x})!)"),
                           icmp.checksum, c.expected);
        }
    }
    // -v: an error message's quoted datagram, printed as ip_print prints a
    // packet, on its own line (icmp_print, ICMP_ERRTYPE).
    const bool error = icmp.type == 3 || icmp.type == 4 || icmp.type == 5 || icmp.type == 11 || icmp.type == 12;
    if (!options_.verbose || !error) return;
    put(out, "\n\t");
    const Bytes f = p.captured();
    const std::size_t q = p.transport_offset + 8;
    if (!fits(f, q + 2, 2)) {  // GET_BE_U_2(ip->ip_len) longjmps
        put_truncated(out, Layer::icmp);
        jumped_ = true;
        return;
    }
    if (depth_ >= kMaxDepth) return;
    const std::uint16_t ip_len = load_be16(f, q + 2);
    const Bytes quoted = f.subspan(q, std::min<std::size_t>(ip_len, f.size() - q));
    Packet in;
    decode_frame(228, quoted, ip_len, in);
    ++depth_;
    render_body(in, out);
    --depth_;
}

// tcpdump -x (hex_print): "\n\t0x0000:  4500 003c ..." 16 bytes a line,
// without the link header; -xx includes it.
void TextRenderer::render_hex(const Packet& p, Buf& out) {
    const std::size_t start =
        options_.hex > 1 || jumped_ ? 0 : std::min<std::size_t>(p.link.header_length, p.frame.size());
    const Bytes data = p.frame.subspan(start);
    for (std::size_t i = 0; i < data.size(); i += 2) {
        if (i % 16 == 0) {
            fmt::format_to(std::back_inserter(out), FMT_COMPILE("\n\t0x{:04x}: "), i);
        }
        put(out, ' ');
        put_hex2(out, load_u8(data, i));
        if (i + 1 < data.size()) put_hex2(out, load_u8(data, i + 1));
    }
}

}  // namespace tpk::decode
