// Two hosts on one machine for `journey --two-hosts`: two network namespaces
// of the lab's own (lab/netns.h: anonymous, held by an fd, gone with the
// process however it ends) joined by one veth pair, 198.18.0.1/24 (server)
// and 198.18.0.2/24 (client) from the range reserved for benchmarks
// (RFC 2544), inside the namespaces only. Each has its connected /24 route
// and nothing else: no default route, so nothing leaves the pair.
//
//     client ns: veth-client 198.18.0.2 ==== veth-server 198.18.0.1 :server ns
//
// Asked for (`bench --two-hosts`), each end also gets an IPv6 address from
// 2001:2::/48 (RFC 5180, the IPv6 benchmarking range): 2001:2::1/64 (server),
// 2001:2::2/64 (client). The journey does not ask: its lab stays IPv4 only.
#pragma once

#include <netinet/in.h>

#include <functional>
#include <string>

#include "lab/netns.h"
#include "util/result.h"

namespace tpk::commands {

struct TwoHosts {
    lab::NetNamespace client;
    lab::NetNamespace server;
    static constexpr const char* kClientAddress = "198.18.0.2";
    static constexpr const char* kServerAddress = "198.18.0.1";
    static constexpr const char* kClientDevice = "veth-client";
    static constexpr const char* kServerDevice = "veth-server";
    static constexpr int kPrefix = 24;
    static constexpr const char* kClientAddress6 = "2001:2::2";
    static constexpr const char* kServerAddress6 = "2001:2::1";
    static constexpr int kPrefix6 = 64;
    bool ipv6 = false;  // the IPv6 addresses were added
};

struct TwoHostsSetup {
    bool ipv6 = false;  // also the IPv6 addresses above
};

// Creates both namespaces, the veth pair (its ends up and with their
// queueing discipline attached: netlink/link_setup.h wait_link_ready), the
// addresses. Nothing is touched outside the two namespaces.
Result<TwoHosts> build_two_hosts(const TwoHostsSetup& setup = {});

// Runs fn with the calling thread inside ns, and brings it back.
Status run_inside(const lab::NetNamespace& ns, const std::function<Status()>& fn);

// The MTU of a device of the calling thread's namespace (SIOCGIFMTU).
Result<int> link_mtu(const std::string& device);

in_addr ipv4_of(const char* text);
in6_addr ipv6_of(const char* text);

}  // namespace tpk::commands
