// TCP options as tcpdump 4.99 prints them (print-tcp.c tcp_print's option
// loop, print-mptcp.c): a port that keeps tcpdump's order of checks, so a bad
// length gives "[bad opt]" and a snap-length cut " [|tcp]" at the same byte
// tcpdump stops at. Reads only through fits()-checked offsets.
#include <algorithm>

#include "decode/text_put.h"

namespace tpk::decode {

using namespace textput;

namespace {

constexpr std::uint8_t kEol = 0, kNop = 1, kMss = 2, kWscale = 3, kSackOk = 4, kSack = 5, kEcho = 6,
                       kEchoReply = 7, kTimestamp = 8, kCc = 11, kCcNew = 12, kCcEcho = 13,
                       kSignature = 19, kScps = 20, kUto = 28, kTcpAo = 29, kMptcp = 30,
                       kFastOpen = 34, kExperiment2 = 254;

// tcp_option_values: 13 (ccecho) really is "" there; 27 (snack) has no entry.
std::string_view option_name(std::uint8_t kind) {
    switch (kind) {
        case kEol: return "eol";
        case kNop: return "nop";
        case kMss: return "mss";
        case kWscale: return "wscale";
        case kSackOk: return "sackOK";
        case kSack: return "sack";
        case kEcho: return "echo";
        case kEchoReply: return "echoreply";
        case kTimestamp: return "TS";
        case kCc: return "cc";
        case kCcNew: return "ccnew";
        case kCcEcho: return "";
        case kSignature: return "md5";
        case kScps: return "scps";
        case kUto: return "uto";
        case kTcpAo: return "tcp-ao";
        case kMptcp: return "mptcp";
        case kFastOpen: return "tfo";
        case kExperiment2: return "exp";
        default: return {};
    }
}

// print_tcp_fastopen_option: RFC 7413 cookies are 4..16 bytes, even.
void fastopen(Buf& out, Bytes f, std::size_t data, unsigned length, bool experimental) {
    if (experimental) put(out, "tfo");
    if (length == 0) {
        put(out, " cookiereq");
    } else if (length % 2 != 0 || length < 4 || length > 16) {
        put(out, " (invalid)");
    } else {
        put(out, " cookie ");
        for (unsigned i = 0; i < length; ++i) put_hex2(out, load_u8(f, data + i));
    }
}

// ---------------------------------------------------------------------------
// MPTCP (RFC 6824/8684), print-mptcp.c. o is the option's first byte (kind);
// the caller has checked that all len bytes were captured. Each returns false
// where tcpdump's returns 0 (the caller then prints "[bad opt]").

constexpr std::uint8_t kSyn = tcp_syn, kAck = tcp_ack;

bool mp_capable(Buf& out, Bytes f, std::size_t o, unsigned len, std::uint8_t flags) {
    if (!((len == 12 || len == 4) && (flags & kSyn)) &&
        !((len == 20 || len == 22) && (flags & (kSyn | kAck)) == kAck))
        return false;
    const unsigned version = load_u8(f, o + 2) & 0xf;
    if (version > 1) {
        put(out, " Unknown Version (");
        put_uint(out, version);
        put(out, ')');
        return true;
    }
    put(out, " v");
    put_uint(out, version);
    if (load_u8(f, o + 3) & 0x80) put(out, " csum");
    if (len == 12 || len >= 20) {
        put(out, " {0x");
        put_hex(out, load_be64(f, o + 4));
        if (len >= 20) {
            put(out, ",0x");
            put_hex(out, load_be64(f, o + 12));
        }
        put(out, '}');
    }
    return true;
}

bool mp_join(Buf& out, Bytes f, std::size_t o, unsigned len, std::uint8_t flags) {
    if (!(len == 12 && (flags & kSyn)) && !(len == 16 && (flags & (kSyn | kAck)) == (kSyn | kAck)) &&
        !(len == 24 && (flags & kAck)))
        return false;
    if (len != 24) {
        if (load_u8(f, o + 2) & 1) put(out, " backup");
        put(out, " id ");
        put_uint(out, load_u8(f, o + 3));
    }
    if (len == 12) {
        put(out, " token 0x");
        put_hex(out, load_be32(f, o + 4));
        put(out, " nonce 0x");
        put_hex(out, load_be32(f, o + 8));
    } else if (len == 16) {
        put(out, " hmac 0x");
        put_hex(out, load_be64(f, o + 4));
        put(out, " nonce 0x");
        put_hex(out, load_be32(f, o + 12));
    } else {
        put(out, " hmac 0x");
        for (unsigned i = 0; i < 20; ++i) put_hex2(out, load_u8(f, o + 4 + i));
    }
    return true;
}

bool mp_dss(Buf& out, Bytes f, std::size_t o, unsigned len, std::uint8_t flags) {
    if (len < 4 || (flags & kSyn)) return false;
    const std::uint8_t m = load_u8(f, o + 3);
    if (m & 0x10) put(out, " fin");
    std::size_t at = o + 4;
    unsigned left = len - 4;
    // An 8-byte field when its wide bit is set, else 4 bytes.
    auto number = [&](bool wide) {
        const unsigned n = wide ? 8 : 4;
        if (left < n) return false;
        put_uint(out, wide ? load_be64(f, at) : load_be32(f, at));
        at += n;
        left -= n;
        return true;
    };
    if (m & 0x01) {  // A: data ack present, a: 8 bytes
        put(out, " ack ");
        if (!number(m & 0x02)) return false;
    }
    if (m & 0x04) {  // M: mapping present, m: 8-byte DSN
        put(out, " seq ");
        if (!number(m & 0x08)) return false;
        if (left < 4) return false;
        put(out, " subseq ");
        put_uint(out, load_be32(f, at));
        at += 4;
        left -= 4;
        if (left < 2) return false;
        put(out, " len ");
        put_uint(out, load_be16(f, at));
        at += 2;
        left -= 2;
        if (left >= 2) {  // the checksum, when negotiated
            put(out, " csum 0x");
            put_hex(out, load_be16(f, at));
            left -= 2;
        }
    }
    return left == 0;
}

bool mp_add_addr(Buf& out, Bytes f, std::size_t o, unsigned len) {
    const bool v4 = len == 8 || len == 10 || len == 16 || len == 18;
    const bool v6 = len == 20 || len == 22 || len == 28 || len == 30;
    if (!v4 && !v6) return false;
    switch (load_u8(f, o + 2) & 0xf) {  // mptcp_addr_subecho_bits
        case 0x6: put(out, " v0-ip6"); break;
        case 0x4: put(out, " v0-ip4"); break;
        case 0x1: put(out, " v1-echo"); break;
        case 0x0: put(out, " v1"); break;
        default: put(out, " [bad version/echo]"); break;
    }
    put(out, " id ");
    put_uint(out, load_u8(f, o + 3));
    IpAddress a;
    a.family = v4 ? Family::ipv4 : Family::ipv6;
    const unsigned n = v4 ? 4 : 16;
    for (unsigned i = 0; i < n; ++i) a.bytes[i] = load_u8(f, o + 4 + i);
    put(out, ' ');
    append_address(a, out);
    const unsigned base = v4 ? 8 : 20;  // the fixed part: header + address
    if (len == base + 2 || len == base + 10) {
        put(out, ':');
        put_uint(out, load_be16(f, o + base));
    }
    if (len == base + 8 || len == base + 10) {
        put(out, " hmac 0x");
        put_hex(out, load_be64(f, o + len - 8));
    }
    return true;
}

bool mp_remove_addr(Buf& out, Bytes f, std::size_t o, unsigned len) {
    if (len < 4) return false;
    put(out, " id");
    for (unsigned i = 3; i < len; ++i) {
        put(out, ' ');
        put_uint(out, load_u8(f, o + i));
    }
    return true;
}

bool mp_prio(Buf& out, Bytes f, std::size_t o, unsigned len) {
    if (len != 3 && len != 4) return false;
    put(out, load_u8(f, o + 2) & 1 ? " backup" : " non-backup");
    if (len == 4) {
        put(out, " id ");
        put_uint(out, load_u8(f, o + 3));
    }
    return true;
}

// mptcp_print: " <len> <subtype name>" then the subtype's fields. tcpdump
// 4.99 knows subtypes 0-7; MP_TCPRST (8) and later print as "unknown".
bool mptcp(Buf& out, Bytes f, std::size_t o, unsigned len, std::uint8_t flags) {
    if (len < 3) return false;
    const unsigned subtype = std::min(load_u8(f, o + 2) >> 4, 8);
    static constexpr std::string_view kNames[] = {"capable", "join", "dss", "add-addr", "rem-addr",
                                                  "prio", "fail", "fast-close", "unknown"};
    put(out, ' ');
    put_uint(out, len);
    put(out, ' ');
    put(out, kNames[subtype]);
    switch (subtype) {
        case 0: return mp_capable(out, f, o, len, flags);
        case 1: return mp_join(out, f, o, len, flags);
        case 2: return mp_dss(out, f, o, len, flags);
        case 3: return mp_add_addr(out, f, o, len);
        case 4: return mp_remove_addr(out, f, o, len);
        case 5: return mp_prio(out, f, o, len);
        case 6:
            if (len != 12) return false;
            put(out, " seq ");
            put_uint(out, load_be64(f, o + 4));
            return true;
        case 7:
            if (len != 12) return false;
            put(out, " key 0x");
            put_hex(out, load_be64(f, o + 4));
            return true;
        default: return true;
    }
}

}  // namespace

bool render_tcp_options(Buf& out, const Packet& p, std::uint32_t sack_base, std::string_view& proto, bool* jumped) {
    const Bytes f = p.captured();
    const TcpInfo& tcp = p.tcp;
    std::size_t cp = p.transport_offset + 20;
    unsigned hlen = tcp.header_length - 20u;
    char ch = '\0';
    put(out, ", options [");
    // tcpdump's two exits: "bad" for a length that does not fit, "trunc" for
    // bytes the snap length cut (a ">" closes it after the first option).
    auto bad = [&] {
        put(out, "[bad opt]");
        if (ch) put(out, ']');
        return false;
    };
    auto trunc = [&] {
        put_trunc(out, proto);
        if (ch) put(out, '>');
        return false;
    };
    while (hlen > 0) {
        if (ch) put(out, ch);
        // A kind or length byte past the capture ends the line at once
        // (GET_U_1's longjmp), without the ">".
        if (!fits(f, cp, 1)) return put_trunc(out, proto), *jumped = true, false;
        const std::uint8_t opt = load_u8(f, cp++);
        unsigned len = 1;
        if (opt != kEol && opt != kNop) {
            if (!fits(f, cp, 1)) return put_trunc(out, proto), *jumped = true, false;
            len = load_u8(f, cp++);
            if (len < 2 || len > hlen) return bad();
            --hlen;
        }
        --hlen;
        unsigned datalen = 0;
        // LENCHECK(l): l bytes must be left in the header and captured.
        enum class Check { ok, bad, trunc };
        auto lencheck = [&](unsigned l) {
            if (l > hlen) return Check::bad;
            if (!fits(f, cp, l)) return Check::trunc;
            return Check::ok;
        };
#define TPK_LENCHECK(l)                                 \
    do {                                                \
        const Check c_ = lencheck(l);                   \
        if (c_ == Check::bad) return bad();             \
        if (c_ == Check::trunc) return trunc();         \
    } while (0)
        const std::string_view name = option_name(opt);
        if (name.data() == nullptr) {
            put(out, "unknown-");
            put_uint(out, opt);
        } else {
            put(out, name);
        }
        switch (opt) {
            case kMss:
                datalen = 2;
                TPK_LENCHECK(datalen);
                put(out, ' ');
                put_uint(out, load_be16(f, cp));
                break;
            case kWscale:
                datalen = 1;
                TPK_LENCHECK(datalen);
                put(out, ' ');
                put_uint(out, load_u8(f, cp));
                break;
            case kSack:
                datalen = len - 2;
                if (datalen % 8 != 0) {
                    put(out, " invalid sack");
                } else {
                    put(out, ' ');
                    put_uint(out, datalen / 8);
                    put(out, ' ');
                    for (unsigned i = 0; i < datalen; i += 8) {
                        TPK_LENCHECK(i + 4);
                        const std::uint32_t s = load_be32(f, cp + i) - sack_base;
                        TPK_LENCHECK(i + 8);
                        const std::uint32_t e = load_be32(f, cp + i + 4) - sack_base;
                        put(out, '{');
                        put_uint(out, s);
                        put(out, ':');
                        put_uint(out, e);
                        put(out, '}');
                    }
                }
                break;
            case kCc: case kCcNew: case kCcEcho: case kEcho: case kEchoReply:
                datalen = 4;
                TPK_LENCHECK(datalen);
                put(out, ' ');
                put_uint(out, load_be32(f, cp));
                break;
            case kTimestamp:
                datalen = 8;
                TPK_LENCHECK(datalen);
                put(out, " val ");
                put_uint(out, load_be32(f, cp));
                put(out, " ecr ");
                put_uint(out, load_be32(f, cp + 4));
                break;
            case kSignature: {
                // Debian's tcpdump is built with libcrypto: it would verify the
                // RFC 2385 digest, but without -M it has no secret, and says so.
                datalen = 16;
                TPK_LENCHECK(datalen);
                const bool whole = fits(f, p.payload_offset, p.payload_length);
                put(out, whole ? " shared secret not supplied with -M, " : " snaplen too short, ");
                put(out, "can't check - ");
                for (unsigned i = 0; i < 16; ++i) put_hex2(out, load_u8(f, cp + i));
                break;
            }
            case kScps:
                datalen = 2;
                TPK_LENCHECK(datalen);
                put(out, " cap ");
                put_hex2(out, load_u8(f, cp));
                put(out, " id ");
                put_uint(out, load_u8(f, cp + 1));
                break;
            case kTcpAo:
                datalen = len - 2;
                if (datalen < 2) {  // RFC 5925 2.2: length >= 4
                    put(out, " (invalid)");
                } else {
                    TPK_LENCHECK(1);
                    put(out, " keyid ");
                    put_uint(out, load_u8(f, cp));
                    TPK_LENCHECK(2);
                    put(out, " rnextkeyid ");
                    put_uint(out, load_u8(f, cp + 1));
                    if (datalen > 2) {
                        put(out, " mac 0x");
                        for (unsigned i = 2; i < datalen; ++i) {
                            TPK_LENCHECK(i + 1);
                            put_hex2(out, load_u8(f, cp + i));
                        }
                    }
                }
                break;
            case kEol: case kNop: case kSackOk: break;
            case kUto: {
                datalen = 2;
                TPK_LENCHECK(datalen);
                const unsigned v = load_be16(f, cp);
                put(out, " 0x");
                put_hex(out, v);
                put(out, ' ');
                put_uint(out, v & 1 ? (v >> 1) * 60 : v >> 1);  // granularity bit: minutes
                break;
            }
            case kMptcp:
                datalen = len - 2;
                TPK_LENCHECK(datalen);
                proto = "mptcp";  // mptcp_print renames the protocol for the rest of the line
                if (!mptcp(out, f, cp - 2, len, tcp.flags)) return bad();
                break;
            case kFastOpen:
                datalen = len - 2;
                TPK_LENCHECK(datalen);
                put(out, ' ');
                fastopen(out, f, cp, datalen, false);
                break;
            case kExperiment2: {
                datalen = len - 2;
                TPK_LENCHECK(datalen);
                if (datalen < 2) return bad();
                const std::uint16_t magic = load_be16(f, cp);  // RFC 6994 experiment id
                put(out, '-');
                if (magic == 0xf989) {  // TCP Fast Open before kind 34 (RFC 7413)
                    fastopen(out, f, cp + 2, datalen - 2, true);
                } else {  // AccECN's 0xacc0/0xacc1 and the rest: the id alone
                    put_hex2(out, static_cast<std::uint8_t>(magic >> 8));
                    put_hex2(out, static_cast<std::uint8_t>(magic));
                }
                break;
            }
            default:
                datalen = len - 2;
                if (datalen) put(out, " 0x");
                for (unsigned i = 0; i < datalen; ++i) {
                    TPK_LENCHECK(i + 1);
                    put_hex2(out, load_u8(f, cp + i));
                }
                break;
        }
#undef TPK_LENCHECK
        cp += datalen;
        hlen -= datalen;
        // The length tcpdump expected from what it printed, against the declared one.
        const unsigned expected = datalen + (opt == kEol || opt == kNop ? 1 : 2);
        if (expected != len) {
            put(out, "[len ");
            put_uint(out, len);
            put(out, ']');
        }
        ch = ',';
        if (opt == kEol) break;
    }
    put(out, ']');
    return true;
}

}  // namespace tpk::decode
