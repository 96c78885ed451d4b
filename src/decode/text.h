// tcpdump -nn style text for decoded packets: one line per packet, -v detail,
// -x hex dump. The renderer only reads Packet records; it keeps the one piece
// of state tcpdump keeps too: the first seq/ack of each TCP conversation, so
// later segments print relative numbers.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <unordered_map>

#include "decode/packet.h"

namespace tpk::decode {

struct TextOptions {
    int verbose = 0;          // -v: IP TTL/ID/length, checksums
    int hex = 0;              // -x: hex after the link header; -xx: with it
    bool absolute_seq = false;  // -S: raw TCP sequence numbers
    bool nano = false;        // nanosecond timestamps instead of microseconds
    bool utc = false;         // print UTC instead of local time
    // Cooked v2 frames carry an ifindex; tcpdump names it with
    // if_indextoname() on the reading machine. Off: "#2" (stable goldens).
    bool interface_names = true;
};

// Keys one TCP conversation in either direction (tcpdump's tha/tha6).
struct TcpConversationKey {
    IpAddress a;
    IpAddress b;
    std::uint32_t ports = 0;  // (port of a) << 16 | port of b
    bool operator==(const TcpConversationKey& o) const;
};

struct TcpConversationKeyHash {
    std::size_t operator()(const TcpConversationKey& k) const;
};

// tcpdump's relative sequence numbers (print-tcp.c, tcp_print): the first
// segment with ACK set (or any SYN) of a conversation records both initial
// numbers and prints absolute; later segments print offsets from them.
class TcpSequenceTracker {
public:
    struct Relative {
        std::uint32_t seq;
        std::uint32_t ack;
        std::uint32_t sack_base;  // subtract from SACK block edges
    };
    Relative relate(const Packet& p);
    void clear() { conversations_.clear(); }

private:
    struct Base {
        std::uint32_t seq = 0;  // initial seq of the "a" side
        std::uint32_t ack = 0;  // initial seq of the "b" side
    };
    std::unordered_map<TcpConversationKey, Base, TcpConversationKeyHash> conversations_;
};

class TextRenderer {
public:
    explicit TextRenderer(TextOptions options = {}) : options_(options) {}

    // Appends the packet's text and a newline to out. ts_frac is libpcap's
    // tv_usec at nanosecond precision: normally < 1e9, but a damaged file's
    // out-of-range microsecond field arrives as its signed 32-bit value x1000
    // (libpcap sf-pcap.c) and prints as tcpdump prints it.
    void render(const Packet& p, std::int64_t ts_sec, std::int64_t ts_frac, fmt::memory_buffer& out);
    // Appends just the protocol part (no time stamp, no newline, no hex).
    void render_body(const Packet& p, fmt::memory_buffer& out);

private:
    void render_time(std::int64_t sec, std::int64_t frac, fmt::memory_buffer& out);
    void render_ipv4_verbose(const Packet& p, fmt::memory_buffer& out);
    void render_ipv6_verbose(const Packet& p, fmt::memory_buffer& out);
    void render_sll2_prefix(const Packet& p, fmt::memory_buffer& out);
    void render_non_ip(const Packet& p, fmt::memory_buffer& out);
    void render_ipv6(const Packet& p, fmt::memory_buffer& out);
    void render_bad_ip(const Packet& p, fmt::memory_buffer& out);
    void render_tcp(const Packet& p, fmt::memory_buffer& out);
    void render_udp(const Packet& p, fmt::memory_buffer& out);
    void render_icmp(const Packet& p, fmt::memory_buffer& out);
    void render_icmpv6(const Packet& p, fmt::memory_buffer& out);
    void render_arp(const Packet& p, fmt::memory_buffer& out);
    void render_hex(const Packet& p, fmt::memory_buffer& out);

    static constexpr int kMaxDepth = 8;  // IP-in-IP nesting printed; tcpdump has no limit, our stack does
    int depth_ = 0;
    // The line ended where tcpdump's GET_ macros longjmp: its -x dump then
    // starts at the link header (pretty_print_packet resets ndo_ll_hdr_len).
    bool jumped_ = false;
    TextOptions options_;
    TcpSequenceTracker sequences_;
    std::unordered_map<std::uint32_t, std::string> interface_names_;  // cooked v2 ifindex -> name
    std::int64_t cached_sec_ = INT64_MIN;
    char cached_hms_[9] = {};
};

// Appends "127.0.0.1" or "::1" (RFC 5952, as inet_ntop and tcpdump print).
void append_address(const IpAddress& a, fmt::memory_buffer& out);
void append_mac(const MacAddress& m, fmt::memory_buffer& out);

// The transport checksum over the pseudo-header: {valid, value it should
// have}. valid is false also when the segment was not fully captured
// (then computable is false).
struct ChecksumCheck {
    bool computable = false;
    bool valid = false;
    std::uint16_t expected = 0;
};
ChecksumCheck check_transport_checksum(const Packet& p, std::uint16_t field);
// The same over the first length bytes of the transport (UDP's own length).
ChecksumCheck check_transport_checksum(const Packet& p, std::uint16_t field, std::uint32_t length);

}  // namespace tpk::decode
