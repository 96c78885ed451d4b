#include "netlink/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace tpk::netlink {

std::size_t IpAddress::size() const {
    if (family == AF_INET) return 4;
    if (family == AF_INET6) return 16;
    return 0;
}

bool IpAddress::is_unspecified() const {
    for (std::size_t i = 0; i < size(); ++i)
        if (bytes[i] != 0) return false;
    return true;
}

std::string IpAddress::to_string() const {
    if (family == 0) return "";
    if (family == AF_INET) {
        // By hand: glibc's inet_ntop formats IPv4 with sprintf, which was a
        // tenth of `sockets -tan`'s user time on 4000 sockets.
        char text[16];
        char* out = text;
        for (std::size_t i = 0; i < 4; ++i) {
            unsigned v = bytes[i];
            if (v >= 100) *out++ = static_cast<char>('0' + v / 100);
            if (v >= 10) *out++ = static_cast<char>('0' + v / 10 % 10);
            *out++ = static_cast<char>('0' + v % 10);
            if (i < 3) *out++ = '.';
        }
        return std::string(text, out);
    }
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, bytes.data(), text, sizeof text);
    return text;
}

IpAddress IpAddress::from_bytes(int family, const void* data) {
    IpAddress a;
    a.family = family;
    std::memcpy(a.bytes.data(), data, a.size());
    return a;
}

Result<IpAddress> parse_ip_address(std::string_view text) {
    std::string s(text);
    IpAddress a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return make_error("malformed address '" + s +
                      "': expected an IPv4 address like 127.0.0.1 or an IPv6 address like ::1");
}

bool prefix_contains(const IpAddress& prefix, int length, const IpAddress& address) {
    if (prefix.family != address.family) return false;
    int bits = length;
    for (std::size_t i = 0; i < prefix.size() && bits > 0; ++i, bits -= 8) {
        std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
        if ((prefix.bytes[i] & mask) != (address.bytes[i] & mask)) return false;
    }
    return true;
}

}  // namespace tpk::netlink
