// The kernel's route decision over NETLINK_ROUTE, as `ip route get` asks for
// it (RTM_GETROUTE), and the routing tables (RTM_GETROUTE dump). Plain
// structs; the command formats them, the journey attaches them to a flow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netlink/ip_address.h"
#include "util/result.h"

namespace tpk::netlink {

// Kernel table ids (RT_TABLE_*): names for 253/254/255, else the number.
std::string table_name(std::uint32_t table);
// "local", "main", "default", "all" or a number 1..2^32-1; "all" -> 0.
Result<std::uint32_t> parse_table(std::string_view name);
// RTN_* -> "unicast", "local", "broadcast", "unreachable", "prohibit", ...
std::string route_type_name(int type);

// One entry of a routing table.
struct RouteEntry {
    int family = 0;
    IpAddress destination;          // family set, all zero for default
    int prefix_length = 0;
    std::uint32_t table = 0;
    int type = 0;                   // RTN_*
    int scope = 0;                  // RT_SCOPE_*
    int protocol = 0;               // RTPROT_*
    std::string device;             // "" when the route has none
    std::optional<IpAddress> gateway;
    std::optional<IpAddress> preferred_source;
    std::optional<std::uint32_t> metric;

    // "127.0.0.0/8", "default", "::1/128"
    std::string prefix_text() const;
};

struct RouteQuery {
    IpAddress destination;
    std::optional<IpAddress> from;         // RTA_SRC
    std::optional<std::string> input_device;   // RTA_IIF: a packet arriving there
    std::optional<std::string> output_device;  // RTA_OIF
    std::optional<std::uint32_t> mark;     // RTA_MARK (SO_MARK / fwmark)
};

struct RouteDecision {
    RouteQuery query;
    // From the kernel's answer (what `ip -d route get` prints).
    int type = 0;
    std::uint32_t table = 0;        // table the lookup found it in (RTA_TABLE)
    std::string device;             // output device (RTA_OIF)
    std::optional<IpAddress> source;   // RTA_PREFSRC: the source a socket would use
    std::optional<IpAddress> gateway;  // RTA_GATEWAY (or RTA_VIA)
    std::uint32_t cache_flags = 0;  // rtm_flags: RTCF_LOCAL, RTCF_BROADCAST, ...
    // The table entry that matched (RTM_F_FIB_MATCH), with the table that
    // holds it in a dump; absent when the kernel could not say.
    std::optional<RouteEntry> matched;
    // Non-zero when the kernel refused to route (refusal_errno() below): the
    // decision is still shown. type is then unreachable, prohibit, blackhole
    // or throw (a throw entry passed the lookup on and nothing after it matched).
    int refused_errno = 0;
    // The priority of the ip rule that led to the refusal: the rule itself
    // refuses when `matched` is empty, else it sent the lookup to that table.
    std::optional<std::uint32_t> refused_by_rule;
};

// The errno a lookup that ends in a route (or rule) of this type returns to
// senders, as measured in tests/runtime/netlink/route_netns_test.cpp:
// routes from fib_props[] (net/ipv4/fib_semantics.c) and fib6_prop[]
// (net/ipv6/route.c): unreachable EHOSTUNREACH, prohibit EACCES, blackhole
// EINVAL, throw ENETUNREACH (its -EAGAIN moves on to the next rule; when none
// is left, __fib_lookup() and the IPv6 null entry say ENETUNREACH). Rules
// (fib4_rule_action(), fib6_rule_action()): unreachable ENETUNREACH, prohibit
// EACCES, blackhole EINVAL. 0 for a type that does not refuse.
int refusal_errno(int type, bool by_rule);

// Asks the kernel. "No route at all" (ENETUNREACH and no table entry covers
// the address) is an Error; a route of a refusing type is a RouteDecision
// with refused_errno set.
Result<RouteDecision> get_route(const RouteQuery& query);

// Entries of one table (0 = every table) for family AF_INET, AF_INET6 or
// AF_UNSPEC (both). The kernel returns cached routes only when asked; not here.
Result<std::vector<RouteEntry>> list_routes(int family, std::uint32_t table);

// One line saying what the decision means for a packet (pure function).
std::string explain_route(const RouteDecision& decision);

}  // namespace tpk::netlink
