// An IPv4 or IPv6 address as the kernel hands it over netlink (network byte
// order), parsed strictly: "1.2.3" is malformed here even though inet_aton
// (and so `ip route get`) would read it as 1.2.0.3.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tpk::netlink {

struct IpAddress {
    int family = 0;                      // AF_INET or AF_INET6; 0 = none
    std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

    std::size_t size() const;            // 4, 16, or 0
    bool is_unspecified() const;         // 0.0.0.0 or ::
    std::string to_string() const;       // "127.0.0.1", "::1"; "" when family is 0
    bool operator==(const IpAddress&) const = default;

    static IpAddress from_bytes(int family, const void* data);
};

// "127.0.0.1" or "::1" (an IPv6 scope "%eth0" is refused: say which device
// with --oif instead). The error names the text and what is expected.
Result<IpAddress> parse_ip_address(std::string_view text);

// True when `address` lies in prefix/length (same family).
bool prefix_contains(const IpAddress& prefix, int length, const IpAddress& address);

}  // namespace tpk::netlink
