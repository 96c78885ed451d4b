// A port of tcpdump 4.99's ip6_print loop and the extension header printers
// it calls. Every read is checked against snap_end (the capture, cut at the
// end of the IPv6 payload as nd_push_snaplen does); where tcpdump's GET_
// macro would longjmp, the walk stops with " [|proto]".
#include "decode/ip6_walk.h"

#include <algorithm>

#include "decode/text_put.h"

namespace tpk::decode {

using namespace textput;

namespace {

constexpr std::uint8_t kHopOpts = 0, kTcp = 6, kUdp = 17, kDccp = 33, kRouting = 43, kFragment = 44,
                       kAh = 51, kDstOpts = 60, kSctp = 132;

class Walker {
public:
    Walker(const Packet& p, int verbose, Buf* out, Ip6Walk& w, Ipv6Info* info)
        : f_(p.frame), p_(p), verbose_(verbose), out_(out), w_(w), info_(info) {}

    void run(std::uint32_t wire);
    bool jumped() const { return longjmp_; }

private:
    // Bytes [at, at+n) inside the capture and the IPv6 payload.
    bool have(std::uint64_t at, std::uint64_t n) const { return at <= snap_end_ && n <= snap_end_ - at; }
    void print(std::string_view s) { if (out_) put(*out_, s); }
    void print(char c) { if (out_) put(*out_, c); }
    void print_uint(std::uint64_t v) { if (out_) put_uint(*out_, v); }
    void print_hex(std::uint64_t v) { if (out_) put_hex(*out_, v); }
    void print_hex2(std::uint8_t v) { if (out_) put_hex2(*out_, v); }
    void print_addr(std::size_t at) {
        if (!out_) return;
        IpAddress a;
        a.family = Family::ipv6;
        for (std::size_t i = 0; i < 16; ++i) a.bytes[i] = load_u8(f_, at + i);
        append_address(a, *out_);
    }
    // Ends the walk with " [|proto]" (tcpdump's nd_print_trunc).
    void trunc(std::string_view proto, std::string_view reason) {
        if (out_) put_trunc(*out_, proto);
        stop(reason, true);
    }
    void stop(std::string_view reason, bool truncated = false) {
        w_.upper = false;
        w_.truncated = truncated;
        w_.reason = reason;
    }
    void record(std::uint8_t type, std::uint32_t at, std::uint32_t length) {
        if (!info_ || info_->extension_count == info_->extensions.size()) return;
        info_->extensions[info_->extension_count++] =
            Ipv6ExtensionHeader{type, static_cast<std::uint16_t>(std::min<std::uint32_t>(length, 0xffff)), at};
    }

    int options(std::uint32_t at, int len, bool hbh, std::uint32_t* payload_len, bool* found_jumbo);
    int hbh(std::uint32_t at, std::uint32_t* payload_len, bool* found_jumbo);
    int dstopt(std::uint32_t at);
    int frag(std::uint32_t at, std::uint32_t payload_len);
    int routing(std::uint32_t at);

    const Bytes f_;
    const Packet& p_;
    const int verbose_;
    Buf* const out_;
    Ip6Walk& w_;
    Ipv6Info* const info_;
    std::uint64_t snap_end_ = 0;
    bool longjmp_ = false;  // a read past snap_end: the walk printed " [|x]" and ended
};

// ip6_opt_process (and ip6_sopt_print inside a home address option).
// Returns -1 where tcpdump's does (after printing its complaint).
int Walker::options(std::uint32_t at, int len, bool hbh, std::uint32_t* payload_len, bool* found_jumbo) {
    constexpr std::uint8_t kPad1 = 0, kPadN = 1, kRtAlert = 5, kJumbo = 0xc2, kHomeAddress = 0xc9;
    if (len == 0) return 0;
    bool seen_jumbo = false;
    int optlen = 0;
    for (int i = 0; i < len; i += optlen) {
        const std::uint8_t type = load_u8(f_, at + i);
        if (type == kPad1) {
            optlen = 1;
        } else if (i + 1 < len) {
            optlen = load_u8(f_, at + i + 1) + 2;
        } else {
            return -1;
        }
        if (i + optlen > len) return -1;
        const std::uint8_t olen = type == kPad1 ? 0 : load_u8(f_, at + i + 1);
        switch (type) {
            case kPad1:
                if (verbose_) print("(pad1)");
                break;
            case kPadN:
                if (len - i < 2) {
                    print("(padn: trunc)");
                    return -1;
                }
                if (verbose_) print("(padn)");
                break;
            case kRtAlert:
                if (len - i < 4) {
                    print("(rtalert: trunc)");
                    return -1;
                }
                if (olen != 2) {
                    print("(rtalert: invalid len ");
                    print_uint(olen);
                    print(')');
                    return -1;
                }
                if (verbose_) {
                    print("(rtalert: ");
                    if (out_) put_hex16(*out_, load_be16(f_, at + i + 2));
                    print(") ");
                }
                break;
            case kJumbo: {
                if (len - i < 6) {
                    print("(jumbo: trunc)");
                    return -1;
                }
                if (olen != 4) {
                    print("(jumbo: invalid len ");
                    print_uint(olen);
                    print(')');
                    return -1;
                }
                const std::uint32_t jumbolen = load_be32(f_, at + i + 2);
                auto say = [&](std::string_view why) {
                    if (!verbose_) return;
                    print("(jumbo: ");
                    print_uint(jumbolen);
                    print(why);
                    print(") ");
                };
                if (seen_jumbo) {
                    say(" - already seen");
                } else {
                    seen_jumbo = true;
                    if (!hbh) say(" - not a hop-by-hop option");
                    else if (*payload_len != 0) say(" - payload len != 0");
                    else if (jumbolen < 65536) say(" - < 65536");
                    else {
                        *found_jumbo = true;
                        *payload_len = jumbolen;
                        say("");
                    }
                }
                break;
            }
            case kHomeAddress:
                if (len - i < 18) {
                    print("(homeaddr: trunc)");
                    return -1;
                }
                if (olen < 16) {
                    print("(homeaddr: invalid len ");
                    print_uint(olen);
                    print(')');
                    return -1;
                }
                if (verbose_) {
                    print("(homeaddr: ");
                    print_addr(at + i + 2);
                    if (olen > 16) {
                        // ip6_sopt_print over the sub-options after the address
                        const std::uint32_t s = at + i + 18;
                        const int slen = optlen - 18;
                        int sl = 0;
                        for (int j = 0; j < slen; j += sl) {
                            const std::uint8_t st = load_u8(f_, s + j);
                            if (st == kPad1) sl = 1;
                            else if (j + 1 < slen) sl = load_u8(f_, s + j + 1) + 2;
                            else return -1;
                            if (j + sl > slen) return -1;
                            if (st == kPad1) {
                                print(", pad1");
                            } else if (st == kPadN) {
                                if (slen - j < 2) return print(", padn: trunc"), -1;
                                print(", padn");
                            } else {
                                if (slen - j < 2) {
                                    print(", sopt_type ");
                                    print_uint(st);
                                    print(": trunc)");
                                    return -1;
                                }
                                print(", sopt_type 0x");
                                print_hex2(st);
                                print(": len=");
                                print_uint(load_u8(f_, s + j + 1));
                            }
                        }
                    }
                    print(')');
                }
                break;
            default:
                if (len - i < 2) {
                    print("(type ");
                    print_uint(type);
                    print(": trunc)");
                    return -1;
                }
                if (verbose_) {
                    print("(opt_type 0x");
                    print_hex2(type);
                    print(": len=");
                    print_uint(olen);
                    print(')');
                }
                break;
        }
    }
    if (verbose_) print(' ');
    return 0;
}

// hbhopt_process: "HBH " and the options; -1 after " [|hbhopt]".
int Walker::hbh(std::uint32_t at, std::uint32_t* payload_len, bool* found_jumbo) {
    if (!have(at + 1, 1)) {
        longjmp_ = true;
        trunc("hbhopt", "truncated hop-by-hop header");
        return -1;
    }
    const std::uint32_t hbhlen = (load_u8(f_, at + 1) + 1u) << 3;
    if (!have(at, hbhlen)) {
        trunc("hbhopt", "truncated hop-by-hop header");
        return -1;
    }
    print("HBH ");
    if (options(at + 2, static_cast<int>(hbhlen - 2), true, payload_len, found_jumbo) == -1) {
        trunc("hbhopt", "bad hop-by-hop option");
        return -1;
    }
    return static_cast<int>(hbhlen);
}

int Walker::dstopt(std::uint32_t at) {
    if (!have(at + 1, 1)) {
        longjmp_ = true;
        trunc("dstopt", "truncated destination options header");
        return -1;
    }
    const std::uint32_t len = (load_u8(f_, at + 1) + 1u) << 3;
    if (!have(at, len)) {
        trunc("dstopt", "truncated destination options header");
        return -1;
    }
    print("DSTOPT ");
    if (verbose_) {
        std::uint32_t unused_len = 0;
        bool unused_jumbo = false;
        if (options(at + 2, static_cast<int>(len - 2), false, &unused_len, &unused_jumbo) == -1) {
            trunc("dstopt", "bad destination option");
            return -1;
        }
    }
    return static_cast<int>(len);
}

// frag6_print: "frag (offset|length) "; -1 for a later fragment.
int Walker::frag(std::uint32_t at, std::uint32_t payload_len) {
    const std::uint32_t off_ip = p_.network_offset;
    if (!have(at, verbose_ ? 8 : 4)) {
        longjmp_ = true;
        trunc("frag6", "truncated fragment header");
        return -1;
    }
    const std::uint16_t offlg = load_be16(f_, at + 2);
    // sizeof(ip6_hdr) + plen - (bp - bp2) - sizeof(ip6_frag), in size_t as tcpdump computes it
    const std::uint64_t rest = 40ull + payload_len - (at - off_ip) - 8ull;
    print("frag (");
    if (verbose_) {
        print("0x");
        if (out_) {
            const std::uint32_t id = load_be32(f_, at + 4);
            for (int s = 24; s >= 0; s -= 8) put_hex2(*out_, static_cast<std::uint8_t>(id >> s));
        }
        print(':');
    }
    print_uint(offlg & 0xfff8);
    print('|');
    print_uint(rest);
    print(')');
    if (info_) {
        info_->is_fragment = true;
        info_->fragment_offset = offlg & 0xfff8;
        info_->more_fragments = offlg & 1;
        if (have(at + 4, 4)) info_->fragment_id = load_be32(f_, at + 4);
    }
    if (offlg & 0xfff8) {
        stop("later fragment");
        return -1;
    }
    print(' ');
    return 8;
}

// rt6_print: "RT6 (len=.., type=.., segleft=.., [i]addr) ".
int Walker::routing(std::uint32_t at) {
    auto cut = [&] {
        longjmp_ = true;
        trunc("rt6", "truncated routing header");
        return -1;
    };
    print("RT6");
    if (!have(at + 1, 1)) return cut();
    unsigned len = load_u8(f_, at + 1);
    print(" (len=");
    print_uint(len);
    if (!have(at + 2, 1)) return cut();
    const unsigned type = load_u8(f_, at + 2);
    print(", type=");
    print_uint(type);
    if (type == 0) print(" [Deprecated]");
    if (!have(at + 3, 1)) return cut();
    print(", segleft=");
    print_uint(load_u8(f_, at + 3));
    auto invalid = [&](unsigned l) {
        print(" (invalid length ");
        print_uint(l);
        print(") (invalid)");
        stop("bad routing header");
        return -1;
    };
    auto addresses = [&](unsigned n) {
        for (unsigned i = 0; i < n; ++i) {
            if (!have(at + 8 + 16 * i, 16)) return false;
            print(", [");
            print_uint(i);
            print(']');
            print_addr(at + 8 + 16 * i);
        }
        return true;
    };
    if (type == 0 || type == 2) {
        if (!have(at + 4, 4)) return cut();
        const std::uint32_t reserved = load_be32(f_, at + 4);
        if (reserved || verbose_) {
            print(", rsv=0x");
            print_hex(reserved);
        }
        if (len % 2 == 1) return invalid(len);
        if (!addresses(len / 2)) return cut();
        print(") ");
        return static_cast<int>((len + 1) << 3);
    }
    if (type == 4) {  // segment routing (RFC 8754)
        if (!have(at + 4, 1)) return cut();
        print(", last-entry=");
        print_uint(load_u8(f_, at + 4));
        if (!have(at + 5, 1)) return cut();
        const unsigned flags = load_u8(f_, at + 5);
        if (flags || verbose_) {
            print(", flags=0x");
            print_hex(flags);
        }
        if (!have(at + 6, 2)) return cut();
        print(", tag=");
        print_hex(load_be16(f_, at + 6));
        if (len % 2 == 1) return invalid(len);
        if (!addresses(len / 2)) return cut();
        print(") ");
        return static_cast<int>((len + 1) << 3);
    }
    print(" (unknown type) (invalid)");
    stop("unknown routing header type");
    return -1;
}

void Walker::run(std::uint32_t wire) {
    const std::uint32_t off = p_.network_offset;
    std::uint32_t payload_len = load_be16(f_, off + 4);
    std::uint8_t nh = load_u8(f_, off + 6);
    const std::uint8_t first_nh = nh;
    // tcpdump's len: the IPv6 length the header claims, or (payload length 0)
    // whatever is there, until a jumbo option says more.
    std::uint64_t len = payload_len ? payload_len + 40ull : wire + 40ull;
    snap_end_ = std::min<std::uint64_t>(f_.size(), off + len);
    std::uint64_t cp = off;
    std::int64_t advance = 40;
    std::uint64_t total = 0;
    bool found_ext = false, found_hbh = false, found_jumbo = false;
    int ph = 255;
    w_.upper = false;
    while (cp < snap_end_ && advance > 0) {
        if (len < static_cast<std::uint64_t>(advance)) return trunc("ip6", "extension header longer than payload");
        cp += static_cast<std::uint64_t>(advance);
        len -= static_cast<std::uint64_t>(advance);
        total += static_cast<std::uint64_t>(advance);
        if (cp == off + 40u && nh != kTcp && nh != kUdp && nh != kDccp && nh != kSctp && out_) {
            append_address(p_.src, *out_);
            put(*out_, " > ");
            append_address(p_.dst, *out_);
            put(*out_, ": ");
        }
        const auto at = static_cast<std::uint32_t>(cp);
        switch (nh) {
            case kHopOpts:
                if (found_hbh) {
                    print("[The Hop-by-Hop Options header was already found] (invalid)");
                    return stop("second hop-by-hop header");
                }
                if (ph != 255) {
                    print("[The Hop-by-Hop Options header don't follow the IPv6 header] (invalid)");
                    return stop("hop-by-hop header not first");
                }
                advance = hbh(at, &payload_len, &found_jumbo);
                if (longjmp_) return;
                if (payload_len == 0 && !found_jumbo) {
                    print("[No valid Jumbo Payload Hop-by-Hop option found] (invalid)");
                    return stop("payload length 0 without a jumbo option");
                }
                if (advance < 0) return;
                found_ext = found_hbh = true;
                record(nh, at, static_cast<std::uint32_t>(advance));
                nh = load_u8(f_, at);
                break;
            case kDstOpts:
                advance = dstopt(at);
                if (advance < 0) return;
                found_ext = true;
                record(nh, at, static_cast<std::uint32_t>(advance));
                nh = load_u8(f_, at);
                break;
            case kFragment:
                advance = frag(at, payload_len);
                if (advance < 0) {
                    if (!longjmp_) record(nh, at, 8);
                    return;
                }
                record(nh, at, 8);
                if (snap_end_ <= cp + static_cast<std::uint64_t>(advance)) return stop("fragment header ends the capture");
                found_ext = true;
                nh = load_u8(f_, at);
                w_.fragmented = true;
                break;
            case kRouting:
                if (!have(at, 1)) return trunc("ip6", "truncated routing header");
                advance = routing(at);
                if (advance < 0) return;
                found_ext = true;
                record(nh, at, static_cast<std::uint32_t>(advance));
                nh = load_u8(f_, at);
                break;
            default: {
                if (found_jumbo) {
                    len = payload_len + 40ull;
                    if (len < total) return trunc("ip6", "jumbo length shorter than the headers");
                    if (wire < len && out_) {
                        put(*out_, "truncated-ip6 - ");
                        put_uint(*out_, len - wire);
                        put(*out_, " bytes missing!");
                    }
                    snap_end_ = std::min<std::uint64_t>(f_.size(), off + len);
                    len -= total;
                    w_.jumbo = true;
                    w_.jumbo_length = payload_len;
                } else if (payload_len == 0) {
                    if (found_ext) return trunc("ip6", "payload length 0");
                    // No payload: the upper layer sees none (nd_change_snaplen).
                    snap_end_ = off + 40u;
                    len = 0;
                    w_.zero_payload = true;
                }
                (void)first_nh;
                // ip_demux_print: AH is printed and skipped, then the demux runs again.
                std::uint32_t up = at;
                while (nh == kAh) {
                    if (!have(up, 1)) return trunc("ah", "truncated AH");
                    const std::uint8_t next = load_u8(f_, up);
                    print("AH");
                    // From here ah_print's GET_ reads longjmp when cut.
                    if (!have(up + 1, 1)) return longjmp_ = true, trunc("ah", "truncated AH");
                    print('(');
                    const unsigned ah_len = load_u8(f_, up + 1);
                    const unsigned ah_hdr_len = (ah_len + 2) * 4;
                    if (verbose_) {
                        print("length=");
                        print_uint(ah_len);
                        print('(');
                        print_uint(ah_hdr_len);
                        print("-bytes),");
                    }
                    if (!have(up + 2, 2)) return longjmp_ = true, trunc("ah", "truncated AH");
                    if (const unsigned reserved = load_be16(f_, up + 2)) {
                        print("reserved=0x");
                        print_hex(reserved);
                        print("[MustBeZero],");
                    }
                    if (!have(up + 4, 4)) return longjmp_ = true, trunc("ah", "truncated AH");
                    print("spi=0x");
                    if (out_) {
                        const std::uint32_t spi = load_be32(f_, up + 4);
                        for (int sh = 24; sh >= 0; sh -= 8) put_hex2(*out_, static_cast<std::uint8_t>(spi >> sh));
                    }
                    print(',');
                    if (!have(up + 8, 4)) return longjmp_ = true, trunc("ah", "truncated AH");
                    print("seq=0x");
                    print_hex(load_be32(f_, up + 8));
                    print(",icv=0x");
                    for (std::uint32_t b = up + 12; b < up + ah_hdr_len; ++b) {
                        if (!have(b, 1)) return longjmp_ = true, trunc("ah", "truncated AH");
                        print_hex2(load_u8(f_, b));
                    }
                    print("): ");
                    record(kAh, up, ah_hdr_len);
                    up += ah_hdr_len;
                    len = static_cast<std::uint32_t>(len - ah_hdr_len);  // unsigned, as ip_demux_print
                    nh = next;
                }
                w_.upper = true;
                w_.nh = nh;
                w_.offset = up;
                w_.length = static_cast<std::uint32_t>(std::min<std::uint64_t>(len, 0xffffffffu));
                w_.snap_end = static_cast<std::uint32_t>(snap_end_);
                return;
            }
        }
        ph = nh;
    }
    stop("capture ends in the extension headers");
}

}  // namespace

void walk_ipv6(const Packet& p, std::uint32_t wire, int verbose, Buf* out, Ip6Walk& w, Ipv6Info* info) {
    w = Ip6Walk{};
    Walker walker(p, verbose, out, w, info);
    walker.run(wire);
    w.jumped = walker.jumped();
}

}  // namespace tpk::decode
