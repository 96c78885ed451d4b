// The walk tcpdump 4.99's ip6_print makes over an IPv6 header and its
// extension headers (print-ip6.c, print-ip6opts.c, print-frag6.c,
// print-rt6.c, print-ah.c), kept in one place so that the decoder (which
// only needs where the upper layer starts, its length and where tcpdump
// stops) and the text renderer (which prints "HBH ", "frag (0|8) ", the
// errors) cannot disagree. With out == nullptr nothing is printed.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

#include "decode/packet.h"

namespace tpk::decode {

struct Ip6Walk {
    // upper: the transport starts at offset with length bytes (tcpdump's
    // len); stop: the line ends after what was printed (an error, a later
    // fragment, a cut), and truncated says it ended in " [|proto]".
    bool upper = false;
    bool truncated = false;
    bool jumped = false;         // ended where tcpdump's GET_ macro longjmps (-x then dumps it all)
    std::string_view reason;     // why it stopped, for Malformed
    std::uint8_t nh = 0;         // the upper-layer protocol
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t snap_end = 0;  // tcpdump's snapend for the upper layer
    bool fragmented = false;
    bool zero_payload = false;   // payload length 0 and no jumbo option: nothing follows
    bool jumbo = false;
    std::uint32_t jumbo_length = 0;
};

// p.frame holds the packet, p.network_offset the IPv6 header (40 bytes
// captured, version 6), p.src/p.dst its addresses. wire is the IP-level
// length on the wire (tcpdump's length, >= 40). When info is given, the
// extension list and fragment fields are recorded there.
void walk_ipv6(const Packet& p, std::uint32_t wire, int verbose, fmt::memory_buffer* out, Ip6Walk& w,
               Ipv6Info* info = nullptr);

}  // namespace tpk::decode
