#include "netlink/route.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
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
    return type == RTN_UNREACHABLE || type == RTN_PROHIBIT || type == RTN_BLACKHOLE;
}

// The entry of `tables` (searched in the order of the default rules: local,
// main, default) with the longest prefix containing the address. Used only
// when the kernel refused the lookup and so cannot tell us what matched; a
// custom rule set would make this a guess, which explain_route says.
std::optional<RouteEntry> longest_match(const std::vector<RouteEntry>& routes,
                                        const IpAddress& address) {
    for (std::uint32_t table : {RT_TABLE_LOCAL, RT_TABLE_MAIN, RT_TABLE_DEFAULT}) {
        const RouteEntry* best = nullptr;
        for (const auto& r : routes) {
            if (r.table != table || !prefix_contains(r.destination, r.prefix_length, address))
                continue;
            if (!best || r.prefix_length > best->prefix_length) best = &r;
        }
        if (best && best->type != RTN_THROW) return *best;
    }
    return std::nullopt;
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
    auto reply = ask_kernel(*socket, query, 0);
    if (!reply) {
        Error e = std::move(reply).take_error();
        if (e.code == 0) return e;  // ours (a bad --iif/--oif), not the kernel's
        auto entry = longest_match(tables, query.destination);
        if (entry && is_refusing_type(entry->type) && !query.input_device) {
            // IPv4 refuses the lookup itself (fib_props[type].error).
            decision.type = entry->type;
            decision.table = entry->table;
            decision.device = entry->device;
            decision.matched = entry;
            decision.refused_errno = e.code;
            return decision;
        }
        if (e.code == ENETUNREACH)
            return make_error("no route to " + target + ": " + errno_text(e.code) +
                                  " (no table entry covers it; see tracepacket route --table all)",
                              e.code);
        return make_error("the kernel refused the route lookup for " + target + ": " +
                              errno_text(e.code) +
                              (query.input_device ? " (with --iif, --from must be a unicast "
                                                    "address that may arrive on that device)"
                                                  : ""),
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
