// explain_route: one sentence per route type, citing the table entry that
// matched. Kept beside route.cpp (not in the command) so the journey can put
// the same sentence on its route hop.
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>

#include "netlink/route.h"

namespace tpk::netlink {
namespace {

std::string matched_text(const RouteDecision& d) {
    if (!d.matched && d.refused_by_rule)
        return " (ip rule " + std::to_string(*d.refused_by_rule) + " itself)";
    if (!d.matched) return "";
    const RouteEntry& m = *d.matched;
    std::string text = " (route " + route_type_name(m.type) + " " + m.prefix_text() +
                       " in table " + table_name(m.table) + ")";
    return text;
}

// The kernel keeps table local inside main's trie until the first custom
// `ip rule` (fib_unmerge, net/ipv4/fib_trie.c), so an IPv4 lookup reports
// table main for entries a dump lists in table local.
std::string merged_tables_note(const RouteDecision& d) {
    if (!d.matched || d.matched->table == d.table) return "";
    return "; the lookup reports table " + table_name(d.table) + " because the table holding "
           "the entry (" + table_name(d.matched->table) + ") is merged into it while no custom "
           "ip rules exist";
}

std::string source_text(const RouteDecision& d) {
    return d.source ? ", source " + d.source->to_string() : "";
}

// "EHOSTUNREACH (No route to host)": the errno the kernel returned, so the
// sentence always agrees with the error line beside it.
std::string errno_text(int code) {
    const char* name = strerrorname_np(code);
    return std::string(name ? name : "errno " + std::to_string(code)) + " (" + std::strerror(code) + ")";
}

std::string refusal_text(const RouteDecision& d, const std::string& dst, const std::string& where) {
    bool by_rule = !d.matched && d.refused_by_rule;
    int code = d.refused_errno ? d.refused_errno : refusal_errno(d.type, by_rule);
    std::string gets = errno_text(code);
    switch (d.type) {
    case RTN_THROW:
        return "the lookup for " + dst + " met a throw entry" + where +
               ", which sends it on to the next ip rule, and no later rule found a route: "
               "senders get " + gets + ", nothing leaves";
    case RTN_BLACKHOLE:
        // ip_error() sends no ICMP error for EINVAL: forwarded packets vanish.
        return "the kernel refuses to send to " + dst + where + ": senders on this host get " +
               gets + ", nothing leaves; a forwarded packet is dropped without an ICMP error";
    case RTN_UNREACHABLE:
        if (by_rule)
            return "the kernel refuses to send to " + dst + where + ": senders get " + gets +
                   ", nothing leaves; an unreachable rule answers ENETUNREACH where an "
                   "unreachable route answers EHOSTUNREACH";
        [[fallthrough]];
    default:
        return "the kernel refuses to send to " + dst + where + ": senders get " + gets +
               ", nothing leaves";
    }
}

}  // namespace

std::string explain_route(const RouteDecision& d) {
    std::string dst = d.query.destination.to_string();
    std::string where = matched_text(d);
    std::string arriving =
        d.query.input_device ? "a packet arriving on " + *d.query.input_device + " for " : "";
    std::string text;
    switch (d.type) {
    case RTN_LOCAL:
        text = arriving + dst + " is an address of this host" + where +
               ": delivered to this host through " + (d.device.empty() ? "lo" : d.device) +
               ", never leaves the machine";
        break;
    case RTN_BROADCAST:
        text = arriving + dst + " is a broadcast address" + where + ": sent on " + d.device +
               " to every host of that network and looped back to this host";
        break;
    case RTN_MULTICAST:
        text = arriving + dst + " is a multicast group" + where + ": sent on " + d.device +
               " to its members (and looped back if this host joined)";
        break;
    case RTN_UNICAST:
        if (d.query.input_device) {
            text = arriving + dst + " would be forwarded" + where + " out " + d.device +
                   (d.gateway ? " to gateway " + d.gateway->to_string() : "") +
                   " (only if forwarding is enabled on " + *d.query.input_device + ")";
        } else if (d.gateway) {
            text = dst + " is not on a directly connected network" + where + ": sent out " +
                   d.device + " to gateway " + d.gateway->to_string() + source_text(d);
        } else {
            text = dst + " is on the network directly connected to " + d.device + where +
                   ": sent straight to it on " + d.device + source_text(d);
        }
        break;
    case RTN_UNREACHABLE:
    case RTN_PROHIBIT:
    case RTN_BLACKHOLE:
    case RTN_THROW:
        text = refusal_text(d, dst, where);
        break;
    default:
        text = dst + " has a route of type " + route_type_name(d.type) + where;
        break;
    }
    return text + merged_tables_note(d);
}

}  // namespace tpk::netlink
