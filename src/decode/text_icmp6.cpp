// ICMPv6 as tcpdump 4.99 prints it (print-icmp6.c icmp6_print): the error
// messages with the quoted packet's addresses, echo, MLD v1/v2 (queries and
// reports with their group records), neighbour discovery, router
// renumbering, node information, and the hex dump of a type it does not
// know. Of the neighbour discovery options (-v) DNSSL's names are not decoded.
#include <algorithm>

#include "decode/text.h"
#include "decode/text_put.h"

namespace tpk::decode {

using namespace textput;

namespace {

// The bytes of the ICMPv6 message up to tcpdump's snapend. A read past it is
// where tcpdump's GET_ macros longjmp: the line ends in " [|icmp6]".
struct Msg {
    Bytes f;
    std::size_t bp;
    std::size_t ep;
    bool has(std::size_t at, std::size_t n) const { return at >= bp && at <= ep && n <= ep - at; }
};

void put_addr6(Buf& out, Bytes f, std::size_t at) {
    IpAddress a;
    a.family = Family::ipv6;
    for (std::size_t i = 0; i < 16; ++i) a.bytes[i] = load_u8(f, at + i);
    append_address(a, out);
}

std::string_view type_name(std::uint8_t t) {
    switch (t) {
        case 1: return "destination unreachable";
        case 2: return "packet too big";
        case 3: return "time exceeded in-transit";
        case 4: return "parameter problem";
        case 128: return "echo request";
        case 129: return "echo reply";
        case 130: return "multicast listener query";
        case 131: return "multicast listener report";
        case 132: return "multicast listener done";
        case 133: return "router solicitation";
        case 134: return "router advertisement";
        case 135: return "neighbor solicitation";
        case 136: return "neighbor advertisement";
        case 137: return "redirect";
        case 138: return "router renumbering";
        case 139: return "who-are-you request";  // tcpdump's table has 139/140 twice; the first wins
        case 140: return "who-are-you reply";
        case 141: return "inverse neighbor solicitation";
        case 142: return "inverse neighbor advertisement";
        case 143: return "multicast listener report v2";
        case 144: return "ha discovery request";
        case 145: return "ha discovery reply";
        case 146: return "mobile router solicitation";
        case 147: return "mobile router advertisement";
        case 200: return "mtrace response";
        case 201: return "mtrace message";
        case 155: return "RPL";
        default: return {};
    }
}

// print_unknown_data(from, ident, length): the -x style dump of what was
// captured of it.
void hex_dump(Buf& out, const Msg& m, std::size_t from, std::size_t length, std::string_view ident = "\n\t") {
    if (from > m.ep) return;
    const std::size_t n = std::min(length, m.ep - from);
    for (std::size_t i = 0; i < n; i += 2) {
        if (i % 16 == 0) {
            put(out, ident);
            put(out, "0x");
            put_hex2(out, static_cast<std::uint8_t>(i >> 8));
            put_hex2(out, static_cast<std::uint8_t>(i));
            put(out, ": ");
        }
        put(out, ' ');
        put_hex2(out, load_u8(m.f, from + i));
        if (i + 1 < n) put_hex2(out, load_u8(m.f, from + i + 1));
    }
}

// get_lifetime
void put_lifetime(Buf& out, std::uint32_t v) {
    if (v == 0xffffffffu) {
        put(out, "infinity");
        return;
    }
    put_uint(out, v);
    put(out, 's');
}

// get_rtpref
std::string_view rtpref(unsigned flags) {
    static constexpr std::string_view kPrefs[] = {"medium", "high", "rsv", "low"};
    return kPrefs[(flags & 0x18) >> 3];
}

// icmp6_opt_print: neighbour discovery options (-v). Returns false where
// tcpdump's returns -1 (the line then ends in " [|icmp6]").
bool nd_options(Buf& out, const Msg& m, std::size_t bp, int resid, int verbose) {
    std::size_t cp = bp;
    while (cp < m.ep) {
        if (!m.has(cp + 1, 1)) return false;
        if (resid <= 0) return true;
        const unsigned type = load_u8(m.f, cp), olen = load_u8(m.f, cp + 1);
        if (olen == 0 || cp + (olen << 3) > m.ep) return false;
        static constexpr std::string_view kNames[] = {
            "unknown", "source link-address", "destination link-address", "prefix info", "redirected header",
            "mtu", "unknown", "advertisement interval", "homeagent information"};
        put(out, "\n\t  ");
        put(out, type < 9 ? kNames[type] : type == 24 ? "route info" : type == 25 ? "rdnss" : type == 31 ? "dnssl" : "unknown");
        put(out, " option (");
        put_uint(out, type);
        put(out, "), length ");
        put_uint(out, olen << 3);
        put(out, " (");
        put_uint(out, olen);
        put(out, "): ");
        const std::size_t size = olen << 3;
        switch (type) {
            case 1: case 2:  // print_lladdr
                for (std::size_t i = 2; i < size; ++i) {
                    if (i > 2) put(out, ':');
                    put_hex2(out, load_u8(m.f, cp + i));
                }
                break;
            case 3: {  // struct nd_opt_prefix_info, 32 bytes
                if (!m.has(cp, 32)) return false;
                put_addr6(out, m.f, cp + 16);
                put(out, '/');
                put_uint(out, load_u8(m.f, cp + 2));
                if (olen != 4) put(out, "badlen");
                put(out, ", Flags [");
                const unsigned fl = load_u8(m.f, cp + 3);
                bool any = false;
                for (const auto& [bit, name] : {std::pair{0x80u, "onlink"}, std::pair{0x40u, "auto"}, std::pair{0x20u, "router"}}) {
                    if (!(fl & bit)) continue;
                    if (any) put(out, ", ");
                    put(out, name);
                    any = true;
                }
                if (!any) put(out, "none");
                put(out, "], valid time ");
                put_lifetime(out, load_be32(m.f, cp + 4));
                put(out, ", pref. time ");
                put_lifetime(out, load_be32(m.f, cp + 8));
                break;
            }
            case 4: hex_dump(out, m, bp, size, "\n\t    "); break;  // tcpdump dumps from the first option
            case 5:
                if (!m.has(cp + 4, 4)) return false;
                put(out, ' ');
                put_uint(out, load_be32(m.f, cp + 4));
                if (olen != 1) put(out, "bad option length");
                break;
            case 25: {
                put(out, " lifetime ");
                put_uint(out, load_be32(m.f, cp + 4));
                put(out, "s,");
                for (std::size_t i = 0; i < (olen - 1u) / 2; ++i) {
                    put(out, " addr: ");
                    put_addr6(out, m.f, cp + 8 + 16 * i);
                }
                break;
            }
            case 7:
                put(out, ' ');
                put_uint(out, load_be32(m.f, cp + 4));
                put(out, "ms");
                break;
            case 8:
                put(out, " preference ");
                put_uint(out, load_be16(m.f, cp + 4));
                put(out, ", lifetime ");
                put_uint(out, load_be16(m.f, cp + 6));
                break;
            case 24: {
                if (olen > 3) return false;
                IpAddress a;
                a.family = Family::ipv6;
                for (std::size_t i = 0; i < (olen - 1u) * 8; ++i) a.bytes[i] = load_u8(m.f, cp + 8 + i);
                put(out, ' ');
                append_address(a, out);
                put(out, '/');
                put_uint(out, load_u8(m.f, cp + 2));
                put(out, ", pref=");
                put(out, rtpref(load_u8(m.f, cp + 3)));
                put(out, ", lifetime=");
                put_lifetime(out, load_be32(m.f, cp + 4));
                break;
            }
            default:  // dnssl (31) too: its names are not decoded here
                if (verbose <= 1) {
                    hex_dump(out, m, cp + 2, size - 2, "\n\t  ");
                    return true;
                }
                break;
        }
        if (verbose > 1) hex_dump(out, m, cp + 2, size - 2, "\n\t    ");
        cp += size;
        resid -= static_cast<int>(size);
    }
    return true;
}

// dnsname_print: labels without compression, "???" when they do not fit.
void dns_name(Buf& out, const Msg& m, std::size_t cp) {
    const std::size_t ep = m.ep;
    put(out, ", \"");
    while (cp < ep) {
        std::size_t i = load_u8(m.f, cp++);
        if (i) {
            if (i > ep - cp) {
                put(out, "???");
                break;
            }
            while (i-- && cp < ep) put_char(out, load_u8(m.f, cp++));
            if (cp + 1 < ep && load_u8(m.f, cp)) put(out, '.');
        } else {
            if (cp == ep) put(out, '.');  // FQDN
            else if (!(cp + 1 == ep && load_u8(m.f, cp) == 0)) put(out, "???");
            break;
        }
    }
    put(out, '"');
}

// get_upperlayer: the quoted packet's transport ports, through its extension headers.
bool quoted_upper(const Msg& m, std::size_t ip6, unsigned& prot, std::size_t& uh) {
    if (!m.has(ip6 + 6, 1)) return false;
    unsigned nh = load_u8(m.f, ip6 + 6);
    std::size_t bp = ip6, hlen = 40;
    while (bp < m.ep) {
        bp += hlen;
        switch (nh) {
            case 6: case 17:
                if (!m.has(bp + 2, 2)) return false;
                prot = nh;
                uh = bp;
                return true;
            case 0: case 60: case 43:
                if (!m.has(bp + 1, 1)) return false;
                nh = load_u8(m.f, bp);
                hlen = (load_u8(m.f, bp + 1) + 1u) << 3;
                break;
            case 44:
                if (!m.has(bp + 2, 2)) return false;
                if (load_be16(m.f, bp + 2) & 0xfff8) return false;
                nh = load_u8(m.f, bp);
                hlen = 8;
                break;
            case 51:
                if (!m.has(bp + 1, 1)) return false;
                nh = load_u8(m.f, bp);
                hlen = (load_u8(m.f, bp + 1) + 2u) << 2;
                break;
            default:
                prot = nh;
                return false;
        }
    }
    return false;
}

struct Printer {
    Buf& out;
    const Msg& m;
    int verbose;
    bool cut = false;

    // A GET_ read past the snapshot: the line ends (" [|icmp6]", no length).
    bool need(std::size_t at, std::size_t n) {
        if (!m.has(at, n)) cut = true;
        return !cut;
    }
    // An ND_TCHECK in rrenum/nodeinfo: " [|icmp6]" and the line goes on.
    bool check(std::size_t at, std::size_t n) {
        if (m.has(at, n)) return true;
        put_trunc(out, "icmp6");
        return false;
    }

    void mld1() {  // mld6_print: silently nothing when the 24 bytes are not there
        if (!m.has(m.bp, 24)) return;
        put(out, "max resp delay: ");
        put_uint(out, load_be16(m.f, m.bp + 4));
        put(out, " addr: ");
        put_addr6(out, m.f, m.bp + 8);
    }

    void mld2_query(std::size_t len) {
        const std::size_t bp = m.bp;
        if (len < 28) {
            put(out, " [invalid len ");
            put_uint(out, len);
            put(out, ']');
            return;
        }
        if (!need(bp + 4, 2)) return;
        const unsigned mrc = load_be16(m.f, bp + 4);
        const unsigned mrt = mrc < 32768 ? mrc : ((mrc & 0x0fff) | 0x1000) << (((mrc & 0x7000) >> 12) + 3);
        if (verbose) {
            put(out, " [max resp delay=");
            put_uint(out, mrt);
            put(out, ']');
        }
        if (!need(bp + 8, 16)) return;
        put(out, " [gaddr ");
        put_addr6(out, m.f, bp + 8);
        if (verbose) {
            if (!need(bp + 24, 1)) return;
            const unsigned qrv = load_u8(m.f, bp + 24);
            if (qrv & 0x08) put(out, " sflag");
            if (qrv & 0x07) {
                put(out, " robustness=");
                put_uint(out, qrv & 0x07);
            }
            if (!need(bp + 25, 1)) return;
            const unsigned q = load_u8(m.f, bp + 25);
            put(out, " qqi=");
            put_uint(out, q < 128 ? q : ((q & 0x0f) | 0x10) << (((q & 0x70) >> 4) + 3));
        }
        if (!need(bp + 26, 2)) return;
        const std::size_t nsrcs = load_be16(m.f, bp + 26);
        if (nsrcs > 0) {
            if (len < 28 + nsrcs * 16) {
                put(out, " [invalid number of sources]");
            } else if (verbose > 1) {
                put(out, " {");
                for (std::size_t i = 0; i < nsrcs; ++i) {
                    if (!need(bp + 28 + i * 16, 16)) return;
                    put(out, ' ');
                    put_addr6(out, m.f, bp + 28 + i * 16);
                }
                put(out, " }");
            } else {
                put(out, ", ");
                put_uint(out, nsrcs);
                put(out, " source(s)");
            }
        }
        put(out, ']');
    }

    void mld2_report(std::size_t len) {
        const std::size_t bp = m.bp;
        if (len < 8) {
            put(out, " [invalid len ");
            put_uint(out, len);
            put(out, ']');
            return;
        }
        if (!need(bp + 6, 2)) return;
        const std::size_t ngroups = load_be16(m.f, bp + 6);
        put(out, ", ");
        put_uint(out, ngroups);
        put(out, " group record(s)");
        if (!verbose) return;
        std::size_t group = 8;
        for (std::size_t i = 0; i < ngroups; ++i) {
            if (len < group + 20) {
                put(out, " [invalid number of groups]");
                return;
            }
            if (!need(bp + group + 4, 16)) return;
            put(out, " [gaddr ");
            put_addr6(out, m.f, bp + group + 4);
            if (!need(bp + group, 1)) return;
            static constexpr std::string_view kTypes[] = {"is_in", "is_ex", "to_in", "to_ex", "allow", "block"};
            const unsigned rtype = load_u8(m.f, bp + group);
            put(out, ' ');
            if (rtype >= 1 && rtype <= 6) {
                put(out, kTypes[rtype - 1]);
            } else {
                put(out, " [v2-report-#");
                put_uint(out, rtype);
                put(out, ']');
            }
            if (!need(bp + group + 2, 2)) return;
            const std::size_t nsrcs = load_be16(m.f, bp + group + 2);
            if (len < group + 20 + nsrcs * 16) {
                put(out, " [invalid number of sources ");
                put_uint(out, nsrcs);
                put(out, ']');
                return;
            }
            if (verbose == 1) {
                put(out, ", ");
                put_uint(out, nsrcs);
                put(out, " source(s)");
            } else {
                put(out, " {");
                for (std::size_t j = 0; j < nsrcs; ++j) {
                    if (!need(bp + group + 20 + j * 16, 16)) return;
                    put(out, ' ');
                    put_addr6(out, m.f, bp + group + 20 + j * 16);
                }
                put(out, " }");
            }
            group += 20 + nsrcs * 16;
            put(out, ']');
        }
    }

    // icmp6_rrenum_print (RFC 2894)
    void rrenum() {
        const std::size_t bp = m.bp;
        if (!check(bp + 12, 4)) return;
        const unsigned code = load_u8(m.f, bp + 1);
        switch (code) {
            case 0: put(out, ", command"); break;
            case 1: put(out, ", result"); break;
            case 255: put(out, ", sequence number reset"); break;
            default: put(out, ", code-#"); put_uint(out, code); break;
        }
        put(out, ", seq=");
        put_uint(out, load_be32(m.f, bp + 4));
        if (verbose) {
            const unsigned flags = load_u8(m.f, bp + 9);
            put(out, '[');
            if (flags) {
                if (flags & 0x80) put(out, 'T');
                if (flags & 0x40) put(out, 'R');
                if (flags & 0x20) put(out, 'A');
                if (flags & 0x10) put(out, 'S');
                if (flags & 0x08) put(out, 'P');
                put(out, ',');
            }
            put(out, "seg=");
            put_uint(out, load_u8(m.f, bp + 8));
            put(out, ",maxdelay=");
            put_uint(out, load_be16(m.f, bp + 10));
            if (const std::uint32_t r = load_be32(m.f, bp + 12)) {
                put(out, "rsvd=0x");
                put_hex(out, r);
            }
            put(out, ']');
        }
        if (code != 0) return;
        const std::size_t match = bp + 16;  // struct rr_pco_match, 24 bytes
        if (!check(match + 8, 16)) return;
        put(out, verbose > 1 ? "\n\t" : " ");
        put(out, "match(");
        switch (const unsigned c = load_u8(m.f, match)) {
            case 1: put(out, "add"); break;
            case 2: put(out, "change"); break;
            case 3: put(out, "setglobal"); break;
            default: put(out, '#'); put_uint(out, c); break;
        }
        if (verbose) {
            put(out, ",ord=");
            put_uint(out, load_u8(m.f, match + 2));
            put(out, ",min=");
            put_uint(out, load_u8(m.f, match + 4));
            put(out, ",max=");
            put_uint(out, load_u8(m.f, match + 5));
        }
        put(out, ',');
        put_addr6(out, m.f, match + 8);
        put(out, '/');
        put_uint(out, load_u8(m.f, match + 3));
        put(out, ')');
        int n = static_cast<int>(load_u8(m.f, match + 1)) - 3;
        if (n % 4) {
            put_trunc(out, "icmp6");
            return;
        }
        n /= 4;
        std::size_t use = match + 24;  // struct rr_pco_use, 32 bytes each
        for (; n > 0; --n, use += 32) {
            if (!check(use + 16, 16)) return;
            put(out, verbose > 1 ? "\n\t" : " ");
            put(out, "use(");
            const std::uint32_t uflags = load_u8(m.f, use + 12);  // GET_U_1 of the 4-byte field
            if (uflags) {
                if (uflags & 0x80) put(out, 'V');
                if (uflags & 0x40) put(out, 'P');
                put(out, ',');
            }
            if (verbose) {
                put(out, "mask=0x");
                put_hex(out, load_u8(m.f, use + 2));
                put(out, ",raflags=0x");
                put_hex(out, load_u8(m.f, use + 3));
                put(out, ',');
                for (const auto& [name, at] : {std::pair{"vltime=", use + 4}, std::pair{"pltime=", use + 8}}) {
                    put(out, name);
                    const std::uint32_t t = load_be32(m.f, at);
                    if (t == 0xffffffffu) put(out, "infty");
                    else put_uint(out, t);
                    put(out, ',');
                }
            }
            put_addr6(out, m.f, use + 16);
            put(out, '/');
            put_uint(out, load_u8(m.f, use));
            put(out, '/');
            put_uint(out, load_u8(m.f, use + 1));
            put(out, ')');
        }
    }

    // icmp6_nodeinfo_print (RFC 4620)
    void nodeinfo(std::size_t icmp6len) {
        const std::size_t bp = m.bp, siz = m.ep - m.bp;
        auto put_flags = [&](unsigned i, bool truncate_flag) {
            put(out, " [");
            if (i & 0x0040) put(out, 'a');  // NI_NODEADDR_FLAG_ANYCAST ... _TRUNCATE (0x0001)
            if (i & 0x0020) put(out, 'G');
            if (i & 0x0010) put(out, 'S');
            if (i & 0x0008) put(out, 'L');
            if (i & 0x0004) put(out, 'C');
            if (i & 0x0002) put(out, 'A');
            if (truncate_flag && (i & 0x0001)) put(out, 'T');
            put(out, ']');
        };
        auto pascal_or_dns = [&](std::size_t cp) {
            if (load_u8(m.f, cp) == m.ep - cp - 1) {  // icmp-name-lookup-03, a Pascal string
                if (verbose) put(out, ", 03 draft");
                ++cp;
                put(out, ", \"");
                while (cp < m.ep) put_char(out, load_u8(m.f, cp++));
                put(out, '"');
            } else {
                dns_name(out, m, cp);
            }
        };
        const unsigned type = load_u8(m.f, bp);
        if (type == 139) {
            if (siz == 12) {
                put(out, " who-are-you request");
                return;
            }
            put(out, " node information query");
            if (!check(bp, 16)) return;
            put(out, " (");
            const unsigned qtype = load_be16(m.f, bp + 4), flags = load_be16(m.f, bp + 6);
            switch (qtype) {
                case 0: put(out, "noop"); break;
                case 1:
                    put(out, "supported qtypes");
                    if (flags) put(out, flags & 1 ? " [C]" : " []");
                    break;
                case 2: put(out, "DNS name"); break;
                case 3:
                    put(out, "node addresses");
                    if (flags) put_flags(flags, false);
                    break;
                default: put(out, "unknown"); break;
            }
            if (qtype == 0 || qtype == 1) {
                if (siz != 16 && verbose) put(out, ", invalid len");
                put(out, ')');
                return;
            }
            if (siz == 16) {
                put(out, ", 03 draft)");
                return;
            }
            const std::size_t cp = bp + 16;
            switch (load_u8(m.f, bp + 1)) {
                case 0:  // subject: an IPv6 address
                    if (!m.has(bp, 32)) break;
                    if (siz != 32) {
                        if (verbose) put(out, ", invalid subject len");
                        break;
                    }
                    put(out, ", subject=");
                    put_addr6(out, m.f, cp);
                    break;
                case 1:
                    put(out, ", subject=DNS name");
                    if (!need(cp, 1)) return;
                    pascal_or_dns(cp);
                    break;
                case 2:
                    if (!m.has(bp, 20)) break;
                    if (siz != 20) {
                        if (verbose) put(out, ", invalid subject len");
                        break;
                    }
                    put(out, ", subject=");
                    {
                        IpAddress a;
                        a.family = Family::ipv4;
                        for (std::size_t i = 0; i < 4; ++i) a.bytes[i] = load_u8(m.f, cp + i);
                        append_address(a, out);
                    }
                    break;
                default: put(out, ", unknown subject"); break;
            }
            put(out, ')');
            return;
        }
        // reply
        if (icmp6len > siz || !check(bp, 16)) {
            if (icmp6len > siz) put_trunc(out, "icmp6");
            return;
        }
        put(out, " node information reply (");
        const unsigned code = load_u8(m.f, bp + 1);
        bool comma = false;
        switch (code) {
            case 0:
                if (verbose) {
                    put(out, "success");
                    comma = true;
                }
                break;
            case 1: case 2:
                put(out, code == 1 ? "refused" : "unknown");
                comma = true;
                if (siz != 16 && verbose) put(out, ", invalid length");
                break;
            default: break;
        }
        if (code != 0) {
            put(out, ')');
            return;
        }
        if (comma) put(out, ", ");
        const unsigned qtype = load_be16(m.f, bp + 4), flags = load_be16(m.f, bp + 6);
        switch (qtype) {
            case 0:
                put(out, "noop");
                if (siz != 16 && verbose) put(out, ", invalid length");
                break;
            case 1:
                put(out, "supported qtypes");
                if (flags) put(out, flags & 1 ? " [C]" : " []");
                break;
            case 2: {
                put(out, "DNS name");
                const std::size_t cp = bp + 16 + 4;  // after the TTL
                if (!need(cp, 1)) return;
                pascal_or_dns(cp);
                if (flags & 1) {
                    if (!need(bp + 16, 4)) return;
                    put(out, " [TTL=");
                    put_uint(out, load_be32(m.f, bp + 16));
                    put(out, ']');
                }
                break;
            }
            case 3:
                put(out, "node addresses");
                for (std::size_t i = 16; i + 20 <= siz; i += 20) {
                    put(out, ' ');
                    put_addr6(out, m.f, bp + i + 4);
                    put(out, '(');
                    put_uint(out, load_be32(m.f, bp + i));
                    put(out, ')');
                }
                if (flags) put_flags(flags, true);
                break;
            default: put(out, "unknown"); break;
        }
        put(out, ')');
    }
};

}  // namespace

void TextRenderer::render_icmpv6(const Packet& p, Buf& out) {
    const std::size_t bp = p.transport_offset;
    const std::size_t length = p.transport_length;
    const std::size_t ep = std::min<std::size_t>(p.frame.size(), bp + length);
    const Msg m{p.frame, bp, std::max(bp, ep)};
    if (length == 0) {
        put(out, "ICMP6, length 0 (invalid)");
        return;
    }
    const bool fragmented = p.ipv6.is_fragment;
    if (options_.verbose && !fragmented && m.has(bp, length)) {
        if (!m.has(bp + 2, 2)) {  // the checksum field itself is missing: GET_ longjmps
            put_trunc(out, "icmp6");
            jumped_ = true;
            return;
        }
        const ChecksumCheck c = check_transport_checksum(p, p.icmp.checksum);
        if (c.computable) {
            if (c.valid) put(out, "[icmp6 sum ok] ");
            else {
                put(out, "[bad icmp6 cksum ");
                put_hex16(out, p.icmp.checksum);
                put(out, " -> ");
                put_hex16(out, c.expected);
                put(out, "!] ");
            }
        }
    }
    Printer pr{out, m, options_.verbose};
    // A GET_ read past the snapshot (tcpdump longjmps: -x then dumps the
    // whole frame) or an ND_TCHECK (goto trunc: it does not).
    auto trunc = [&] {
        put_trunc(out, "icmp6");
        jumped_ = true;
    };
    auto soft_trunc = [&] { put_trunc(out, "icmp6"); };
    if (!m.has(bp, 1)) return trunc();
    const std::uint8_t type = load_u8(p.frame, bp);
    put(out, "ICMP6, ");
    if (const std::string_view name = type_name(type); !name.empty()) {
        put(out, name);
    } else {
        put(out, "unknown icmp6 type (");
        put_uint(out, type);
        put(out, ')');
    }
    const bool nd = type == 133 || type == 134 || type == 136 || type == 135 || type == 137 || type == 145 ||
                    type == 147;
    if (options_.verbose && nd) {
        put(out, ", length ");
        put_uint(out, length);
    }
    if (!m.has(bp + 1, 1)) return trunc();
    const std::uint8_t code = load_u8(p.frame, bp + 1);
    const std::size_t oip = bp + 8;  // the quoted packet of an error message
    switch (type) {
        case 1: {
            static constexpr std::string_view kCodes[] = {"unreachable route", " unreachable prohibited",
                                                          "beyond scope", "unreachable address", "unreachable port"};
            put(out, ", ");
            if (code < 5) {
                put(out, kCodes[code]);
            } else {
                put(out, "unknown unreach code (");
                put_uint(out, code);
                put(out, ')');
            }
            switch (code) {
                case 0: case 1: case 3:
                    if (!m.has(oip + 24, 16)) return trunc();
                    put(out, ' ');
                    put_addr6(out, p.frame, oip + 24);
                    break;
                case 2:
                    if (!m.has(oip + 8, 32)) return trunc();
                    put(out, ' ');
                    put_addr6(out, p.frame, oip + 24);
                    put(out, ", source address ");
                    put_addr6(out, p.frame, oip + 8);
                    break;
                case 4: {
                    unsigned prot = 0;
                    std::size_t uh = 0;
                    if (!quoted_upper(m, oip, prot, uh)) return soft_trunc();
                    if (!m.has(oip + 24, 16)) return trunc();
                    const unsigned dport = load_be16(p.frame, uh + 2);
                    put(out, ", ");
                    put_addr6(out, p.frame, oip + 24);
                    if (prot == 6 || prot == 17) {
                        put(out, prot == 6 ? " tcp port " : " udp port ");
                        put_uint(out, dport);
                    } else {
                        put(out, " protocol ");
                        put_uint(out, prot);
                        put(out, " port ");
                        put_uint(out, dport);
                        put(out, " unreachable");
                    }
                    break;
                }
                default:
                    if (options_.verbose <= 1) return hex_dump(out, m, bp, length);
                    break;
            }
            break;
        }
        case 2:
            if (!m.has(bp + 4, 4)) return trunc();
            put(out, ", mtu ");
            put_uint(out, load_be32(p.frame, bp + 4));
            break;
        case 3:
            if (code == 0) {
                if (!m.has(oip + 24, 16)) return trunc();
                put(out, " for ");
                put_addr6(out, p.frame, oip + 24);
            } else if (code == 1) {
                put(out, " (reassembly)");
            } else {
                put(out, ", unknown code (");
                put_uint(out, code);
                put(out, ')');
            }
            break;
        case 4: {
            if (!m.has(oip + 24, 16)) return soft_trunc();  // ND_TCHECK_16
            if (!m.has(bp + 4, 4)) return trunc();
            static constexpr std::string_view kCodes[] = {", erroneous - octet ", ", next header - octet ",
                                                          ", option - octet ", ", incomplete header chain - octet "};
            if (code < 4) {
                put(out, kCodes[code]);
                put_uint(out, load_be32(p.frame, bp + 4));
            } else {
                put(out, ", code-#");
                put_uint(out, code);
            }
            break;
        }
        case 128: case 129:
            if (!m.has(bp + 4, 4)) return trunc();
            put(out, ", id ");
            put_uint(out, load_be16(p.frame, bp + 4));
            put(out, ", seq ");
            put_uint(out, load_be16(p.frame, bp + 6));
            break;
        case 130:
            if (length == 24) {
                pr.mld1();
            } else if (length >= 28) {
                put(out, " v2");
                pr.mld2_query(length);
            } else {
                put(out, " unknown-version (len ");
                put_uint(out, length);
                put(out, ") ");
            }
            break;
        case 131: case 132: pr.mld1(); break;
        case 133:
            if (options_.verbose && !nd_options(out, m, bp + 8, static_cast<int>(length) - 8, options_.verbose))
                return soft_trunc();
            break;
        case 134:
            if (options_.verbose) {
                if (!m.has(bp + 4, 12)) return trunc();
                const unsigned fl = load_u8(p.frame, bp + 5);
                put(out, "\n\thop limit ");
                put_uint(out, load_u8(p.frame, bp + 4));
                put(out, ", Flags [");
                bool any = false;
                for (const auto& [bit, name] : {std::pair{0x80u, "managed"}, std::pair{0x40u, "other stateful"},
                                                std::pair{0x20u, "home agent"}, std::pair{0x02u, "ipv6 only"}}) {
                    if (!(fl & bit)) continue;
                    if (any) put(out, ", ");
                    put(out, name);
                    any = true;
                }
                if (!any) put(out, "none");
                put(out, "], pref ");
                put(out, rtpref(fl));
                put(out, ", router lifetime ");
                put_uint(out, load_be16(p.frame, bp + 6));
                put(out, "s, reachable time ");
                put_uint(out, load_be32(p.frame, bp + 8));
                put(out, "ms, retrans timer ");
                put_uint(out, load_be32(p.frame, bp + 12));
                put(out, "ms");
                if (!nd_options(out, m, bp + 16, static_cast<int>(length) - 16, options_.verbose)) return soft_trunc();
            }
            break;
        case 135: case 136:
            if (!m.has(bp + 8, 16)) return trunc();
            put(out, type == 135 ? ", who has " : ", tgt is ");
            put_addr6(out, p.frame, bp + 8);
            if (type == 135 && options_.verbose &&
                !nd_options(out, m, bp + 24, static_cast<int>(length) - 24, options_.verbose))
                return soft_trunc();
            if (type == 136 && options_.verbose) {
                const std::uint32_t flags = load_be32(p.frame, bp + 4);
                put(out, ", Flags [");
                bool any = false;
                for (const auto& [bit, name] : {std::pair{0x80000000u, "router"}, std::pair{0x40000000u, "solicited"},
                                                std::pair{0x20000000u, "override"}}) {
                    if (!(flags & bit)) continue;
                    if (any) put(out, ", ");
                    put(out, name);
                    any = true;
                }
                if (!any) put(out, "none");
                put(out, ']');
                if (!nd_options(out, m, bp + 24, static_cast<int>(length) - 24, options_.verbose)) return soft_trunc();
            }
            break;
        case 137:
            if (!m.has(bp + 8, 32)) return trunc();
            put(out, ", ");
            put_addr6(out, p.frame, bp + 24);  // the destination, then the better first hop
            put(out, " to ");
            put_addr6(out, p.frame, bp + 8);
            if (options_.verbose && !nd_options(out, m, bp + 40, static_cast<int>(length) - 40, options_.verbose))
                return soft_trunc();
            break;
        case 138: pr.rrenum(); break;
        case 139: case 140: pr.nodeinfo(length); break;
        case 141: case 142: break;
        case 143: pr.mld2_report(length); break;
        case 144: case 146:
            if (!m.has(bp + 4, 2)) return trunc();
            put(out, ", id 0x");
            put_hex2(out, load_u8(p.frame, bp + 4));
            put_hex2(out, load_u8(p.frame, bp + 5));
            break;
        case 145: case 147: break;  // -v only, not printed
        default:
            put(out, ", length ");
            put_uint(out, length);
            if (options_.verbose <= 1) hex_dump(out, m, bp, length);
            return;
    }
    if (pr.cut) return trunc();
    if (!options_.verbose) {
        put(out, ", length ");
        put_uint(out, length);
    }
}

}  // namespace tpk::decode
