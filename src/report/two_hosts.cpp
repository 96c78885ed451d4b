#include "report/two_hosts.h"

#include <netinet/in.h>

#include <algorithm>
#include <ostream>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/paint.h"

namespace tpk::report {
namespace {

// An explanation under a line: indented, wrapped at 100 columns (as the
// journey's text wraps its own).
std::string wrapped(const std::string& indent, const std::string& text) {
    std::string out, line = indent;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t space = std::min(text.find(' ', pos), text.size());
        std::string word = text.substr(pos, space - pos);
        pos = space + 1;
        if (word.empty()) continue;
        if (line.size() > indent.size() && line.size() + 1 + word.size() > 100) {
            out += line + "\n";
            line = indent;
        }
        if (line.size() > indent.size()) line += ' ';
        line += word;
    }
    return out + line + "\n";
}

std::string us(std::int64_t ns) { return fmt::format("{:.1f} µs", static_cast<double>(ns) / 1000.0); }

}  // namespace

TwoHostsNotes two_hosts_notes(const TwoHostsView& v) {
    const auto& f = v.facts;
    TwoHostsNotes n;
    n.hosts = "two network namespaces joined by a veth pair, no route out of them; gone when this command ends";
    n.neighbour = "lo needs no neighbour (its frames carry zero MACs and come straight back). On "
                  "veth the route says where, not to whom: " + v.first_packet + " waits in the new neighbour "
                  "entry's queue (INCOMPLETE) while ARP asks who has " + f.server_address +
                  ", and leaves when the reply gives the MAC; later packets find it REACHABLE. "
                  "(The capture's stamps are good to a few µs against the hops')";
    n.route = f.server_address + " is another host's address: the connected route of its /24 "
              "(main table, unicast, out " + f.client_device + "); 127.0.0.1 is this host's own "
              "(a route of type local, from the local table, out lo). Without policy rules the "
              "kernel merges the local table into main's trie, so rtnetlink and the lookups "
              "traced may name table main (254) for both: the type is what differs";
    n.devices = "a packet's send hops fire on the sender's end, in its namespace; veth_xmit() "
                "hands the skb to the peer end, whose netif_rx and netif_receive_skb fire in the "
                "receiver's namespace, usually still on the sending task and CPU (the softirq runs when "
                "the transmit re-enables bottom halves, unless ksoftirqd took it: each hop shows its "
                "task), as on lo";
    if (v.syn_mss)
        n.size = v.frames_over_mtu
                     ? "MSS 1460 = MTU 1500 - 40 B of IP and TCP headers (lo's 65495 is the most an "
                       "IPv4 packet can carry: 65535 - 40). "
                       "Frames above the MTU are GSO skbs: veth offers TSO, so TCP hands it one skb "
                       "of several MSS-sized segments and nothing splits it on the way: the capture "
                       "and tcpdump see it whole, as the peer's stack receives it"
                     : "MSS 1460 = MTU 1500 - 40 B of IP and TCP headers (lo's 65495 is the most "
                       "an IPv4 packet can carry: 65535 - 40); no frame above the MTU "
                       "was captured in this run (larger messages: --size; veth offers TSO, so "
                       "TCP may hand it skbs of several segments that the capture sees whole)";
    return n;
}

std::string render_two_hosts_text(const TwoHostsView& v, const TextStyle& style) {
    Paint paint{style.color};
    const auto& f = v.facts;
    const TwoHostsNotes notes = two_hosts_notes(v);
    auto note = [&](const std::string& text) {
        return style.explain ? paint.dim(wrapped("             ", text)) : std::string();
    };
    std::string out = paint.head("OFF LOOPBACK: WHAT CHANGED") + "\n";
    out += fmt::format("  hosts      client {} on {} (net:[{}], pid {})\n"
                       "             server {} on {} (net:[{}], pid {})\n",
                       f.client_address, f.client_device, f.client_netns, f.client_pid,
                       f.server_address, f.server_device, f.server_netns, f.server_pid);
    out += note(notes.hosts);
    // Neighbours.
    int requests = 0, replies = 0;
    for (const auto& a : v.arp) (a.request ? requests : replies)++;
    out += fmt::format("  neighbour  ARP on {}: {} request(s), {} reply(ies)  (µs since {}'s cause)\n",
                       f.client_device, requests, replies, v.first_packet);
    for (const auto& a : v.arp)
        out += fmt::format("             {:>9.1f}  {}\n", static_cast<double>(a.since_syn_ns) / 1000.0, a.text);
    if (v.syn_neighbour_wait_ns >= 0)
        out += fmt::format("             {:>9.1f}  {} reaches {} ({}), {} after its {}\n",
                           static_cast<double>(v.syn_device_since_syn_ns) / 1000.0, v.first_packet,
                           f.client_device,
                           v.syn_wait_to, us(v.syn_neighbour_wait_ns), v.syn_wait_from);
    out += note(notes.neighbour);
    // Route.
    out += fmt::format("  route      type {}, table {}, dev {}", v.route_type.empty() ? "?" : v.route_type,
                       v.route_table.empty() ? "?" : v.route_table, v.route_dev.empty() ? "?" : v.route_dev);
    if (v.compared)
        out += fmt::format("   (loopback: type {}, table {}, dev {})", v.lo_route_type,
                           v.lo_route_table, v.lo_route_dev);
    out += "\n";
    out += note(notes.route);
    // Devices.
    for (const auto& d : v.devices) {
        auto list = [](const std::vector<std::string>& names) {
            std::string s;
            for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
            return s.empty() ? std::string("none seen") : s;
        };
        out += fmt::format("  {:<10} (net:[{}]) sends: {}; receives: {}\n", d.dev, d.netns, list(d.sent),
                           list(d.received));
    }
    out += note(notes.devices);
    // Sizes.
    out += fmt::format("  size       MTU {} (lo {})", f.client_mtu, v.lo_mtu);
    if (v.syn_mss) out += fmt::format("; the SYN's MSS {}", v.syn_mss);
    if (v.syn_mss && v.compared) out += fmt::format(" (lo {})", v.lo_syn_mss);
    out += fmt::format("; largest frame captured {} B ({} over MTU + 14), largest skb on veth {} B",
                       v.largest_frame, v.frames_over_mtu, v.largest_skb);
    if (v.compared) out += fmt::format(" (lo {} B)", v.lo_largest_skb);
    out += "\n";
    if (v.syn_mss) out += note(notes.size);
    return out;
}

void write_two_hosts_json(const TwoHostsView& v, std::ostream& out) {
    const auto& f = v.facts;
    nlohmann::json arp = nlohmann::json::array();
    for (const auto& a : v.arp)
        arp.push_back({{"t_ns", a.t_ns}, {"since_syn_ns", a.since_syn_ns}, {"request", a.request},
                       {"text", a.text}});
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& d : v.devices)
        devices.push_back({{"dev", d.dev}, {"netns", d.netns}, {"sent", d.sent}, {"received", d.received}});
    nlohmann::json j = {
        {"type", "two_hosts"},
        {"client", {{"address", f.client_address}, {"dev", f.client_device}, {"mtu", f.client_mtu},
                    {"netns", f.client_netns}, {"pid", f.client_pid}}},
        {"server", {{"address", f.server_address}, {"dev", f.server_device}, {"mtu", f.server_mtu},
                    {"netns", f.server_netns}, {"pid", f.server_pid}}},
        {"arp", arp},
        {"syn_neighbour_wait_ns", v.syn_neighbour_wait_ns},
        {"syn_device_since_syn_ns", v.syn_device_since_syn_ns},
        {"route", {{"type", v.route_type}, {"table", v.route_table}, {"dev", v.route_dev}}},
        {"devices", devices},
        {"syn_mss", v.syn_mss},
        {"largest_frame", v.largest_frame},
        {"frames_over_mtu", v.frames_over_mtu},
        {"largest_skb", v.largest_skb},
    };
    if (v.compared)
        j["loopback"] = {{"route", {{"type", v.lo_route_type}, {"table", v.lo_route_table}, {"dev", v.lo_route_dev}}},
                         {"syn_mss", v.lo_syn_mss}, {"mtu", v.lo_mtu}, {"largest_skb", v.lo_largest_skb}};
    out << j.dump() << '\n';
}

}  // namespace tpk::report
