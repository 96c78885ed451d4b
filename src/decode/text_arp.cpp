// ARP (and RARP) as tcpdump 4.99's arp_print prints it: the hardware and
// protocol types when they are not Ethernet/IPv4 (always with -v), every
// operation tcpdump names, a request's non-zero target MAC "(tha)", and the
// hex and ASCII dump of an operation it does not know. ATM ARP (hardware
// type 19) and Frame Relay addresses are printed as plain hardware bytes.
#include <algorithm>

#include "decode/text.h"
#include "decode/text_put.h"

namespace tpk::decode {

using namespace textput;

namespace {

std::string_view hardware_name(unsigned hrd) {
    switch (hrd) {
        case 1: return "Ethernet";
        case 6: return "TokenRing";
        case 7: return "ArcNet";
        case 15: return "FrameRelay";
        case 23: return "Strip";
        case 24: return "IEEE 1394";
        case 19: return "ATM";
        case 32: return "InfiniBand";
        default: return {};
    }
}

// tcpdump's ethertype_values
std::string_view ethertype_name(unsigned t) {
    switch (t) {
        case 0x0800: return "IPv4";
        case 0x8847: return "MPLS unicast";
        case 0x8848: return "MPLS multicast";
        case 0x86dd: return "IPv6";
        case 0x8100: return "802.1Q";
        case 0x9100: return "802.1Q-9100";  // ETHERTYPE_VMAN shares it; the first entry wins
        case 0x88a8: return "802.1Q-QinQ";
        case 0x9200: return "802.1Q-9200";
        case 0x88e5: return "802.1AE MACsec";
        case 0x0200: return "PUP";
        case 0x0806: return "ARP";
        case 0x8035: return "Reverse ARP";
        case 0x0600: return "NS";
        case 0x0500: return "Sprite";
        case 0x1000: return "Trail";
        case 0x6001: return "MOP DL";
        case 0x6002: return "MOP RC";
        case 0x6003: return "DN";
        case 0x6004: return "LAT";
        case 0x6007: return "SCA";
        case 0x6558: return "TEB";
        case 0x8038: return "Lanbridge";
        case 0x803c: return "DEC DNS";
        case 0x803e: return "DEC DTS";
        case 0x805b: return "VEXP";
        case 0x805c: return "VPROD";
        case 0x809b: return "Appletalk";
        case 0x80f3: return "Appletalk ARP";
        case 0x8137: return "IPX";
        case 0x880b: return "PPP";
        case 0x8808: return "MPCP";
        case 0x8809: return "Slow Protocols";
        case 0x8863: return "PPPoE D";
        case 0x8864: return "PPPoE S";
        case 0x888e: return "EAPOL";
        case 0x8899: return "Realtek protocols";
        case 0x886f: return "MS NLB heartbeat";
        case 0x8870: return "Jumbo";
        case 0x894f: return "NSH";
        case 0x9000: return "Loopback";
        case 0xfefe: return "OSI";
        case 0x00fe: return "GRE-OSI";
        case 0xabcd: return "CFM (old)";
        case 0x8902: return "CFM";
        case 0x893a: return "IEEE1905.1";
        case 0x88cc: return "LLDP";
        case 0x88ca: return "TIPC";
        case 0x0707: return "GeoNet (old)";
        case 0x8947: return "GeoNet";
        case 0x1111: return "CALM FAST";
        case 0x88a2: return "AoE";
        case 0x88f7: return "PTP";
        case 0xd28b: return "Arista Vendor Specific Protocol";
        default: return {};
    }
}

// linkaddr_string: a 6-byte address as a MAC, "<empty>", else hex octets.
void put_linkaddr(Buf& out, Bytes f, std::size_t at, unsigned len) {
    if (len == 0) {
        put(out, "<empty>");
        return;
    }
    for (unsigned i = 0; i < len; ++i) {
        if (i) put(out, ':');
        put_hex2(out, load_u8(f, at + i));
    }
}

// hex_and_ascii_print("\n\t", ...): 16 bytes a line, hex then printable ASCII.
void hex_and_ascii(Buf& out, Bytes f, std::size_t at, std::size_t n) {
    for (std::size_t line = 0; line < n; line += 16) {
        const std::size_t m = std::min<std::size_t>(16, n - line);
        put(out, "\n\t0x");
        put_hex2(out, static_cast<std::uint8_t>(line >> 8));
        put_hex2(out, static_cast<std::uint8_t>(line));
        put(out, ": ");
        std::size_t width = 0;
        for (std::size_t i = 0; i < m; i += 2) {
            put(out, ' ');
            put_hex2(out, load_u8(f, at + line + i));
            width += 3;
            if (i + 1 < m) {
                put_hex2(out, load_u8(f, at + line + i + 1));
                width += 2;
            }
        }
        for (; width < 40; ++width) put(out, ' ');
        put(out, "  ");
        for (std::size_t i = 0; i < m; ++i) {
            const std::uint8_t c = load_u8(f, at + line + i);
            put(out, c > 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
        }
    }
}

}  // namespace

void TextRenderer::render_arp(const Packet& p, Buf& out) {
    const Bytes f = p.frame;
    const std::size_t ap = p.network_offset;
    const std::size_t caplen = f.size() - std::min(f.size(), ap);
    const std::uint32_t length = p.wire_length > ap ? static_cast<std::uint32_t>(p.wire_length - ap) : 0;
    if (caplen < 8) {  // tcpdump longjmps here: -x then dumps the whole frame
        put_trunc(out, "arp");
        jumped_ = true;
        return;
    }
    const unsigned hrd = load_be16(f, ap), pro = load_be16(f, ap + 2), hln = load_u8(f, ap + 4),
                   pln = load_u8(f, ap + 5), op = load_be16(f, ap + 6);
    const std::size_t sha = ap + 8, spa = sha + hln, tha = spa + pln, tpa = tha + hln;
    if (!fits(f, tpa, pln)) {
        put_trunc(out, "arp");
        jumped_ = true;
        return;
    }
    put(out, "ARP, ");
    const bool ip = pro == 0x0800 || pro == 0x1000;  // ETHERTYPE_IP, ETHERTYPE_TRAIL
    if (!ip || pln != 4 || hln == 0 || options_.verbose) {
        if (const auto name = hardware_name(hrd); !name.empty()) {
            put(out, name);
        } else {
            put(out, "Unknown Hardware (");
            put_uint(out, hrd);
            put(out, ')');
        }
        put(out, " (len ");
        put_uint(out, hln);
        put(out, "), ");
        if (const auto name = ethertype_name(pro); !name.empty()) {
            put(out, name);
        } else {
            put(out, "Unknown Protocol (");
            put_hex16(out, static_cast<std::uint16_t>(pro));
            put(out, ')');
        }
        put(out, " (len ");
        put_uint(out, pln);
        put(out, ')');
        if (!options_.verbose) {  // the address formats are unknown
            put(out, ", length ");
            put_uint(out, length);
            return;
        }
    }
    if (options_.verbose) put(out, ", ");
    static constexpr std::string_view kOps[] = {"", "Request", "Reply", "Reverse Request", "Reverse Reply",
                                                "", "", "", "Inverse Request", "Inverse Reply", "NACK Reply"};
    if (op < std::size(kOps) && !kOps[op].empty()) {
        put(out, kOps[op]);
    } else {
        put(out, "Unknown (");
        put_uint(out, op);
        put(out, ')');
    }
    put(out, ' ');
    // tpaddr_print_ip / spaddr_print_ip
    auto proto_addr = [&](std::size_t at) {
        if (!ip) {
            put(out, "<wrong proto type>");
        } else if (pln != 4) {
            put(out, "<wrong len>");
        } else {
            IpAddress a{Family::ipv4, {}};
            for (std::size_t i = 0; i < 4; ++i) a.bytes[i] = load_u8(f, at + i);
            append_address(a, out);
        }
    };
    switch (op) {
        case 1: {
            put(out, "who-has ");
            proto_addr(tpa);
            bool nonzero = false;
            for (unsigned i = 0; i < hln; ++i) nonzero |= load_u8(f, tha + i) != 0;
            if (nonzero) {  // a unicast re-check names the MAC it expects
                put(out, " (");
                put_linkaddr(out, f, tha, hln);
                put(out, ')');
            }
            put(out, " tell ");
            proto_addr(spa);
            break;
        }
        case 2:
            proto_addr(spa);
            put(out, " is-at ");
            put_linkaddr(out, f, sha, hln);
            break;
        case 3: case 8:
            put(out, "who-is ");
            put_linkaddr(out, f, tha, hln);
            put(out, " tell ");
            put_linkaddr(out, f, sha, hln);
            break;
        case 4:
            put_linkaddr(out, f, tha, hln);
            put(out, " at ");
            proto_addr(tpa);
            break;
        case 9:
            put_linkaddr(out, f, sha, hln);
            put(out, " at ");
            proto_addr(spa);
            break;
        default:  // ND_DEFAULTPRINT: the header as hex and ASCII, no length
            hex_and_ascii(out, f, ap, caplen);
            return;
    }
    put(out, ", length ");
    put_uint(out, length);
}

}  // namespace tpk::decode
