// Builds test frames byte by byte (network order), so each test states the
// header it feeds the decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "decode/packet.h"

namespace tpk::decode::test {

struct Frame {
    std::vector<std::uint8_t> bytes;

    Frame& u8(std::uint8_t v) { bytes.push_back(v); return *this; }
    Frame& u16(std::uint16_t v) { return u8(v >> 8).u8(v & 0xff); }
    Frame& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
    Frame& raw(std::initializer_list<std::uint8_t> b) { bytes.insert(bytes.end(), b); return *this; }
    Frame& zeros(std::size_t n) { bytes.insert(bytes.end(), n, 0); return *this; }
    Frame& append(const Frame& f) { bytes.insert(bytes.end(), f.bytes.begin(), f.bytes.end()); return *this; }
    std::size_t size() const { return bytes.size(); }
    Bytes span() const { return Bytes(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()); }
};

inline Frame ethernet(std::uint16_t type) { return Frame{}.raw({2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}).u16(type); }

inline Frame ipv4(std::uint8_t proto, std::size_t payload, std::uint16_t frag = 0x4000, std::uint8_t ihl = 5) {
    Frame f;
    f.u8(0x40 | ihl).u8(0).u16(static_cast<std::uint16_t>(ihl * 4 + payload)).u16(0x1234).u16(frag)
     .u8(64).u8(proto).u16(0).raw({127, 0, 0, 1}).raw({127, 0, 0, 2});
    return f;
}

inline Frame ipv6(std::uint8_t next, std::size_t payload) {
    Frame f;
    f.u32(0x60012345).u16(static_cast<std::uint16_t>(payload)).u8(next).u8(64);
    f.zeros(15).u8(1).zeros(15).u8(2);
    return f;
}

// A TCP header with the given options (padded by the caller to 4 bytes).
inline Frame tcp(std::uint8_t flags, std::initializer_list<std::uint8_t> options = {}, std::uint32_t seq = 1000,
                 std::uint32_t ack = 2000) {
    Frame f;
    f.u16(40000).u16(5201).u32(seq).u32(ack).u8(static_cast<std::uint8_t>((20 + options.size()) / 4 << 4))
     .u8(flags).u16(512).u16(0).u16(0).raw(options);
    return f;
}

inline Frame udp(std::size_t payload) {
    Frame f;
    f.u16(40001).u16(4000).u16(static_cast<std::uint16_t>(8 + payload)).u16(0).zeros(payload);
    return f;
}

// Ethernet + IPv4 + the given transport bytes and payload.
inline Frame eth_ipv4(std::uint8_t proto, const Frame& l4, std::size_t payload = 0) {
    Frame f = ethernet(0x0800);
    f.append(ipv4(proto, l4.size() + payload)).append(l4).zeros(payload);
    return f;
}

inline Packet decode(int link, const Frame& f, std::uint32_t wire = 0) {
    Packet p;
    decode_frame(link, f.span(), wire ? wire : static_cast<std::uint32_t>(f.size()), p);
    return p;
}

}  // namespace tpk::decode::test
