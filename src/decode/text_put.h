// Small appenders shared by the text renderer's files (text.cpp,
// text_tcp.cpp, text_ip6.cpp): no stdio, no allocation beyond the buffer.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

#include "decode/packet.h"
#include "decode/text.h"

namespace tpk::decode::textput {

using Buf = fmt::memory_buffer;

inline void put(Buf& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }
inline void put(Buf& out, char c) { out.push_back(c); }

inline void put_uint(Buf& out, std::uint64_t v) {
    fmt::format_int f(v);
    out.append(f.data(), f.data() + f.size());
}

inline constexpr char kHexDigits[] = "0123456789abcdef";

inline void put_hex2(Buf& out, std::uint8_t v) {
    out.push_back(kHexDigits[v >> 4]);
    out.push_back(kHexDigits[v & 0xf]);
}

// "0x%04x"
inline void put_hex16(Buf& out, std::uint16_t v) {
    put(out, "0x");
    put_hex2(out, static_cast<std::uint8_t>(v >> 8));
    put_hex2(out, static_cast<std::uint8_t>(v));
}

// printf's "%x" (no padding, lower case).
inline void put_hex(Buf& out, std::uint64_t v) {
    char digits[16];
    int n = 0;
    do {
        digits[n++] = kHexDigits[v & 0xf];
        v >>= 4;
    } while (v);
    while (n) out.push_back(digits[--n]);
}

// tcpdump's nd_print_trunc: " [|proto]", leading blank included.
inline void put_trunc(Buf& out, std::string_view proto) {
    put(out, " [|");
    put(out, proto);
    put(out, ']');
}

// fn_print_char: printable ASCII as is, others as M- / ^ escapes.
inline void put_char(Buf& out, std::uint8_t c) {
    if (c & 0x80) {
        put(out, "M-");
        c &= 0x7f;
    }
    if (c < 0x20 || c == 0x7f) {
        put(out, '^');
        put(out, static_cast<char>(c ^ 0x40));
    } else {
        put(out, static_cast<char>(c));
    }
}

inline std::uint64_t load_be64(Bytes b, std::size_t offset) {
    return static_cast<std::uint64_t>(load_be32(b, offset)) << 32 | load_be32(b, offset + 4);
}

}  // namespace tpk::decode::textput

namespace tpk::decode {

// text_tcp.cpp: the ", options [...]" part of a TCP line, as tcp_print in
// tcpdump 4.99 prints it. proto is the name a truncation is reported under
// ("tcp", or "mptcp" once an MPTCP option was printed, as tcpdump does).
// Returns false when the line ends there ([bad opt] or a snap-length cut).
// *jumped is set when the line ended where tcpdump's GET_ macro longjmps
// (then -x dumps the whole frame, link header included).
bool render_tcp_options(textput::Buf& out, const Packet& p, std::uint32_t sack_base,
                        std::string_view& proto, bool* jumped);

}  // namespace tpk::decode
