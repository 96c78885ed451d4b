// tracepacket route ADDR: the kernel's route decision for an address (what
// `ip route get` asks over RTM_GETROUTE) with the table entry that matched and
// one sentence on what it means; --table lists a routing table. Data from
// src/netlink/route.h; this file only chooses and formats.
#include <fmt/core.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands/command.h"
#include "netlink/route.h"

namespace tpk::commands {
namespace {

struct RouteOptions {
    std::string destination;
    std::string from;
    std::string iif;
    std::string oif;
    std::string mark;
    std::string table;
    bool ipv4_only = false, ipv6_only = false;
    bool json = false;
};

Result<std::uint32_t> parse_mark(const std::string& text) {
    errno = 0;
    char* end = nullptr;
    unsigned long value = std::strtoul(text.c_str(), &end, 0);  // decimal or 0x hex, like ip
    if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0 || value > 0xffffffffUL)
        return make_error("--mark '" + text + "': expected a number from 0 to 4294967295 (or 0x hex)");
    return static_cast<std::uint32_t>(value);
}

Result<netlink::RouteQuery> make_query(const RouteOptions& o) {
    netlink::RouteQuery q;
    auto destination = netlink::parse_ip_address(o.destination);
    if (!destination) return std::move(destination).take_error();
    q.destination = *destination;
    if (!o.from.empty()) {
        auto from = netlink::parse_ip_address(o.from);
        if (!from) return wrap(std::move(from).take_error(), "--from");
        if (from->family != q.destination.family)
            return make_error("--from " + o.from + " and " + o.destination +
                              " are of different families (IPv4 vs IPv6)");
        q.from = *from;
    }
    if (!o.iif.empty()) {
        if (!q.from)
            return make_error("--iif needs --from: an input route lookup is for a packet from "
                              "some source arriving on that device");
        q.input_device = o.iif;
    }
    if (!o.oif.empty()) q.output_device = o.oif;
    if (!o.mark.empty()) {
        auto mark = parse_mark(o.mark);
        if (!mark) return std::move(mark).take_error();
        q.mark = *mark;
    }
    return q;
}

std::string optional_address(const std::optional<netlink::IpAddress>& a) {
    return a ? a->to_string() : "-";
}

std::string entry_text(const netlink::RouteEntry& r) {
    std::string text = netlink::route_type_name(r.type) + " " + r.prefix_text();
    if (r.gateway) text += " via " + r.gateway->to_string();
    if (!r.device.empty()) text += " dev " + r.device;
    text += " table " + netlink::table_name(r.table);
    if (r.preferred_source) text += " src " + r.preferred_source->to_string();
    if (r.metric) text += " metric " + std::to_string(*r.metric);
    return text;
}

nlohmann::json entry_json(const netlink::RouteEntry& r) {
    nlohmann::json j = {
        {"prefix", r.prefix_text()},
        {"destination", r.destination.to_string()},
        {"prefix_length", r.prefix_length},
        {"route_type", netlink::route_type_name(r.type)},
        {"table", netlink::table_name(r.table)},
        {"table_id", r.table},
        {"device", r.device},
        {"gateway", r.gateway ? r.gateway->to_string() : ""},
        {"source", r.preferred_source ? r.preferred_source->to_string() : ""},
    };
    if (r.metric) j["metric"] = *r.metric;
    return j;
}

void print_decision(const netlink::RouteDecision& d, bool json) {
    std::string why = netlink::explain_route(d);
    if (json) {
        nlohmann::json j = {
            {"type", "route"},
            {"destination", d.query.destination.to_string()},
            {"route_type", netlink::route_type_name(d.type)},
            {"table", d.table ? netlink::table_name(d.table) : ""},
            {"table_id", d.table},
            {"device", d.device},
            {"source", d.source ? d.source->to_string() : ""},
            {"gateway", d.gateway ? d.gateway->to_string() : ""},
            {"explanation", why},
        };
        if (d.matched) j["matched"] = entry_json(*d.matched);
        if (d.refused_errno) {
            j["refused_errno"] = d.refused_errno;
            j["refused"] = std::strerror(d.refused_errno);
        }
        fmt::print("{}\n", j.dump());
        return;
    }
    fmt::print("destination  {}\n", d.query.destination.to_string());
    fmt::print("type         {}\n", netlink::route_type_name(d.type));
    fmt::print("table        {}\n", d.table ? netlink::table_name(d.table) : "-");
    fmt::print("device       {}\n", d.device.empty() ? "-" : d.device);
    fmt::print("source       {}\n", optional_address(d.source));
    fmt::print("gateway      {}\n", optional_address(d.gateway));
    if (d.matched) fmt::print("matched      {}\n", entry_text(*d.matched));
    fmt::print("why          {}\n", why);
}

Result<int> run_route_get(const RouteOptions& o) {
    auto query = make_query(o);
    if (!query) return std::move(query).take_error();
    auto decision = netlink::get_route(*query);
    if (!decision) return std::move(decision).take_error();
    print_decision(*decision, o.json);
    if (decision->refused_errno) {
        return make_error("the kernel refuses to route to " + o.destination + ": " +
                              std::strerror(decision->refused_errno) + " (route type " +
                              netlink::route_type_name(decision->type) + ")",
                          decision->refused_errno);
    }
    return 0;
}

Result<int> run_route_table(const RouteOptions& o) {
    auto table = netlink::parse_table(o.table);
    if (!table) return wrap(std::move(table).take_error(), "--table");
    int family = o.ipv4_only ? AF_INET : o.ipv6_only ? AF_INET6 : AF_UNSPEC;
    auto routes = netlink::list_routes(family, *table);
    if (!routes) return std::move(routes).take_error();
    if (routes->empty() && !o.json) fmt::print("(table {} holds no routes)\n", o.table);
    for (const auto& r : *routes) {
        if (o.json) {
            nlohmann::json j = entry_json(r);
            j["type"] = "route_entry";
            fmt::print("{}\n", j.dump());
        } else {
            fmt::print("{}\n", entry_text(r));
        }
    }
    return 0;
}

Result<int> run_route(const RouteOptions& o) {
    if (!o.table.empty() && !o.destination.empty())
        return make_error("give either an address or --table, not both");
    if (!o.table.empty()) {
        if (!o.from.empty() || !o.iif.empty() || !o.oif.empty() || !o.mark.empty())
            return make_error("--from, --iif, --oif and --mark apply to a lookup of an address, "
                              "not to --table");
        return run_route_table(o);
    }
    if (o.destination.empty())
        return make_error("which address? e.g. tracepacket route 127.0.0.1 (or --table main)");
    if (o.ipv4_only || o.ipv6_only)
        return make_error("-4/-6 apply to --table; an address already says its family");
    return run_route_get(o);
}

}  // namespace

void register_route(CLI::App& app, Runner* run) {
    auto o = std::make_shared<RouteOptions>();
    auto* cmd = app.add_subcommand(
        "route",
        "Where the kernel sends a packet for ADDR (RTM_GETROUTE, as `ip route get`): table, "
        "route type, device, source, gateway, the table entry that matched and what it means. "
        "--table lists a routing table.");
    cmd->add_option("address", o->destination, "IPv4 or IPv6 address to look up");
    cmd->add_option("--from", o->from, "Source address of the packet (RTA_SRC)");
    cmd->add_option("--iif", o->iif, "Look up as a packet arriving on this device (needs --from)");
    cmd->add_option("--oif", o->oif, "Force the output device (as SO_BINDTODEVICE does)");
    cmd->add_option("--mark", o->mark, "Firewall mark of the packet (SO_MARK), decimal or 0x hex");
    cmd->add_option("--table", o->table, "List a table instead: local, main, default, all or a number");
    cmd->add_flag("-4", o->ipv4_only, "With --table: IPv4 routes only");
    cmd->add_flag("-6", o->ipv6_only, "With --table: IPv6 routes only");
    cmd->add_flag("--json", o->json, "One JSON object per line (type: route or route_entry)");
    cmd->callback([o, run] { *run = [o] { return run_route(*o); }; });
}

}  // namespace tpk::commands
