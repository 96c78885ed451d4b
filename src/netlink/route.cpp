#include "netlink/route.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "netlink/netlink_socket.h"

namespace tpk::netlink {
namespace {

std::string device_name(std::uint32_t index) {
    char name[IF_NAMESIZE] = {};
    if (index == 0) return "";
    if (if_indextoname(index, name) == nullptr) return "if" + std::to_string(index);
    return name;
}

Result<std::uint32_t> device_index(const std::string& name) {
    unsigned index = if_nametoindex(name.c_str());
    if (index == 0)
        return make_error("no network interface named '" + name +
                          "' (the interfaces are listed in /sys/class/net)");
    return index;
}

IpAddress attr_address(const nlattr* attr, int family) {
    IpAddress a;
    a.family = family;
    std::memcpy(a.bytes.data(), mnl_attr_get_payload(attr),
                std::min<std::size_t>(mnl_attr_get_payload_len(attr), a.size()));
    return a;
}

// The fields RTM_NEWROUTE replies and dump entries share.
struct ParsedRoute {
    RouteEntry entry;
    std::uint32_t flags = 0;     // rtm_flags (RTCF_* for route get replies)
    int cache_error = 0;         // RTA_CACHEINFO rta_error (IPv6 refusals), positive errno
};

ParsedRoute parse_route_message(const nlmsghdr* message) {
    const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(message));
    ParsedRoute p;
    RouteEntry& e = p.entry;
    e.family = rtm->rtm_family;
    e.destination.family = rtm->rtm_family;
    e.prefix_length = rtm->rtm_dst_len;
    e.table = rtm->rtm_table;
    e.type = rtm->rtm_type;
    e.scope = rtm->rtm_scope;
    e.protocol = rtm->rtm_protocol;
    p.flags = rtm->rtm_flags;
    for_each_attribute(message, sizeof(rtmsg), [&](const nlattr* attr) {
        switch (mnl_attr_get_type(attr)) {
        case RTA_DST: e.destination = attr_address(attr, e.family); break;
        case RTA_TABLE: e.table = mnl_attr_get_u32(attr); break;
        case RTA_OIF: e.device = device_name(mnl_attr_get_u32(attr)); break;
        case RTA_GATEWAY: e.gateway = attr_address(attr, e.family); break;
        case RTA_VIA: {
            // struct rtvia: family, then the address (an IPv6 nexthop for an IPv4 route).
            const auto* via = static_cast<const rtvia*>(mnl_attr_get_payload(attr));
            e.gateway = IpAddress::from_bytes(via->rtvia_family, via->rtvia_addr);
            break;
        }
        case RTA_PREFSRC: e.preferred_source = attr_address(attr, e.family); break;
        case RTA_PRIORITY: e.metric = mnl_attr_get_u32(attr); break;
        case RTA_CACHEINFO: {
            rta_cacheinfo ci{};
            std::memcpy(&ci, mnl_attr_get_payload(attr),
                        std::min<std::size_t>(mnl_attr_get_payload_len(attr), sizeof ci));
            p.cache_error = -static_cast<std::int32_t>(ci.rta_error);
            break;
        }
        default: break;
        }
    });
    return p;
}

void put_address(nlmsghdr* request, int type, const IpAddress& a) {
    mnl_attr_put(request, static_cast<std::uint16_t>(type), a.size(), a.bytes.data());
}

Result<nlmsghdr*> build_get_request(NetlinkSocket& socket, std::vector<char>& buffer,
                                    const RouteQuery& q, unsigned flags) {
    nlmsghdr* request = socket.start_request(buffer, RTM_GETROUTE, NLM_F_ACK);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(rtmsg)));
    rtm->rtm_family = static_cast<unsigned char>(q.destination.family);
    rtm->rtm_dst_len = static_cast<unsigned char>(q.destination.size() * 8);
    rtm->rtm_flags = flags;
    put_address(request, RTA_DST, q.destination);
    if (q.from) {
        rtm->rtm_src_len = static_cast<unsigned char>(q.from->size() * 8);
        put_address(request, RTA_SRC, *q.from);
    }
    if (q.input_device) {
        auto index = device_index(*q.input_device);
        if (!index) return wrap(std::move(index).take_error(), "--iif");
        mnl_attr_put_u32(request, RTA_IIF, *index);
    }
    if (q.output_device) {
        auto index = device_index(*q.output_device);
        if (!index) return wrap(std::move(index).take_error(), "--oif");
        mnl_attr_put_u32(request, RTA_OIF, *index);
    }
    if (q.mark) mnl_attr_put_u32(request, RTA_MARK, *q.mark);
    return request;
}

Result<ParsedRoute> ask_kernel(NetlinkSocket& socket, const RouteQuery& q, unsigned flags) {
    std::vector<char> buffer;
    auto request = build_get_request(socket, buffer, q, flags);
    if (!request) return std::move(request).take_error();
    std::optional<ParsedRoute> reply;
    Status s = socket.exchange(*request, [&](const nlmsghdr* message) -> Status {
        if (message->nlmsg_type == RTM_NEWROUTE) reply = parse_route_message(message);
        return {};
    });
    if (!s) return std::move(s).take_error();
    if (!reply) return make_error("the kernel answered RTM_GETROUTE without a route");
    return *reply;
}

bool is_refusing_type(int type) {
    return type == RTN_UNREACHABLE || type == RTN_PROHIBIT || type == RTN_BLACKHOLE ||
           type == RTN_THROW;
}

// A policy routing rule (`ip rule`), as much of it as we can evaluate.
struct Rule {
    std::uint32_t priority = 0;
    int action = 0;               // FR_ACT_*
    std::uint32_t table = 0;
    bool invert = false;
    IpAddress source, destination;
    int source_length = 0, destination_length = 0;
    std::optional<std::uint32_t> mark, mark_mask;
    std::string input_device, output_device;
    bool has_other_selectors = false;  // uid range, ports, ip proto, l3mdev, tunnel id
};

Status dump_rules(NetlinkSocket& socket, int family, std::vector<Rule>& out) {
    std::vector<char> buffer;
    nlmsghdr* request = socket.start_request(buffer, RTM_GETRULE, NLM_F_DUMP);
    auto* hdr = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(request, sizeof(fib_rule_hdr)));
    hdr->family = static_cast<std::uint8_t>(family);
    Status s = socket.exchange(request, [&](const nlmsghdr* message) -> Status {
        if (message->nlmsg_type != RTM_NEWRULE) return {};
        const auto* h = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(message));
        Rule r;
        r.action = h->action;
        r.table = h->table;
        r.invert = h->flags & FIB_RULE_INVERT;
        r.source_length = h->src_len;
        r.destination_length = h->dst_len;
        r.source.family = r.destination.family = h->family;
        for_each_attribute(message, sizeof(fib_rule_hdr), [&](const nlattr* attr) {
            switch (mnl_attr_get_type(attr)) {
            case FRA_PRIORITY: r.priority = mnl_attr_get_u32(attr); break;
            case FRA_TABLE: r.table = mnl_attr_get_u32(attr); break;
            case FRA_SRC: r.source = attr_address(attr, h->family); break;
            case FRA_DST: r.destination = attr_address(attr, h->family); break;
            case FRA_FWMARK: r.mark = mnl_attr_get_u32(attr); break;
            case FRA_FWMASK: r.mark_mask = mnl_attr_get_u32(attr); break;
            case FRA_IIFNAME: r.input_device = mnl_attr_get_str(attr); break;
            case FRA_OIFNAME: r.output_device = mnl_attr_get_str(attr); break;
            case FRA_UID_RANGE: case FRA_IP_PROTO: case FRA_SPORT_RANGE: case FRA_DPORT_RANGE:
            case FRA_L3MDEV: case FRA_TUN_ID: r.has_other_selectors = true; break;
            default: break;
            }
        });
        out.push_back(std::move(r));
        return {};
    });
    if (!s) return s;
    std::stable_sort(out.begin(), out.end(),
                     [](const Rule& a, const Rule& b) { return a.priority < b.priority; });
    return {};
}

// fib_rule_match() for the selectors we know. A locally generated packet
// matches "iif lo" (the kernel sets flowi_iif = LOOPBACK_IFINDEX on output).
bool rule_matches(const Rule& r, const RouteQuery& q) {
    bool match = true;
    if (r.source_length > 0)
        match = match && q.from && prefix_contains(r.source, r.source_length, *q.from);
    if (r.destination_length > 0)
        match = match && prefix_contains(r.destination, r.destination_length, q.destination);
    if (r.mark) {
        std::uint32_t mask = r.mark_mask.value_or(0xffffffff);
        match = match && (q.mark.value_or(0) & mask) == *r.mark;
    }
    if (!r.input_device.empty())
        match = match && r.input_device == q.input_device.value_or("lo");
    if (!r.output_device.empty()) match = match && q.output_device == r.output_device;
    if (r.has_other_selectors) match = false;  // cannot tell: skip it
    return r.invert ? !match : match;
}

int rule_refusal_type(int action) {
    if (action == FR_ACT_UNREACHABLE) return RTN_UNREACHABLE;
    if (action == FR_ACT_PROHIBIT) return RTN_PROHIBIT;
    if (action == FR_ACT_BLACKHOLE) return RTN_BLACKHOLE;
    return 0;
}

// The longest-prefix entry of one table containing the address.
const RouteEntry* longest_match_in(const std::vector<RouteEntry>& routes, std::uint32_t table,
                                   const IpAddress& address) {
    const RouteEntry* best = nullptr;
    for (const auto& r : routes) {
        if (r.table != table || !prefix_contains(r.destination, r.prefix_length, address)) continue;
        if (!best || r.prefix_length > best->prefix_length) best = &r;
    }
    return best;
}

// What refused the lookup, found by walking the rules in priority order as
// fib_rules_lookup() does: a rule that itself refuses, or the first table
// with an entry for the address; a "throw" entry goes on to the next rule,
// and when no rule after it finds a route, that throw is what refused.
// Used only when the kernel refused and so cannot tell us what matched.
struct Refusal {
    int type = 0;
    std::optional<RouteEntry> entry;
    std::optional<std::uint32_t> rule_priority;
};

std::optional<Refusal> find_refusal(const std::vector<Rule>& rules,
                                    const std::vector<RouteEntry>& routes, const RouteQuery& q) {
    std::optional<Refusal> thrown;
    for (const auto& rule : rules) {
        if (!rule_matches(rule, q)) continue;
        if (int type = rule_refusal_type(rule.action))
            return Refusal{type, std::nullopt, rule.priority};
        if (rule.action != FR_ACT_TO_TBL) continue;
        const RouteEntry* entry = longest_match_in(routes, rule.table, q.destination);
        if (!entry) continue;
        if (entry->type == RTN_THROW) {
            thrown = Refusal{RTN_THROW, *entry, rule.priority};
            continue;
        }
        if (!is_refusing_type(entry->type)) return std::nullopt;
        return Refusal{entry->type, *entry, rule.priority};
    }
    return thrown;
}

// The table that holds the FIB_MATCH entry: with no custom rules the kernel
// merges table local into main's trie (fib_unmerge() splits them again when a
// rule is added), so the lookup says "main" for routes a dump lists in local.
std::optional<RouteEntry> find_in_tables(const std::vector<RouteEntry>& routes,
                                         const RouteEntry& match) {
    for (const auto& r : routes) {
        if (r.destination == match.destination && r.prefix_length == match.prefix_length &&
            r.type == match.type && r.device == match.device)
            return r;
    }
    return std::nullopt;
}

Status dump_routes(NetlinkSocket& socket, int family, std::vector<RouteEntry>& out) {
    std::vector<char> buffer;
    nlmsghdr* request = socket.start_request(buffer, RTM_GETROUTE, NLM_F_DUMP);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(rtmsg)));
    rtm->rtm_family = static_cast<unsigned char>(family);
    return socket.exchange(request, [&](const nlmsghdr* message) -> Status {
        if (message->nlmsg_type != RTM_NEWROUTE) return {};
        ParsedRoute p = parse_route_message(message);
        if (p.flags & RTM_F_CLONED) return {};  // route cache entries, not table entries
        out.push_back(std::move(p.entry));
        return {};
    });
}

std::string errno_text(int code) { return std::strerror(code); }

// Why an input-route lookup (--iif) fails, from ip_route_input_slow():
// EHOSTUNREACH when the packet is for another host and the device does not
// forward, EINVAL for a martian source (loopback, multicast, or one the
// reverse-path filter refuses).
std::string input_route_hint(const RouteQuery& q, int code) {
    if (!q.input_device) return "";
    std::string dev = *q.input_device;
    std::string family = q.destination.family == AF_INET6 ? "ipv6" : "ipv4";
    if (code == EHOSTUNREACH)
        return " (forwarding is off on " + dev + ", so a packet arriving there for another host "
               "is not routed; see /proc/sys/net/" + family + "/conf/" + dev + "/forwarding)";
    if (code == EINVAL)
        return " (the kernel treats " + q.from->to_string() + " arriving on " + dev +
               " as a martian source: loopback, multicast, or refused by rp_filter)";
    return "";
}

}  // namespace

std::string table_name(std::uint32_t table) {
    switch (table) {
    case RT_TABLE_LOCAL: return "local";
    case RT_TABLE_MAIN: return "main";
    case RT_TABLE_DEFAULT: return "default";
    case RT_TABLE_UNSPEC: return "unspec";
    default: return std::to_string(table);
    }
}

Result<std::uint32_t> parse_table(std::string_view name) {
    if (name == "local") return static_cast<std::uint32_t>(RT_TABLE_LOCAL);
    if (name == "main") return static_cast<std::uint32_t>(RT_TABLE_MAIN);
    if (name == "default") return static_cast<std::uint32_t>(RT_TABLE_DEFAULT);
    if (name == "all") return 0u;
    std::uint32_t id = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (name.empty() || ec != std::errc{} || end != name.data() + name.size() || id == 0)
        return make_error("unknown routing table '" + std::string(name) +
                          "' (valid: local, main, default, all, or a table number)");
    return id;
}

std::string route_type_name(int type) {
    switch (type) {
    case RTN_UNSPEC: return "none";
    case RTN_UNICAST: return "unicast";
    case RTN_LOCAL: return "local";
    case RTN_BROADCAST: return "broadcast";
    case RTN_ANYCAST: return "anycast";
    case RTN_MULTICAST: return "multicast";
    case RTN_BLACKHOLE: return "blackhole";
    case RTN_UNREACHABLE: return "unreachable";
    case RTN_PROHIBIT: return "prohibit";
    case RTN_THROW: return "throw";
    case RTN_NAT: return "nat";
    case RTN_XRESOLVE: return "xresolve";
    default: return "type" + std::to_string(type);
    }
}

int refusal_errno(int type, bool by_rule) {
    switch (type) {
    case RTN_UNREACHABLE: return by_rule ? ENETUNREACH : EHOSTUNREACH;
    case RTN_PROHIBIT: return EACCES;
    case RTN_BLACKHOLE: return EINVAL;
    case RTN_THROW: return by_rule ? 0 : ENETUNREACH;
    default: return 0;
    }
}

std::string RouteEntry::prefix_text() const {
    if (prefix_length == 0 && destination.is_unspecified()) return "default";
    std::string text = destination.to_string();
    if (static_cast<std::size_t>(prefix_length) != destination.size() * 8)
        text.append("/").append(std::to_string(prefix_length));
    return text;
}

Result<RouteDecision> get_route(const RouteQuery& query) {
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    if (!socket) return wrap(std::move(socket).take_error(), "rtnetlink");
    std::vector<RouteEntry> tables;
    Status dumped = dump_routes(*socket, query.destination.family, tables);
    if (!dumped) return wrap(std::move(dumped).take_error(), "dump routing tables");

    RouteDecision decision;
    decision.query = query;
    std::string target = query.destination.to_string();
    // RTM_F_LOOKUP_TABLE: report the table the lookup found the route in, as
    // `ip route get` asks (IPv6 ignores the flag and always does).
    auto reply = ask_kernel(*socket, query, RTM_F_LOOKUP_TABLE);
    if (!reply) {
        Error e = std::move(reply).take_error();
        if (e.code == 0) return e;  // ours (a bad --iif/--oif), not the kernel's
        std::vector<Rule> rules;
        Status got_rules = dump_rules(*socket, query.destination.family, rules);
        if (!got_rules) return wrap(std::move(got_rules).take_error(), "dump ip rules");
        auto refusal = find_refusal(rules, tables, query);
        // Named only when it explains the kernel's errno: a rule with a
        // selector we cannot evaluate may have decided instead.
        if (refusal && !query.input_device &&
            refusal_errno(refusal->type, !refusal->entry) == e.code) {
            // The kernel fails the lookup itself (fib_props[type].error).
            decision.type = refusal->type;
            decision.matched = refusal->entry;
            decision.refused_by_rule = refusal->rule_priority;
            if (refusal->entry) {
                decision.table = refusal->entry->table;
                decision.device = refusal->entry->device;
            }
            decision.refused_errno = e.code;
            return decision;
        }
        if (e.code == ENETUNREACH)
            return make_error("no route to " + target + ": " + errno_text(e.code) +
                                  " (no table entry covers it; see tracepacket route --table all)",
                              e.code);
        return make_error("the kernel refused the route lookup for " + target + ": " +
                              errno_text(e.code) + input_route_hint(query, e.code),
                          e.code);
    }
    decision.type = reply->entry.type;
    decision.table = reply->entry.table;
    decision.device = reply->entry.device;
    decision.source = reply->entry.preferred_source;
    decision.gateway = reply->entry.gateway;
    decision.cache_flags = reply->flags;
    // IPv6 answers refusals with a route whose cacheinfo carries the error
    // (ip6_route_get reports rt6_info's dst.error instead of failing).
    if (is_refusing_type(decision.type)) decision.refused_errno = reply->cache_error;

    auto match = ask_kernel(*socket, query, RTM_F_FIB_MATCH);
    if (match) {
        auto home = find_in_tables(tables, match->entry);
        decision.matched = home ? *home : match->entry;
    }
    if (decision.type == RTN_UNREACHABLE && decision.refused_errno == ENETUNREACH &&
        (!decision.matched || decision.matched->type != RTN_UNREACHABLE))
        return make_error("no route to " + target + ": " + errno_text(ENETUNREACH) +
                              " (no table entry covers it; see tracepacket route --table all)",
                          ENETUNREACH);
    return decision;
}

Result<std::vector<RouteEntry>> list_routes(int family, std::uint32_t table) {
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    if (!socket) return wrap(std::move(socket).take_error(), "rtnetlink");
    std::vector<RouteEntry> routes;
    for (int f : {AF_INET, AF_INET6}) {
        if (family != AF_UNSPEC && family != f) continue;
        Status s = dump_routes(*socket, f, routes);
        if (!s) return wrap(std::move(s).take_error(), "dump routing tables");
    }
    if (table != 0)
        std::erase_if(routes, [&](const RouteEntry& r) { return r.table != table; });
    return routes;
}

}  // namespace tpk::netlink
